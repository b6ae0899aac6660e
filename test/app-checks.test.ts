import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { buildTestPlatform, nagFindings, stacksOf } from './support/platform';

const ROOT = path.join(__dirname, '..');
const CFN_LINT = path.join(ROOT, '.venv', 'bin', 'cfn-lint');

describe('the whole app', () => {
  test('has no unacknowledged cdk-nag AwsSolutions finding', () => {
    const { app } = buildTestPlatform();
    expect(nagFindings(app)).toEqual([]);
  });

  test('cdk-nag does catch a finding (the check is live)', () => {
    const { app, platform } = buildTestPlatform();
    // A bucket without TLS enforcement or logging must be reported.
    new s3.Bucket(platform.data, 'CanaryBucket');
    expect(nagFindings(app).some((f) => f.startsWith('AwsSolutions-S10 at'))).toBe(true);
  });

  test('synthesizes environment-agnostic stacks with no credentials, and pins account and region when configured', () => {
    const agnostic = buildTestPlatform();
    for (const stack of stacksOf(agnostic.platform)) {
      expect(stack.environment).toBe('aws://unknown-account/unknown-region');
    }
    const pinned = buildTestPlatform({ account: '123456789012', region: 'eu-west-1' });
    for (const stack of stacksOf(pinned.platform)) {
      expect(stack.environment).toBe('aws://123456789012/eu-west-1');
    }
  });

  test('cfn-lint reports no error and no warning on any synthesized template', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-lint-'));
    try {
      const { app } = buildTestPlatform({}, outdir);
      app.synth();
      const templates = fs.readdirSync(outdir).filter((f) => f.endsWith('.template.json')).map((f) => path.join(outdir, f));
      expect(templates.length).toBeGreaterThan(0);
      let output = '';
      try {
        output = execFileSync(CFN_LINT, ['--format', 'parseable', '--', ...templates], { encoding: 'utf8' });
      } catch (e) {
        output = (e as { stdout?: string }).stdout ?? String(e);
      }
      expect(output.trim()).toBe('');
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });
});
