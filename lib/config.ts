/**
 * The one typed configuration of the platform. Every setting has a default, can be set in cdk.json's
 * `context` or with `cdk synth -c name=value`, and is validated once, here, at synth: a bad value fails
 * with a ConfigError naming the setting, the value and what is allowed.
 */
import {
  HOSTING_INSTANCE_TYPES,
  IMAGE_TORCH_BUILD,
  PROCESSING_INSTANCE_TYPES,
  TorchBuild,
  TRAINING_INSTANCE_TYPES,
} from '../constructs/instance-types';
import { platformReservations, reservationProblem } from '../constructs/private/lambda-concurrency';
import {
  capacityProblem,
  gpuImageProblem,
  hostingDriverProblem,
  jobWaitProblem,
  RuleProblem,
  spotWaitProblem,
  trafficShiftingProblem,
} from '../constructs/sagemaker-rules';
import { INFERENCE_AMIS } from '../constructs/serving/inference-ami';
import { proxyFunctionTimeout } from '../constructs/serving/inference-proxy';
import { EVALUATION_METRICS, LOWER_IS_BETTER } from '../constructs/training/runtime/metric-definitions';
import { SCHEDULE_EXPRESSION } from '../constructs/training/runtime/retraining-contract';
import { arn, boolean, cidr, ConfigError, decimal, fail, integer, list, oneOf, optional, Parser, stringMap, text } from './config-parsers';

export { ConfigError } from './config-parsers';

interface Setting<T> {
  readonly parse: Parser<T>;
  readonly default: T;
  readonly description: string;
}

function setting<T>(parse: Parser<T>, dflt: T, description: string): Setting<T> {
  return { parse, default: dflt, description };
}

const subnetId = text(/^subnet-[0-9a-f]{8,17}$/, 'a subnet id such as subnet-0123456789abcdef0');
const securityGroupId = text(/^sg-[0-9a-f]{8,17}$/, 'a security group id such as sg-0123456789abcdef0');
const email = text(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, 'an email address');

/** Metrics the quality gate may compare: every metric of the evaluation report (training-image/metric-definitions.json). */
const GATE_METRICS: readonly string[] = EVALUATION_METRICS;
/** The gate metrics where lower is better, as a sentence's list: `a, b and c`. */
const LOWER_GATE_METRICS = GATE_METRICS.filter((m) => LOWER_IS_BETTER.has(m))
  .join(', ')
  .replace(/, ([^,]*)$/, ' and $1');

/** Every setting, its default and what it does. docs/configuration.md (npm run docs:settings) mirrors this table. */
export const SETTINGS = {
  // General
  stackPrefix: setting(
    text(/^[A-Za-z][A-Za-z0-9-]{0,29}$/, 'a letter then up to 29 letters, digits or hyphens'),
    'DlPlatform',
    'Prefix of every stack name (DlPlatform-Data, DlPlatform-Training, ...).',
  ),
  account: setting(
    optional(text(/^\d{12}$/, 'a 12-digit AWS account id')),
    undefined as string | undefined,
    'AWS account to deploy to. Unset: environment-agnostic stacks (synth needs no credentials).',
  ),
  region: setting(
    optional(text(/^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/, 'an AWS region such as eu-west-1')),
    undefined as string | undefined,
    'AWS region to deploy to. Unset: environment-agnostic stacks.',
  ),

  // Data
  dataSourceUri: setting(
    optional(text(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[^\s]*)?$/, 'an S3 URI such as s3://my-bucket/datasets/digits/')),
    undefined as string | undefined,
    "Your own data, prepared by the image's `prepare` Processing job: one raw CSV file (s3://bucket/data.csv), a prefix of CSV files, or a prefix holding train/, validation/ and test/ CSV folders (your split, kept). Unset: the bundled digits sample is uploaded to the data bucket.",
  ),
  dataVersion: setting(
    text(/^[A-Za-z0-9._-]{1,64}$/, 'up to 64 letters, digits, dots, underscores or hyphens'),
    'v1',
    'Version label of the training data; part of the S3 prefix and of the training job identity.',
  ),
  noncurrentVersionExpirationDays: setting(
    integer(1, 3650),
    90,
    'Days a replaced or deleted object version is kept in the data, model and log buckets.',
  ),

  // Preparation (the Processing job running the image's `prepare`; training-image/src/dlplatform/prepare/config.py;
  // lib/image-settings.ts maps these to its PREPARE_* variables, for the deploy and local mode alike)
  prepareLabelColumn: setting(
    optional(text(/^[^\s]{1,256}$/, 'a column name of up to 256 characters, without spaces')),
    undefined as string | undefined,
    "The raw data's label column (training reads the same column). Unset: the image's default, `label`.",
  ),
  prepareMissingValues: setting(
    oneOf(['median', 'mean', 'drop'] as const),
    'median',
    "Rows with a missing feature: impute per column with the training split's median or mean, or drop the row.",
  ),
  prepareDropDuplicates: setting(boolean, true, 'Drop rows that repeat an earlier row exactly (label included).'),
  prepareConstantColumns: setting(
    oneOf(['drop', 'keep'] as const),
    'drop',
    'Feature columns with one value in the training split: drop or keep.',
  ),
  prepareMaxCategories: setting(
    optional(integer(1, 1000)),
    undefined as number | undefined,
    "Text (categorical) columns with up to this many categories in the training split are one-hot encoded (one 0/1 feature per category); above it, frequency encoded (one feature: the category's share of the training rows). Unset: the image's default, 20. See docs/data.md.",
  ),
  prepareUnseenCategories: setting(
    optional(oneOf(['other', 'refuse'] as const)),
    undefined as 'other' | 'refuse' | undefined,
    'A request whose text column holds a category the training split never had: other (the "other" bucket: every indicator 0, a frequency of 0) or refuse (a 400 naming the feature and the known categories). Unset: the image\'s default, other.',
  ),
  prepareValidationFraction: setting(decimal(0.01, 0.5), 0.15, 'Share of each class split off for validation (stratified, seeded).'),
  prepareTestFraction: setting(
    decimal(0.01, 0.5),
    0.15,
    'Share of each class split off for the test set the evaluation and the quality gate use.',
  ),
  prepareSeed: setting(
    integer(0, 2147483647),
    42,
    "Seed of the stratified split (it keys the hash that places each row); part of the prepared data's identity.",
  ),
  prepareInstanceType: setting(oneOf(PROCESSING_INSTANCE_TYPES), 'ml.m5.large', 'Instance type of the prepare Processing job.'),
  prepareMaxRuntimeSeconds: setting(integer(60, 6600), 3600, 'Longest the prepare job may run (the deploy waits 10 minutes more).'),
  prepareAttempt: setting(integer(1, 9999), 1, 'Part of the prepare job identity: raise it to run the job again when no input changed.'),

  // Training
  trainingInstanceType: setting(oneOf(TRAINING_INSTANCE_TYPES), 'ml.p3.2xlarge', 'SageMaker training instance type.'),
  trainingInstanceCount: setting(integer(1, 64), 1, 'Training instances; more than one trains with multi-host DistributedDataParallel.'),
  trainingVolumeSizeGb: setting(integer(1, 16384), 30, "Size of each training instance's storage volume in GB."),
  trainingUseSpot: setting(boolean, true, 'Use managed spot training (checkpoints in S3 make interruptions cheap).'),
  trainingMaxRuntimeSeconds: setting(integer(60, 432000), 3600, 'Longest the training itself may run.'),
  trainingMaxWaitSeconds: setting(
    integer(60, 432000),
    5400,
    'Spot only: longest to wait for capacity plus run; at least trainingMaxRuntimeSeconds.',
  ),
  trainingTimeoutMinutes: setting(
    integer(5, 120),
    120,
    'How long `cdk deploy` waits for the training job before failing (the Provider framework allows up to 2 hours).',
  ),
  hyperparameters: setting(
    stringMap(/^[a-z][a-z0-9_]{0,63}$/, /^[^\s]{1,256}$/),
    {} as Record<string, string>,
    "Hyperparameters passed to the training image (see training-image/README.md); unset ones take the image's defaults.",
  ),
  trainingSubnetIds: setting(
    list(subnetId),
    [] as string[],
    'Run training in these VPC subnets (with trainingSecurityGroupIds). Empty: no VPC.',
  ),
  trainingSecurityGroupIds: setting(
    list(securityGroupId),
    [] as string[],
    'Security groups for training in a VPC (with trainingSubnetIds).',
  ),
  manageTrainingLogGroup: setting(
    boolean,
    false,
    "Create SageMaker's account-wide /aws/sagemaker/TrainingJobs log group in the training stack (KMS-encrypted, one-year retention, kept on destroy) instead of letting SageMaker create it unencrypted and kept forever at the first job. Only where the group does not exist yet in the account and region; see docs/security.md.",
  ),
  trainingAttempt: setting(
    integer(1, 9999),
    1,
    'Part of the training job identity: raise it to run the job again when no input changed (SageMaker never reuses a job name, e.g. after a spot capacity failure).',
  ),

  // Quality gate and model registry
  qualityGateMetric: setting(
    oneOf(GATE_METRICS),
    'test_accuracy',
    `Quality gate: the evaluation metric compared (training-image/metric-definitions.json). For ${LOWER_GATE_METRICS} lower is better.`,
  ),
  qualityGateBar: setting(
    decimal(0, 1000000),
    0.95,
    'Quality gate: the absolute bar, a minimum (a maximum where lower is better). A model that misses it is registered as Rejected and never served.',
  ),
  qualityGateMaxRegression: setting(
    decimal(0, 1000000),
    0.01,
    'Quality gate: how far the metric may fall behind the currently approved model version before the new model is rejected.',
  ),
  qualityGateSchemaChange: setting(
    oneOf(['refuse', 'accept'] as const),
    'refuse',
    "Quality gate: a candidate whose input columns or label set differ from the approved model's is a different problem, never a regression. refuse: it is refused with a message saying so, and not registered (train it into a new model group: another stackPrefix, or another --work-dir locally); accept: it replaces the approved model if it meets the absolute bar.",
  ),
  modelApproval: setting(
    oneOf(['automatic', 'manual'] as const),
    'automatic',
    'A model that passes the gate is registered Approved (automatic) or PendingManualApproval (manual: approve it with `aws sagemaker update-model-package`).',
  ),
  servingModelPackageVersion: setting(
    optional(integer(1, 1000000)),
    undefined as number | undefined,
    'Serve this approved model package version instead of the newest (rollback without training). Unset: the newest approved version.',
  ),

  // Retraining (constructs/training/retraining-pipeline.ts; docs/retraining.md)
  retrainOnNewData: setting(
    boolean,
    true,
    "Start a retraining run when a completion marker `_SUCCESS` is written under the raw data prefix (or the raw .csv file itself is written), so a many-file upload starts one run. The bucket must send events to EventBridge: the platform's data bucket does; turn it on for your own (dataSourceUri).",
  ),
  retrainSchedule: setting(
    optional(text(SCHEDULE_EXPRESSION, 'an EventBridge Scheduler expression: rate(<n> minutes|hours|days) or cron(<6 fields>)')),
    undefined as string | undefined,
    'Start a retraining run on this EventBridge Scheduler schedule, e.g. `rate(7 days)` or `cron(0 3 ? * MON *)` (UTC). Unset: no schedule. A run whose data, image and settings match a registered version ends without training.',
  ),
  retrainOnDrift: setting(
    boolean,
    false,
    'Start a retraining run when a drift alarm (drift-features or drift-prediction) goes into ALARM: an EventBridge rule in the Monitoring stack. A run during another run is dropped, and a run on data already trained on ends without training. Needs the drift check (captureSamplingPercentage above 0).',
  ),

  // Serving
  servingInstanceType: setting(oneOf(HOSTING_INSTANCE_TYPES), 'ml.m5.large', 'SageMaker endpoint instance type.'),
  servingInferenceAmiVersion: setting(
    optional(oneOf(INFERENCE_AMIS.map((a) => a.version))),
    undefined as string | undefined,
    "GPU endpoints: the production variant's InferenceAmiVersion, which decides the NVIDIA driver. Unset: the one whose driver runs the image's CUDA on servingInstanceType (docs/gpu.md). CPU endpoints: must stay unset.",
  ),
  servingWorkers: setting(
    optional(integer(1, 256)),
    undefined as number | undefined,
    'Model server worker processes per endpoint instance (MODEL_SERVER_WORKERS); on GPUs they are spread over the GPUs, each on its own. Unset: one per GPU on GPU instances, one per vCPU on CPU instances.',
  ),
  servingMinCapacity: setting(integer(1, 100), 1, 'Fewest endpoint instances (also the initial count).'),
  servingMaxCapacity: setting(integer(1, 100), 4, 'Most endpoint instances autoscaling may reach.'),
  servingTargetInvocationsPerInstance: setting(integer(1, 100000), 600, 'Autoscaling target: invocations per instance per minute.'),
  deploymentStrategy: setting(
    oneOf(['canary', 'linear', 'all-at-once'] as const),
    'all-at-once',
    'How a new model takes traffic on update (blue/green); any of them rolls back automatically when the endpoint alarms fire. Canary and linear need servingMinCapacity of at least 2.',
  ),
  deploymentCanaryPercent: setting(integer(1, 50), 10, 'Canary: percent of capacity that takes traffic first (SageMaker allows up to 50).'),
  deploymentLinearStepPercent: setting(integer(10, 50), 25, 'Linear: percent of capacity shifted per step (SageMaker allows 10 to 50).'),
  deploymentWaitSeconds: setting(
    integer(0, 3600),
    300,
    'Seconds to watch the alarms after each traffic shift, and to keep the old fleet after the last one.',
  ),
  rollbackAlarm5xxPerMinute: setting(integer(1, 1000000), 5, 'Blue/green rollback alarm: endpoint 5XX errors in one minute.'),
  rollbackAlarmModelLatencyP99Ms: setting(
    integer(1, 60000),
    1000,
    'Blue/green rollback alarm: p99 model latency in milliseconds, two minutes in a row.',
  ),
  apiAuth: setting(
    oneOf(['iam', 'api-key'] as const),
    'iam',
    'How clients authenticate to the inference API: SigV4 (IAM) or an API key with a usage plan.',
  ),
  apiThrottleRateLimit: setting(integer(1, 10000), 100, 'Stage throttling: steady requests per second.'),
  apiThrottleBurstLimit: setting(integer(1, 5000), 200, 'Stage throttling: burst requests.'),
  reserveLambdaConcurrency: setting(
    boolean,
    false,
    "Reserve Lambda concurrency: the inference proxy apiThrottleRateLimit times its 27 s timeout (capped by proxyReservedConcurrencyCap), the alarm responder 5. Off: every function shares the account's unreserved pool, which is what an account created today can deploy (new accounts start with a reduced concurrency quota, and Lambda refuses a reservation that leaves fewer than 100 unreserved). Needs lambdaConcurrencyQuota.",
  ),
  proxyReservedConcurrencyCap: setting(
    integer(1, 10000),
    100,
    "With reserveLambdaConcurrency: the most concurrency reserved for the API's proxy (apiThrottleRateLimit times its 27 s timeout, capped here), which is also the most the proxy may run at once.",
  ),
  lambdaConcurrencyQuota: setting(
    optional(integer(1, 10000000)),
    undefined as number | undefined,
    "Your account's Lambda concurrent-executions quota in the region (`aws lambda get-account-settings --query AccountLimit.ConcurrentExecutions`). Required with reserveLambdaConcurrency: synth checks the reservations leave Lambda's required 100 unreserved.",
  ),
  apiAllowedCidrs: setting(list(cidr), [] as string[], 'When not empty, the web ACL only lets these IPv4 CIDR blocks reach the API.'),
  wafRateLimitPer5Minutes: setting(integer(100, 2000000000), 1000, 'Requests one IP may send in 5 minutes before WAF blocks it.'),

  // Data capture and drift checks (docs/drift.md)
  captureSamplingPercentage: setting(
    integer(0, 100),
    100,
    'Percent of endpoint requests captured, with their answers, for the drift check (DataCaptureConfig InitialSamplingPercentage, 0 to 100). 0: no capture and no drift check.',
  ),
  captureRetentionDays: setting(
    integer(1, 3650),
    30,
    'Days captured requests and answers (customer data) are kept in the capture bucket before S3 deletes them.',
  ),
  driftCheckSchedule: setting(
    oneOf(['hourly', 'daily'] as const),
    'hourly',
    'How often the drift check runs, each time over the capture files of the last whole hour (hourly) or UTC day (daily).',
  ),
  driftMinRecords: setting(
    integer(1, 1000000000),
    200,
    'Fewest valid records a window needs for drift figures (MONITOR_MIN_RECORDS); a smaller window publishes only Records and never alarms on drift.',
  ),
  driftThreshold: setting(
    decimal(0.0001, 100),
    0.25,
    "Population stability index at or above which a feature or the predicted class has drifted (MONITOR_DRIFT_THRESHOLD), and the prediction drift alarm's threshold.",
  ),
  alarmInvalidInputRate: setting(
    decimal(0.0001, 1),
    0.05,
    "Alarm: share of a drift window's records the model could not take (wrong width, not a number, an error answer).",
  ),

  // Monitoring
  alarmEmails: setting(list(email), [] as string[], 'Email addresses subscribed to the alarm topic.'),
  webhookSecretArn: setting(
    optional(arn('secretsmanager')),
    undefined as string | undefined,
    'Secrets Manager secret holding the incident webhook URL. Unset: incidents are only logged and sent to the topic.',
  ),
  alarmEndpoint5xxCount: setting(integer(1, 1000000), 5, 'Alarm: endpoint 5XX errors in 5 minutes.'),
  alarmEndpoint4xxCount: setting(integer(1, 1000000), 50, 'Alarm: endpoint 4XX errors in 5 minutes.'),
  alarmModelLatencyP99Ms: setting(integer(1, 60000), 1000, 'Alarm: p99 model latency in milliseconds.'),
  alarmCpuUtilizationPercent: setting(
    integer(1, 10000),
    80,
    'Alarm, CPU endpoints: CPU utilisation for 15 minutes (SageMaker sums cores: 100 per core).',
  ),
  alarmGpuUtilizationPercent: setting(
    integer(1, 10000),
    80,
    'Alarm, GPU endpoints: GPU utilisation for 15 minutes (SageMaker sums GPUs: 100 per GPU).',
  ),
  alarmGpuMemoryUtilizationPercent: setting(
    integer(1, 10000),
    85,
    'Alarm, GPU endpoints: GPU memory utilisation for 15 minutes (100 per GPU).',
  ),
  alarmMemoryUtilizationPercent: setting(integer(1, 100), 85, 'Alarm: endpoint memory utilisation percent.'),
  alarmApi5xxCount: setting(integer(1, 1000000), 5, 'Alarm: API 5XX responses in 5 minutes.'),
  alarmApiLatencyP99Ms: setting(integer(1, 29000), 3000, 'Alarm: API p99 latency in milliseconds.'),
  alarmWafBlockedCount: setting(integer(1, 100000000), 500, 'Alarm: WAF-blocked requests in 5 minutes.'),
  alarmLambdaErrorCount: setting(integer(1, 1000000), 1, 'Alarm: errors of any one platform Lambda function in 5 minutes.'),
  alarmLambdaThrottleCount: setting(
    integer(1, 1000000),
    1,
    'Alarm: throttled invocations of any one platform Lambda function in 5 minutes.',
  ),
  runbookUrl: setting(
    text(/^(https:\/\/[^\s#]+|[A-Za-z0-9._/-]+)$/, 'an https URL or a repository path such as docs/runbook.md, without a #fragment'),
    'docs/runbook.md',
    'Where operators read docs/runbook.md (for example its page on your Git host); alarm descriptions and incident records link to its sections.',
  ),
};

/**
 * Settings that were removed, and what replaced them: naming one fails at synth instead of being silently
 * ignored (a value that no longer does anything would contradict what is deployed).
 */
const RETIRED_SETTINGS: Record<string, string> = {
  wafMaxBodyBytes:
    'the WAF body-size rule takes its limit from training-image/request-limits.json, ' +
    'the one table of request limits the API model, the proxy and the model server read too; change maxBytes there',
  minTestAccuracy:
    'the model registry gates every model: set qualityGateBar (with qualityGateMetric test_accuracy, the default) ' +
    'and qualityGateMaxRegression',
};

type Settings = typeof SETTINGS;
/** The validated configuration. */
export type PlatformConfig = { readonly [K in keyof Settings]: Settings[K]['default'] };

/** Something that holds context values: a CDK App's node, or a plain record in tests. */
export type ContextSource = { tryGetContext(key: string): unknown } | Record<string, unknown>;

function read(source: ContextSource, key: string): unknown {
  return typeof source.tryGetContext === 'function'
    ? (source as { tryGetContext(key: string): unknown }).tryGetContext(key)
    : (source as Record<string, unknown>)[key];
}

/**
 * Reads and validates every setting. All problems are reported together, one line each.
 * @param image the training image's PyTorch build, whose GPU architectures the instance types must match
 *   (tests pass another build to show what the check refuses).
 * @throws ConfigError naming each bad setting, its value and what is allowed.
 */
export function loadConfig(source: ContextSource, image: TorchBuild = IMAGE_TORCH_BUILD): PlatformConfig {
  const errors: string[] = [];
  for (const [key, why] of Object.entries(RETIRED_SETTINGS)) {
    if (read(source, key) !== undefined) errors.push(`Setting "${key}" was removed: ${why}`);
  }
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(SETTINGS) as [string, Setting<unknown>][]) {
    const raw = read(source, key);
    try {
      out[key] = raw === undefined ? spec.default : spec.parse(raw, key);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      errors.push(e.message);
    }
  }
  if (errors.length === 0) {
    try {
      checkCombinations(out as PlatformConfig, image);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      errors.push(e.message);
    }
  }
  if (errors.length > 0) throw new ConfigError(errors.join('\n'));
  return Object.freeze(out) as PlatformConfig;
}

/** Rules that involve more than one setting, or a setting and the training image. */
function checkCombinations(c: PlatformConfig, image: TorchBuild): void {
  // SageMaker's own rules (constructs/sagemaker-rules.ts), in this file's setting names.
  const named = <K extends keyof PlatformConfig>(name: K) => ({ name, value: c[name] });
  const problems = [
    gpuImageProblem({ instanceType: named('trainingInstanceType'), choices: TRAINING_INSTANCE_TYPES, image }),
    gpuImageProblem({ instanceType: named('servingInstanceType'), choices: HOSTING_INSTANCE_TYPES, image }),
    hostingDriverProblem({
      instanceType: named('servingInstanceType'),
      amiVersion: named('servingInferenceAmiVersion'),
      choices: HOSTING_INSTANCE_TYPES,
    }),
    spotWaitProblem({
      useSpot: named('trainingUseSpot'),
      maxWaitSeconds: named('trainingMaxWaitSeconds'),
      maxRuntimeSeconds: named('trainingMaxRuntimeSeconds'),
    }),
    trafficShiftingProblem({
      mode: named('deploymentStrategy'),
      percent: c.deploymentStrategy === 'linear' ? named('deploymentLinearStepPercent') : named('deploymentCanaryPercent'),
      minInstances: named('servingMinCapacity'),
      maxInstances: named('servingMaxCapacity'),
    }),
    jobWaitProblem({
      useSpot: named('trainingUseSpot'),
      maxWaitSeconds: named('trainingMaxWaitSeconds'),
      maxRuntimeSeconds: named('trainingMaxRuntimeSeconds'),
      waitSeconds: { name: 'trainingTimeoutMinutes * 60', value: c.trainingTimeoutMinutes * 60 },
    }),
    capacityProblem({
      instanceType: named('servingInstanceType'),
      minInstances: named('servingMinCapacity'),
      maxInstances: named('servingMaxCapacity'),
    }),
  ];
  for (const p of problems) if (p) failRule(p);
  if (c.prepareValidationFraction + c.prepareTestFraction >= 0.9) {
    fail(
      'prepareTestFraction',
      c.prepareTestFraction,
      `less than ${Number((0.9 - c.prepareValidationFraction).toFixed(6))} with prepareValidationFraction ${c.prepareValidationFraction} (at least a tenth must stay for training)`,
    );
  }
  if ((c.trainingSubnetIds.length === 0) !== (c.trainingSecurityGroupIds.length === 0)) {
    fail('trainingSubnetIds', c.trainingSubnetIds, 'set together with trainingSecurityGroupIds (both or neither)');
  }
  if (c.apiThrottleBurstLimit < c.apiThrottleRateLimit) {
    fail('apiThrottleBurstLimit', c.apiThrottleBurstLimit, `at least apiThrottleRateLimit (${c.apiThrottleRateLimit})`);
  }
  if (c.retrainOnDrift && c.captureSamplingPercentage === 0) {
    fail(
      'retrainOnDrift',
      c.retrainOnDrift,
      'false while captureSamplingPercentage is 0 (no capture, no drift check, no drift alarm to start a run); ' +
        'set captureSamplingPercentage above 0 or retrainOnDrift=false',
    );
  }
  checkReservations(c);
}

/**
 * Reserved Lambda concurrency (constructs/private/lambda-concurrency.ts): only on request, and then only what the
 * account's quota allows with Lambda's 100 unreserved executions kept free.
 */
function checkReservations(c: PlatformConfig): void {
  const reservations = platformReservations(c, proxyFunctionTimeout().toSeconds());
  if (!reservations) return;
  if (c.lambdaConcurrencyQuota === undefined) {
    fail(
      'lambdaConcurrencyQuota',
      c.lambdaConcurrencyQuota,
      "your account's Lambda concurrent-executions quota in the region, required with " +
        'reserveLambdaConcurrency=true (read it with `aws lambda get-account-settings --query AccountLimit.ConcurrentExecutions`)',
    );
  }
  const problem = reservationProblem(
    { 'inference proxy': reservations.proxy, 'alarm responder': reservations.responder },
    c.lambdaConcurrencyQuota,
  );
  if (problem) {
    fail(
      'reserveLambdaConcurrency',
      c.reserveLambdaConcurrency,
      `false, or true with reservations that fit lambdaConcurrencyQuota (${c.lambdaConcurrencyQuota}): ${problem}. ` +
        'Set reserveLambdaConcurrency=false, lower proxyReservedConcurrencyCap, or raise the quota in Service Quotas and set lambdaConcurrencyQuota',
    );
  }
}

/** Fails with a SageMaker rule's problem, citing the AWS page it comes from. */
function failRule(p: RuleProblem): never {
  return fail(p.setting, p.value, p.source?.startsWith('https://') ? `${p.allowed} (see ${p.source})` : p.allowed);
}
