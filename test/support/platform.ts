/** Builds the whole platform the way bin/app.ts does, with cdk.json's feature flags, for assertions. */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import * as fs from 'fs';
import * as path from 'path';

import { loadConfig, PlatformConfig } from '../../lib/config';
import { buildPlatform, Platform } from '../../lib/platform';

const CDK_JSON = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8'));

/**
 * The feature flags and defaults from cdk.json, plus the given overrides.
 *
 * Lambda bundling (esbuild, about a second per function and app) is skipped unless the overrides name the
 * stacks to bundle in `aws:cdk:bundling-stacks` (`cxapi.BUNDLING_STACKS`): a template depends on a bundle only
 * through its hash, which `stableTemplate` masks. The tests that run or lint the real bundles ask for them
 * (training-job-handler, app-checks' cfn-lint; the proxy bundle is built by support/proxy-bundle.ts).
 */
export function contextWith(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...CDK_JSON.context, [cxapi.BUNDLING_STACKS]: [], ...overrides };
}

/**
 * Every optional feature on: VPC training, the user's data, API keys, an allow-list, a webhook, the managed
 * training log group, a GPU endpoint, a pinned environment, a retraining schedule, retraining on drift. Each adds
 * resources or statements of its own.
 */
export const EVERY_OPTION = {
  account: '123456789012',
  region: 'eu-west-1',
  dataSourceUri: 's3://my-datasets/digits/2024',
  trainingSubnetIds: ['subnet-0123456789abcdef0'],
  trainingSecurityGroupIds: ['sg-0123456789abcdef0'],
  apiAuth: 'api-key',
  apiAllowedCidrs: ['203.0.113.0/24'],
  alarmEmails: 'ops@example.com',
  manageTrainingLogGroup: true,
  webhookSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:incident-webhook-AbCdEf',
  servingInstanceType: 'ml.g5.xlarge',
  servingMinCapacity: 2,
  servingMaxCapacity: 2,
  retrainSchedule: 'rate(7 days)',
  retrainOnDrift: true,
};

export interface SynthesizedPlatform {
  readonly app: App;
  readonly config: PlatformConfig;
  readonly platform: Platform;
}

/**
 * Builds the platform in a fresh App; `outdir` keeps the cloud assembly (for cfn-lint). aws-cdk-lib's built-in
 * template validation (about 4 s per synth) runs only when `validate` asks for it, as app-checks does for the
 * one full `cdk synth`; the other tests assert on templates without writing them.
 */
export function buildTestPlatform(overrides: Record<string, unknown> = {}, outdir?: string, validate = false): SynthesizedPlatform {
  const app = new App({ context: contextWith(overrides), outdir, builtinCloudFormationValidation: validate });
  const config = loadConfig(app.node);
  const platform = buildPlatform(app, config);
  return { app, config, platform };
}

/** Every stack of the platform. */
export function stacksOf(platform: Platform): Stack[] {
  return Object.values(platform).filter((s): s is Stack => s instanceof Stack);
}

/** cdk-nag AwsSolutions findings over the whole app, as "rule at path" lines (empty when clean). */
export function nagFindings(app: App): string[] {
  const report = new AwsSolutionsChecks().validateScope(app);
  return report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}: ${v.description}`));
}

/**
 * A template made stable for snapshots: asset hashes vary with the bundler and the machine, the training job
 * name hashes the image and data (any edit to training-image/ would change it), and an API Gateway deployment's
 * logical id hashes the whole API; all three become placeholders. A dashboard's body is one generated JSON
 * string that any widget change rewrites whole: it is asserted in monitoring-alarms.test.ts instead.
 */
export function stableTemplate(stack: Stack): unknown {
  const template = Template.fromStack(stack).toJSON();
  for (const resource of Object.values(template.Resources ?? {}) as { Type: string; Properties: Record<string, unknown> }[]) {
    if (resource.Type === 'AWS::CloudWatch::Dashboard')
      resource.Properties.DashboardBody = 'DASHBOARD_BODY (see monitoring-alarms.test.ts)';
  }
  const json = JSON.stringify(template)
    .replace(/[0-9a-f]{64}(\.zip|\.json)?/g, (_m, ext) => `ASSET_HASH${ext ?? ''}`)
    .replace(/-training(-prepare|-evaluate)?-[0-9a-f]{16}/g, '-training$1-JOB_HASH')
    .replace(/(Deployment[0-9A-F]{8})[0-9a-f]{32}/g, '$1DEPLOYMENT_HASH');
  return JSON.parse(json);
}
