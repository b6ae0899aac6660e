/**
 * The contract between the {@link TrainingJob} construct and its handler: the custom resource's properties
 * and the attributes it returns. Pure (no aws-cdk-lib), so the handler bundle stays small.
 *
 * CloudFormation gives a custom resource at most one hour (ServiceTimeout), so a job that may run longer is
 * waited for by a chain of resources: the `start` phase creates the job and waits, each `wait` phase after
 * it picks up where the previous one handed over. Only the final phase may time out the deploy.
 */

/** The CloudFormation resource type of every phase. */
export const RESOURCE_TYPE = 'Custom::SageMakerTrainingJob';

/** Which part of the job's life a resource covers. */
export type Phase = 'start' | 'wait';

/** The quality bar a completed job's final metric must reach. */
export interface QualityGate {
  /** Final metric compared, as named in the job's metric definitions (e.g. `test_accuracy`). */
  readonly metric: string;
  /** Lowest acceptable value. */
  readonly minimum: number;
}

/**
 * The resource properties, as the handler receives them: CloudFormation turns every scalar into a string,
 * and structured values travel as JSON strings so their types survive.
 */
export interface TrainingJobResourceProperties {
  readonly Phase: Phase;
  /** The content-addressed job name, fixed at synth. */
  readonly TrainingJobName: string;
  /** The CreateTrainingJob request as JSON (start phase only). */
  readonly CreateTrainingJobRequest?: string;
  /** The attempt number in the job's identity (start phase only): an error that needs a new job names the next one. */
  readonly Attempt?: string | number;
  /** Seconds this phase waits for the job before handing over or, in the final phase, failing. */
  readonly WaitSeconds: string | number;
  /** `true` for the last phase: it returns the final attributes, and its deadline fails the deploy. */
  readonly FinalPhase: string | boolean;
  /** JSON of a {@link QualityGate}; absent when there is none. */
  readonly QualityGate?: string;
}

/** Attributes (`Fn::GetAtt`) a phase returns once the job has completed. */
export const ATTR = {
  trainingJobName: 'TrainingJobName',
  trainingJobArn: 'TrainingJobArn',
  trainingJobStatus: 'TrainingJobStatus',
  modelDataUrl: 'ModelDataUrl',
  /** JSON object of every final metric, name to value. */
  finalMetrics: 'FinalMetrics',
} as const;

/** The attribute holding one final metric's value, e.g. `Metric.test_accuracy`. */
export function metricAttribute(metric: string): string {
  return `Metric.${metric}`;
}

/** SageMaker's training job name rule. */
export const JOB_NAME_PATTERN = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
