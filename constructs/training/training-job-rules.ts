/**
 * The TrainingJob construct's pure rules: the content-addressed job name, the wait phases that keep each
 * custom resource within CloudFormation's hour, and the validation of its props.
 */
import { createHash } from 'crypto';
import { Duration, Token } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { MetricDefinition, TrainingJobProps } from './training-job-props';
import { JOB_NAME_PATTERN } from './runtime/training-job-contract';

/** The longest a deploy may wait for a job. */
export const MAX_TIMEOUT = Duration.hours(2);
/** The longest one phase waits: well inside CloudFormation's hour for a custom resource. */
export const PHASE_SECONDS = 55 * 60;

/** The job name: the prefix and 16 hex digits of a hash of the identity. */
export function jobName(prefix: string, identity: unknown): string {
  const digest = createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 16);
  const name = `${prefix}-${digest}`;
  if (!JOB_NAME_PATTERN.test(name)) throw new Error(`SageMaker job name ${name} does not match ${JOB_NAME_PATTERN}`);
  return name;
}

/** Wait phases (seconds) that together cover `total`, none longer than one custom resource may take. */
export function phases(total: number): number[] {
  const out: number[] = [];
  for (let left = total; left > 0; left -= PHASE_SECONDS) out.push(Math.min(left, PHASE_SECONDS));
  return out;
}

/** The default job name prefix: the stack name, lowercased (SageMaker lowercases names in ARNs, which IAM matches). */
export function defaultPrefix(stackName: string): string {
  return stackName.toLowerCase().replace(/[^a-z0-9]+/g, '-').slice(0, 40).replace(/^-+|-+$/g, '');
}

/** A bucket's stable identity: its name when known at synth, otherwise its place in the app. */
export function bucketIdentity(bucket: s3.IBucket): string {
  return Token.isUnresolved(bucket.bucketName) ? bucket.node.path : bucket.bucketName;
}

/** The record with its keys in order, so the hash does not depend on how the map was written. */
export function sortKeys(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}

/** Props with their defaults applied. */
export interface Resolved {
  instanceType: string; instanceCount: number; useSpot: boolean; maxRuntime: Duration; maxWait: Duration;
  timeout: Duration; queryInterval: Duration; channels: string[]; metricDefinitions: MetricDefinition[];
}

/** Throws, naming the prop, its value and what is allowed, for a prop SageMaker or CloudFormation would reject. */
export function validate(props: TrainingJobProps, r: Resolved): void {
  const fail = (prop: string, value: unknown, allowed: string): never => {
    throw new Error(`TrainingJob: invalid ${prop} ${JSON.stringify(value)}; allowed: ${allowed}`);
  };
  if (props.jobNamePrefix !== undefined && (props.jobNamePrefix.length > 40 || !/^[a-z0-9](-*[a-z0-9])*$/.test(props.jobNamePrefix))) {
    fail('jobNamePrefix', props.jobNamePrefix, 'lowercase letters, digits and hyphens (not first or last), at most 40 characters');
  }
  if (!/^ml\.[a-z0-9-]+\.[a-z0-9]+$/.test(r.instanceType)) fail('instanceType', r.instanceType, 'a SageMaker instance type such as ml.p3.2xlarge');
  if (!Number.isInteger(r.instanceCount) || r.instanceCount < 1) fail('instanceCount', r.instanceCount, 'a whole number of at least 1');
  if (props.volumeSizeGb !== undefined && (!Number.isInteger(props.volumeSizeGb) || props.volumeSizeGb < 1)) fail('volumeSizeGb', props.volumeSizeGb, 'a whole number of at least 1');
  if (props.attempt !== undefined && (!Number.isInteger(props.attempt) || props.attempt < 1)) fail('attempt', props.attempt, 'a whole number of at least 1');
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
  if (props.qualityGate && !r.metricDefinitions.some((m) => m.name === props.qualityGate!.metric)) {
    fail('qualityGate.metric', props.qualityGate.metric, `one of the metricDefinitions (${r.metricDefinitions.map((m) => m.name).join(', ') || 'none'})`);
  }
  if (props.vpcConfig && (props.vpcConfig.subnetIds.length === 0 || props.vpcConfig.securityGroupIds.length === 0)) {
    fail('vpcConfig', props.vpcConfig, 'at least one subnet and one security group');
  }
}
