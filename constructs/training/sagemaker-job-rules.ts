/**
 * The SageMaker job constructs' prop rules (TrainingJob, ProcessingJob): every prop SageMaker or CloudFormation
 * would reject, as problems in the constructs' prop names. The rules the configuration checks too (spot wait,
 * the deploy's wait) are constructs/sagemaker-rules.ts's; the identity rules are job-identity.ts's.
 */
import { Duration } from 'aws-cdk-lib';

import { check } from '../private/validation';
import { jobWaitProblem, Named, RuleProblem, spotWaitProblem } from '../sagemaker-rules';
import { isValidAttempt, isValidJobNamePrefix, JOB_NAME_PREFIX_ALLOWED } from './job-identity';
import type { ProcessingJobProps } from './processing-job-props';
import { MAX_TIMEOUT } from './sagemaker-job-provider';
import type { MetricDefinition, TrainingJobProps } from './training-job-props';

/** TrainingJob props with their defaults applied. */
export interface ResolvedTrainingJob {
  instanceType: string;
  instanceCount: number;
  useSpot: boolean;
  maxRuntime: Duration;
  maxWait: Duration;
  timeout: Duration;
  queryInterval: Duration;
  channels: string[];
  metricDefinitions: MetricDefinition[];
}

/** ProcessingJob props with their defaults applied. */
export interface ResolvedProcessingJob {
  maxRuntime: Duration;
  timeout: Duration;
  queryInterval: Duration;
  outputPrefix: string;
}

/** A Duration prop as the rules name it: its seconds, shown as `<n>s`. */
function seconds(name: string, duration: Duration): Named<number> {
  return { name, value: duration.toSeconds(), shown: `${duration.toSeconds()}s` };
}

const wholeAtLeastOne = (n: number) => Number.isInteger(n) && n >= 1;
const KEY_PREFIX = /^([^/\s*]+\/)*$/;

/** The props every job construct has: identity, the deploy's wait and polling, the VPC. */
function commonProblems(
  props: TrainingJobProps | ProcessingJobProps,
  timeout: Duration,
  queryInterval: Duration,
): (RuleProblem | undefined)[] {
  const interval = queryInterval.toSeconds();
  return [
    props.jobNamePrefix === undefined
      ? undefined
      : check('jobNamePrefix', props.jobNamePrefix, isValidJobNamePrefix, JOB_NAME_PREFIX_ALLOWED),
    props.attempt === undefined ? undefined : check('attempt', props.attempt, isValidAttempt, 'a whole number of at least 1'),
    check(
      'timeout',
      `${timeout.toSeconds()}s`,
      () => timeout.toSeconds() >= 60 && timeout.toSeconds() <= MAX_TIMEOUT.toSeconds(),
      'from 1 minute to 2 hours',
    ),
    check(
      'queryInterval',
      `${interval}s`,
      () => Number.isInteger(interval) && interval >= 5 && interval <= 300,
      'whole seconds from 5 to 300',
    ),
    props.vpcConfig === undefined
      ? undefined
      : check(
          'vpcConfig',
          props.vpcConfig,
          (v) => v.subnetIds.length > 0 && v.securityGroupIds.length > 0,
          'at least one subnet and one security group',
        ),
  ];
}

/** Every problem of a TrainingJob's props. */
export function trainingJobProblems(props: TrainingJobProps, r: ResolvedTrainingJob): (RuleProblem | undefined)[] {
  const useSpot = { name: 'useSpot', value: r.useSpot };
  const maxWaitSeconds = seconds('maxWait', r.maxWait);
  const maxRuntimeSeconds = seconds('maxRuntime', r.maxRuntime);
  return [
    ...commonProblems(props, r.timeout, r.queryInterval),
    check('instanceType', r.instanceType, (t) => /^ml\.[a-z0-9-]+\.[a-z0-9]+$/.test(t), 'a SageMaker instance type such as ml.p3.2xlarge'),
    check('instanceCount', r.instanceCount, wholeAtLeastOne, 'a whole number of at least 1'),
    props.volumeSizeGb === undefined
      ? undefined
      : check('volumeSizeGb', props.volumeSizeGb, wholeAtLeastOne, 'a whole number of at least 1'),
    ...(
      [
        ['data.prefix', props.data.prefix],
        ['artifactPrefix', props.artifactPrefix],
        ['checkpointPrefix', props.checkpointPrefix],
      ] as const
    ).map(([name, prefix]) =>
      prefix === undefined
        ? undefined
        : check(name, prefix, (p) => KEY_PREFIX.test(p), 'a key prefix such as "datasets/digits/v1/" (no leading slash, ending in /)'),
    ),
    check(
      'data.channels',
      r.channels,
      (cs) => cs.length > 0 && cs.every((c) => /^[A-Za-z0-9.\-_]{1,64}$/.test(c)),
      'one or more channel names',
    ),
    spotWaitProblem({ useSpot, maxWaitSeconds, maxRuntimeSeconds }),
    jobWaitProblem({ useSpot, maxWaitSeconds, maxRuntimeSeconds, waitSeconds: seconds('timeout', r.timeout) }),
    check(
      'hyperparameters',
      props.hyperparameters ?? {},
      (hp) =>
        Object.keys(hp).length <= 100 &&
        Object.entries(hp).every(([k, v]) => k.length >= 1 && k.length <= 256 && typeof v === 'string' && v.length <= 2500),
      'at most 100 names of up to 256 characters, each with a string value of up to 2500',
    ),
    check('metricDefinitions', r.metricDefinitions.length, (n) => n <= 40, 'at most 40 definitions'),
  ];
}

/** Every problem of a ProcessingJob's props. */
export function processingJobProblems(props: ProcessingJobProps, r: ResolvedProcessingJob): (RuleProblem | undefined)[] {
  const name = /^[a-z][a-z0-9_-]{0,63}$/;
  const inputs = Object.entries(props.inputs);
  return [
    ...commonProblems(props, r.timeout, r.queryInterval),
    check('inputs', Object.keys(props.inputs), (names) => names.length >= 1 && names.length <= 10, 'one to ten inputs'),
    ...inputs.map(([n]) => check('inputs', n, (v) => name.test(v), 'input names of lowercase letters, digits, _ and -')),
    ...inputs.map(([n, input]) =>
      check(
        `inputs.${n}.key`,
        input.key,
        (k) => /^([^/\s*]+\/)*([^/\s*]+)?$/.test(k),
        'an object key or a key prefix ending in / (no leading slash)',
      ),
    ),
    check(
      'outputs',
      props.outputs,
      (os) => os.length >= 1 && os.length <= 10 && os.every((o) => name.test(o)),
      'one to ten output names of lowercase letters, digits, _ and -',
    ),
    check(
      'outputPrefix',
      r.outputPrefix,
      (p) => /^([^/\s*]+\/)+$/.test(p),
      'a key prefix such as "prepared/" (no leading slash, ending in /)',
    ),
    check(
      'maxRuntime',
      `${r.maxRuntime.toSeconds()}s`,
      () => r.maxRuntime.toSeconds() >= 1 && r.maxRuntime.toSeconds() <= 777600,
      'from 1 second to 9 days',
      'https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProcessingStoppingCondition.html',
    ),
    jobWaitProblem({ maxRuntimeSeconds: seconds('maxRuntime', r.maxRuntime), waitSeconds: seconds('timeout', r.timeout) }),
    check(
      'environment',
      props.environment ?? {},
      (env) =>
        Object.keys(env).length <= 100 &&
        Object.entries(env).every(([k, v]) => /^[a-zA-Z_][a-zA-Z0-9_]{0,255}$/.test(k) && v.length <= 256),
      'at most 100 variables named [a-zA-Z_][a-zA-Z0-9_]*, each value up to 256 characters',
      'https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateProcessingJob.html',
    ),
  ];
}
