/**
 * The contract between the SageMaker job constructs (TrainingJob, ProcessingJob) and their one handler
 * (sagemaker-job.handler.ts): the custom resources' types, properties and the attributes they return. Pure (no
 * aws-cdk-lib), so the handler bundle stays small.
 *
 * CloudFormation gives a custom resource at most one hour (ServiceTimeout), so a job that may run longer is
 * waited for by a chain of resources: the `start` phase creates the job and waits, each `wait` phase after
 * it picks up where the previous one handed over. Only the final phase may time out the deploy.
 */

/** The CloudFormation resource type of every phase of a training job. */
export const RESOURCE_TYPE = 'Custom::SageMakerTrainingJob';

/** The CloudFormation resource type of every phase of a processing job. */
export const PROCESSING_RESOURCE_TYPE = 'Custom::SageMakerProcessingJob';

/** Which part of the job's life a resource covers. */
export type Phase = 'start' | 'wait';

/**
 * The properties every phase of every kind has, as the handler receives them: CloudFormation turns every
 * scalar into a string, and structured values travel as JSON strings so their types survive.
 */
interface PhaseProperties {
  readonly Phase: Phase;
  /** The attempt number in the job's identity (start phase only): an error that needs a new job names the next one. */
  readonly Attempt?: string | number;
  /** Seconds this phase waits for the job before handing over or, in the final phase, failing. */
  readonly WaitSeconds: string | number;
  /** `true` for the last phase: it returns the final attributes, and its deadline fails the deploy. */
  readonly FinalPhase: string | boolean;
}

/** A training job's resource properties. */
export interface TrainingJobResourceProperties extends PhaseProperties {
  /** The content-addressed job name, fixed at synth. */
  readonly TrainingJobName: string;
  /** The CreateTrainingJob request as JSON (start phase only). */
  readonly CreateTrainingJobRequest?: string;
}

/** A processing job's resource properties. */
export interface ProcessingJobResourceProperties extends PhaseProperties {
  /**
   * The content-addressed job name, fixed at synth; with {@link ApprovedModelLookup}, the name of a run that scores
   * no approved model (the start phase names the job at run time; each wait phase gets the name it was given).
   */
  readonly ProcessingJobName: string;
  /** The CreateProcessingJob request as JSON (start phase only): the run that scores no approved model. */
  readonly CreateProcessingJobRequest?: string;
  /**
   * JSON of an `ApprovedModelLookup` (job-requests.ts; start phase only): the job also scores the group's newest Approved model,
   * looked up when it starts, and is named with it.
   */
  readonly ApprovedModelLookup?: string;
}

/** Attributes (`Fn::GetAtt`) a training job's phase returns once the job has completed. */
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

/** Attributes (`Fn::GetAtt`) a processing job's phase returns once the job has completed. */
export const PROCESSING_ATTR = {
  processingJobName: 'ProcessingJobName',
  processingJobArn: 'ProcessingJobArn',
  processingJobStatus: 'ProcessingJobStatus',
  /** The container's last words (its /opt/ml/output/message), for example the prepared data's summary. */
  exitMessage: 'ExitMessage',
  /** The approved model's artifact the job scored (input `approved-model`), or `none`. */
  approvedModelDataUrl: 'ApprovedModelDataUrl',
} as const;

/** {@link PROCESSING_ATTR.approvedModelDataUrl} of a job that scored no approved model (the serving pointer's word). */
export const NO_APPROVED_MODEL = 'none';

/** SageMaker's job name rule, the same for training and processing jobs. */
export const JOB_NAME_PATTERN = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
