/**
 * The contract between the {@link ProcessingJob} construct and the SageMaker job handler: the custom resource's
 * properties and the attributes it returns. Pure (no aws-cdk-lib), so the handler bundle stays small.
 * The phases work as the training job's do (training-job-contract.ts).
 */
import type { Phase } from './training-job-contract';

/** The CloudFormation resource type of every phase of a processing job. */
export const PROCESSING_RESOURCE_TYPE = 'Custom::SageMakerProcessingJob';

/** The resource properties, as the handler receives them (scalars as strings, structures as JSON strings). */
export interface ProcessingJobResourceProperties {
  readonly Phase: Phase;
  /** The content-addressed job name, fixed at synth. */
  readonly ProcessingJobName: string;
  /** The CreateProcessingJob request as JSON (start phase only). */
  readonly CreateProcessingJobRequest?: string;
  /** The attempt number in the job's identity (start phase only): an error that needs a new job names the next one. */
  readonly Attempt?: string | number;
  /** Seconds this phase waits for the job before handing over or, in the final phase, failing. */
  readonly WaitSeconds: string | number;
  /** `true` for the last phase. */
  readonly FinalPhase: string | boolean;
}

/** Attributes (`Fn::GetAtt`) a phase returns once the job has completed. */
export const PROCESSING_ATTR = {
  processingJobName: 'ProcessingJobName',
  processingJobArn: 'ProcessingJobArn',
  processingJobStatus: 'ProcessingJobStatus',
  /** The container's last words (its /opt/ml/output/message), for example the prepared data's summary. */
  exitMessage: 'ExitMessage',
} as const;
