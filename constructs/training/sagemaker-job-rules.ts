/**
 * The SageMaker job constructs' prop rules (TrainingJob, ProcessingJob): each throws, naming the prop, its value
 * and what is allowed, for a prop SageMaker or CloudFormation would reject.
 */
import { Duration } from 'aws-cdk-lib';
import { JOB_NAME_PREFIX_ALLOWED, isValidAttempt, isValidJobNamePrefix } from './job-identity';
import { MAX_TIMEOUT } from './sagemaker-job-provider';
import type { ProcessingJobProps } from './processing-job-props';
import type { MetricDefinition, TrainingJobProps } from './training-job-props';

/** TrainingJob props with their defaults applied. */
export interface Resolved {
  instanceType: string; instanceCount: number; useSpot: boolean; maxRuntime: Duration; maxWait: Duration;
  timeout: Duration; queryInterval: Duration; channels: string[]; metricDefinitions: MetricDefinition[];
}

type Fail = (prop: string, value: unknown, allowed: string) => never;

function failFor(construct: string): Fail {
  return (prop, value, allowed) => {
    throw new Error(`${construct}: invalid ${prop} ${JSON.stringify(value)}; allowed: ${allowed}`);
  };
}

/** The identity props both kinds share: the name prefix and the attempt. */
function checkIdentity(fail: Fail, jobNamePrefix: string | undefined, attempt: number | undefined): void {
  if (jobNamePrefix !== undefined && !isValidJobNamePrefix(jobNamePrefix)) fail('jobNamePrefix', jobNamePrefix, JOB_NAME_PREFIX_ALLOWED);
  if (attempt !== undefined && !isValidAttempt(attempt)) fail('attempt', attempt, 'a whole number of at least 1');
}

/** Throws for a TrainingJob prop SageMaker or CloudFormation would reject. */
export function validateTrainingJob(props: TrainingJobProps, r: Resolved): void {
  const fail = failFor('TrainingJob');
  checkIdentity(fail, props.jobNamePrefix, props.attempt);
  if (!/^ml\.[a-z0-9-]+\.[a-z0-9]+$/.test(r.instanceType)) fail('instanceType', r.instanceType, 'a SageMaker instance type such as ml.p3.2xlarge');
  if (!Number.isInteger(r.instanceCount) || r.instanceCount < 1) fail('instanceCount', r.instanceCount, 'a whole number of at least 1');
  if (props.volumeSizeGb !== undefined && (!Number.isInteger(props.volumeSizeGb) || props.volumeSizeGb < 1)) fail('volumeSizeGb', props.volumeSizeGb, 'a whole number of at least 1');
  for (const [name, prefix] of [['data.prefix', props.data.prefix], ['artifactPrefix', props.artifactPrefix], ['checkpointPrefix', props.checkpointPrefix]] as const) {
    if (prefix !== undefined && !/^([^/\s*]+\/)*$/.test(prefix)) fail(name, prefix, 'a key prefix such as "datasets/digits/v1/" (no leading slash, ending in /)');
  }
  if (r.channels.length === 0 || r.channels.some((c) => !/^[A-Za-z0-9.\-_]{1,64}$/.test(c))) fail('data.channels', r.channels, 'one or more channel names');
  const runtime = r.maxRuntime.toSeconds();
  const longest = r.useSpot ? r.maxWait.toSeconds() : runtime;
  if (r.useSpot && r.maxWait.toSeconds() < runtime) fail('maxWait', `${r.maxWait.toSeconds()}s`, `at least maxRuntime (${runtime}s) with spot training`);
  if (r.timeout.toSeconds() < 60 || r.timeout.toSeconds() > MAX_TIMEOUT.toSeconds()) fail('timeout', `${r.timeout.toSeconds()}s`, 'from 1 minute to 2 hours');
  if (longest > r.timeout.toSeconds()) {
    fail(r.useSpot ? 'maxWait' : 'maxRuntime', `${longest}s`, `at most timeout (${r.timeout.toSeconds()}s), or the deploy gives up while the job still runs`);
  }
  const interval = r.queryInterval.toSeconds();
  if (!Number.isInteger(interval) || interval < 5 || interval > 300) fail('queryInterval', `${interval}s`, 'whole seconds from 5 to 300');
  const hp = Object.entries(props.hyperparameters ?? {});
  if (hp.length > 100 || hp.some(([k, v]) => k.length < 1 || k.length > 256 || typeof v !== 'string' || v.length > 2500)) {
    fail('hyperparameters', props.hyperparameters, 'at most 100 names of up to 256 characters, each with a string value of up to 2500');
  }
  if (r.metricDefinitions.length > 40) fail('metricDefinitions', r.metricDefinitions.length, 'at most 40 definitions');
  if (props.vpcConfig && (props.vpcConfig.subnetIds.length === 0 || props.vpcConfig.securityGroupIds.length === 0)) {
    fail('vpcConfig', props.vpcConfig, 'at least one subnet and one security group');
  }
}

/** Throws for a ProcessingJob prop SageMaker or CloudFormation would reject. */
export function validateProcessingJob(props: ProcessingJobProps, timeout: Duration, maxRuntime: Duration, outputPrefix: string): void {
  const fail = failFor('ProcessingJob');
  checkIdentity(fail, props.jobNamePrefix, props.attempt);
  const inputs = Object.entries(props.inputs);
  if (inputs.length === 0 || inputs.length > 10) fail('inputs', Object.keys(props.inputs), 'one to ten inputs');
  for (const [name, input] of inputs) {
    if (!/^[a-z][a-z0-9_-]{0,63}$/.test(name)) fail('inputs', name, 'input names of lowercase letters, digits, _ and -');
    if (!/^([^/\s*]+\/)*([^/\s*]+)?$/.test(input.key)) fail(`inputs.${name}.key`, input.key, 'an object key or a key prefix ending in / (no leading slash)');
  }
  if (props.outputs.length === 0 || props.outputs.length > 10 || props.outputs.some((n) => !/^[a-z][a-z0-9_-]{0,63}$/.test(n))) {
    fail('outputs', props.outputs, 'one to ten output names of lowercase letters, digits, _ and -');
  }
  if (!/^([^/\s*]+\/)+$/.test(outputPrefix)) fail('outputPrefix', outputPrefix, 'a key prefix such as "prepared/" (no leading slash, ending in /)');
  // CreateProcessingJob: MaxRuntimeInSeconds 1 to 777600 (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProcessingStoppingCondition.html).
  if (maxRuntime.toSeconds() < 1 || maxRuntime.toSeconds() > 777600) fail('maxRuntime', `${maxRuntime.toSeconds()}s`, 'from 1 second to 9 days');
  if (timeout.toSeconds() < 60 || timeout.toSeconds() > 7200) fail('timeout', `${timeout.toSeconds()}s`, 'from 1 minute to 2 hours');
  if (maxRuntime.toSeconds() > timeout.toSeconds()) fail('maxRuntime', `${maxRuntime.toSeconds()}s`, `at most timeout (${timeout.toSeconds()}s), or the deploy gives up while the job still runs`);
  const env = Object.entries(props.environment ?? {});
  // Environment: at most 100 entries, keys [a-zA-Z_][a-zA-Z0-9_]* up to 256, values up to 256 (API_CreateProcessingJob.html).
  if (env.length > 100 || env.some(([k, v]) => !/^[a-zA-Z_][a-zA-Z0-9_]{0,255}$/.test(k) || v.length > 256)) {
    fail('environment', props.environment, 'at most 100 variables named [a-zA-Z_][a-zA-Z0-9_]*, each value up to 256 characters');
  }
}
