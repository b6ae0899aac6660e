/** Jest runs TypeScript through ts-jest; type checking is `tsc --noEmit`'s job, so ts-jest only transpiles. */
const os = require('os');

module.exports = {
  // Test files spend much of their time waiting on child processes (cfn-lint, Python model servers, moto),
  // so two workers pay off even on two cores; jest's default (cores - 1) would run one at a time there.
  maxWorkers: Math.max(2, os.availableParallelism() - 1),
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { isolatedModules: true, diagnostics: false }],
  },
  setupFilesAfterEnv: ['aws-cdk-lib/testhelpers/jest-autoclean'],
  testTimeout: 120000,
};
