// Flat config: typescript-eslint's recommended rules over all TypeScript sources, plus the import rules that
// keep the layout honest (test/import-rules.test.ts proves each one fires).
import js from '@eslint/js';
import simpleImportSort from 'eslint-plugin-simple-import-sort';
import tseslint from 'typescript-eslint';

/** Imports no file of this project may use: another package's internals change without notice. */
const PACKAGE_INTERNALS = {
  regex: '^(aws-cdk-lib|cdk-nag|constructs|@aws-cdk/[^/]+)/lib/',
  message: 'Import the package\'s public entry points, not its lib/ internals.',
};

/**
 * Pseudo parameters that differ between the stacks of one app. CloudFormation resolves each template on its own,
 * so a string built from the unscoped token means another stack's id or name wherever it lands; the scoped
 * Stack.of(this).stackId / stackName become cross-stack references instead (docs/deploy-rehearsal.md).
 */
const UNSCOPED_STACK_PSEUDO = ['STACK_ID', 'STACK_NAME', 'NOTIFICATION_ARNS'].map((property) => ({
  object: 'Aws', property,
  message: 'Unscoped: CloudFormation resolves it in whichever template the value lands in. Use Stack.of(this).stackId / stackName.',
}));

export default tseslint.config(
  { ignores: ['node_modules/**', 'cdk.out/**', '.venv/**', '.local/**', 'coverage/**', '**/*.js', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { 'simple-import-sort': simpleImportSort },
    rules: {
      // Habits (issue 21): imports in one order, lines at most 140 characters. Prettier (.prettierrc.json) wraps code;
      // what it cannot wrap (a long string, template or URL) is exempt rather than split mid-sentence.
      'simple-import-sort/imports': 'error',
      'simple-import-sort/exports': 'error',
      'max-len': ['error', { code: 140, ignoreUrls: true, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'off',
      'no-restricted-imports': ['error', { patterns: [PACKAGE_INTERNALS] }],
      'no-restricted-properties': ['error', ...UNSCOPED_STACK_PSEUDO],
    },
  },
  {
    // Constructs are the reusable layer: they take their settings as props and never read the app's config.
    files: ['constructs/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          PACKAGE_INTERNALS,
          { regex: '^(\\.\\./)+(lib|bin|local|test|scripts|bench)(/|$)', message: 'constructs/ must not import the app (lib/, bin/) or tools (local/, test/, scripts/, bench/).' },
        ],
      }],
    },
  },
  {
    // Code that runs inside a Lambda: bundled by esbuild, so it may use only Node.js, its npm clients and
    // its own runtime/ folder; never the CDK (which would end up in the bundle) nor the construct beside it.
    files: ['constructs/**/runtime/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { regex: '^(aws-cdk-lib|constructs|cdk-nag|@aws-cdk/)', message: 'runtime/ code runs inside a Lambda: no CDK imports.' },
          // The one exception: the image's shared data tables (training-image/*.json, e.g. request-limits.json),
          // which the Lambda and the model server must read alike.
          {
            regex: '^\\.\\./(?!(\\.\\./)*training-image/[a-z-]+\\.json$)',
            message: 'runtime/ code may import only from its own runtime/ folder (and training-image/*.json data tables).',
          },
        ],
      }],
    },
  },
);
