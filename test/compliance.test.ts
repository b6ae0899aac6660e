/**
 * The whole app under cdk-nag's four packs (as bin/app.ts registers them) and checkov: no unacknowledged
 * finding, no failed check, every skip explained; and each check still catches a violation planted in the app.
 */
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as cxapi from 'aws-cdk-lib/cx-api';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { NAG_PACKS } from '../lib/nag-packs';
import { packFindings, runCheckov, templatesIn } from './support/compliance';
import { buildTestPlatform, EVERY_OPTION, SynthesizedPlatform } from './support/platform';

const PACKS = NAG_PACKS().map((p) => p.readPackName);
// Templates only: Lambda bundling adds nothing these checks read.
const NO_BUNDLING = { [cxapi.BUNDLING_STACKS]: [] };

function synthesized(
  plant?: (built: SynthesizedPlatform) => void,
  overrides: Record<string, unknown> = {},
): { built: SynthesizedPlatform; outdir: string } {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-compliance-'));
  const built = buildTestPlatform({ ...NO_BUNDLING, ...overrides }, outdir);
  plant?.(built);
  built.app.synth();
  return { built, outdir };
}

describe('the whole app under cdk-nag and checkov', () => {
  let clean: { built: SynthesizedPlatform; outdir: string };
  let planted: { built: SynthesizedPlatform; outdir: string };
  let options: { built: SynthesizedPlatform; outdir: string };
  beforeAll(() => {
    clean = synthesized();
    options = synthesized(undefined, EVERY_OPTION);
    planted = synthesized(({ platform }) => {
      // A bucket without TLS enforcement, logging or replication, and a function without DLQ, VPC, tracing or
      // reserved concurrency: every pack and checkov has a rule against one of them.
      new s3.Bucket(platform.data, 'CanaryBucket');
      new lambda.Function(platform.serving, 'CanaryFunction', {
        runtime: lambda.Runtime.NODEJS_24_X,
        handler: 'index.handler',
        code: lambda.Code.fromInline('exports.handler = async () => 1;'),
      });
    });
  });
  afterAll(() => {
    for (const s of [clean, planted, options]) if (s) fs.rmSync(s.outdir, { recursive: true, force: true });
  });

  test('bin/app.ts runs the AWS Solutions, NIST 800-53 R5, HIPAA Security and Serverless packs', () => {
    expect(PACKS).toEqual(['AwsSolutions', 'NIST.800.53.R5', 'HIPAA.Security', 'Serverless']);
    const app = fs.readFileSync(path.join(__dirname, '..', 'bin', 'app.ts'), 'utf8');
    expect(app).toMatch(/Validations\.of\(app\)\.addPlugins\(\.\.\.NAG_PACKS\(/);
  });

  test.each(PACKS)('has no unacknowledged %s finding', (pack) => {
    expect(packFindings(clean.built.app, pack)).toEqual([]);
  });

  test.each(PACKS)('has no unacknowledged %s finding with every optional feature on either', (pack) => {
    expect(packFindings(options.built.app, pack)).toEqual([]);
  });

  test.each([
    ['AwsSolutions', 'AwsSolutions-S10 at DlPlatform-Data/CanaryBucket/Resource'],
    ['NIST.800.53.R5', 'NIST.800.53.R5-S3BucketReplicationEnabled at DlPlatform-Data/CanaryBucket/Resource'],
    ['HIPAA.Security', 'HIPAA.Security-S3BucketReplicationEnabled at DlPlatform-Data/CanaryBucket/Resource'],
    ['Serverless', 'Serverless-LambdaDLQ at DlPlatform-Serving/CanaryFunction/Resource'],
  ])('%s still reports a violation planted in the app', (pack, finding) => {
    expect(packFindings(planted.built.app, pack)).toContain(finding);
  });

  test('checkov (--framework cloudformation) fails no check on any template, and every skip says why', () => {
    const templates = templatesIn(clean.outdir);
    expect(templates).toHaveLength(4);
    const report = runCheckov(templates);
    expect(report.parsingErrors).toBe(0);
    expect(report.passed).toBeGreaterThan(100);
    expect(report.failed.map((f) => `${f.checkId} ${f.resource} (${f.file}): ${f.name}`)).toEqual([]);
    expect(report.skipped.filter((s) => s.comment.trim().length < 20)).toEqual([]);
  });

  test('checkov fails no check with every optional feature on either', () => {
    const report = runCheckov(templatesIn(options.outdir));
    expect(report.failed.map((f) => `${f.checkId} ${f.resource} (${f.file}): ${f.name}`)).toEqual([]);
    expect(report.skipped.filter((sk) => sk.comment.trim().length < 20)).toEqual([]);
  });

  test('checkov still fails a check planted in a template', () => {
    // The canary function is in the serving stack's template: checking that one file is enough.
    const failed = runCheckov(templatesIn(planted.outdir).filter((t) => t.endsWith('DlPlatform-Serving.template.json'))).failed;
    expect(failed).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ checkId: 'CKV_AWS_116', resource: expect.stringMatching(/^AWS::Lambda::Function\.CanaryFunction/) }),
      ]),
    );
  });
});
