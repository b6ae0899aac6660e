import * as s3 from 'aws-cdk-lib/aws-s3';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { buildTestPlatform, nagFindings, stacksOf } from './support/platform';

const ROOT = path.join(__dirname, '..');
const CFN_LINT = path.join(ROOT, '.venv', 'bin', 'cfn-lint');
/** The project's cfn-lint settings (which warnings are off, and why). */
const CFN_LINT_CONFIG = path.join(ROOT, '.cfnlintrc');

describe('the whole app', () => {
  // Built once: the tests below only read it.
  const agnostic = buildTestPlatform();

  test('has no unacknowledged cdk-nag AwsSolutions finding', () => {
    expect(nagFindings(agnostic.app)).toEqual([]);
  });

  test('cdk-nag does catch a finding (the check is live)', () => {
    const { app, platform } = buildTestPlatform();
    // A bucket without TLS enforcement or logging must be reported.
    new s3.Bucket(platform.data, 'CanaryBucket');
    expect(nagFindings(app).some((f) => f.startsWith('AwsSolutions-S10 at'))).toBe(true);
  });

  test('synthesizes environment-agnostic stacks with no credentials, and pins account and region when configured', () => {
    for (const stack of stacksOf(agnostic.platform)) {
      expect(stack.environment).toBe('aws://unknown-account/unknown-region');
    }
    const pinned = buildTestPlatform({ account: '123456789012', region: 'eu-west-1' });
    for (const stack of stacksOf(pinned.platform)) {
      expect(stack.environment).toBe('aws://123456789012/eu-west-1');
    }
  });

  test('cfn-lint reports no error and no warning on any template `cdk synth` writes', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-lint-'));
    try {
      // Exactly what `cdk synth` does: every Lambda bundled, aws-cdk-lib's template validation on.
      const { app } = buildTestPlatform({ [cxapi.BUNDLING_STACKS]: ['**'] }, outdir, true);
      app.synth();
      const templates = fs
        .readdirSync(outdir)
        .filter((f) => f.endsWith('.template.json'))
        .map((f) => path.join(outdir, f));
      expect(templates.length).toBeGreaterThan(0);
      let output = '';
      try {
        output = execFileSync(CFN_LINT, ['--config-file', CFN_LINT_CONFIG, '--format', 'parseable', '--', ...templates], {
          encoding: 'utf8',
        });
      } catch (e) {
        output = (e as { stdout?: string }).stdout ?? String(e);
      }
      expect(output.trim()).toBe('');
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });
});
