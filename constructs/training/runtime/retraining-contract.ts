/**
 * The contract between the RetrainingPipeline construct (the state machine) and its steps' handler
 * (retraining-steps.handler.ts): the configuration the state machine carries, fixed at synth, and what each step
 * returns. Pure (no aws-cdk-lib).
 */
import type { CreateProcessingJobCommandInput, CreateTrainingJobCommandInput } from '@aws-sdk/client-sagemaker';

import type { ProcessingIdentity, ProcessingJobSpec, TrainingIdentity, TrainingJobSpec } from './job-requests';
import type { ModelRegistrationProperties } from './model-registration-contract';

/** A job of the deploy, as the pipeline runs it again: its request's spec and its name's identity. */
export interface JobTemplate<Spec, Identity> {
  readonly spec: Spec;
  readonly identity: { readonly prefix: string; readonly inputs: Identity; readonly attempt?: number };
}

/** Everything the steps need, fixed at synth (the state machine's first state puts it in the run's state). */
export interface PipelineConfig {
  /** The raw data the pipeline prepares: the same bucket and key (prefix or one .csv) the deploy's prepare job reads. */
  readonly raw: { readonly bucket: string; readonly key: string };
  /** The prepare job; its input `data` reads the raw data. */
  readonly prepare: JobTemplate<ProcessingJobSpec, ProcessingIdentity>;
  /** The training job; its channels are the prepare job's `data` output. */
  readonly train: JobTemplate<TrainingJobSpec, TrainingIdentity>;
  /**
   * The evaluate job; its inputs are `model` (the artifact), `test` (prepare's raw test rows, {@link TEST_ROWS_FILE})
   * and, when the group has one, `approved-model` (the newest Approved version's artifact).
   */
  readonly evaluate: JobTemplate<ProcessingJobSpec, ProcessingIdentity>;
  /** The registration's fixed properties: group, image, gate, approval, code hash. */
  readonly registration: Pick<ModelRegistrationProperties, 'ModelPackageGroupName' | 'ImageUri' | 'QualityGate' | 'Approval' | 'CodeHash'>;
}

/** prepare's raw test rows, in its report output (training-image prepare/job.py's TEST_ROWS_FILE). */
export const TEST_ROWS_FILE = 'test-rows.csv';

/** The name of the completion marker: an upload under the raw prefix ends with this object. */
export const COMPLETION_MARKER = '_SUCCESS';

/** A job the pipeline may run: its name, its request, and whether a job of that name exists already. */
export interface PlannedJob<Request> {
  readonly name: string;
  readonly request: Request;
  /** `Absent` (run it), or the existing job's status (`Completed`: reuse it; anything else: the run fails). */
  readonly status: string;
}

/** What the `plan` step returns. */
export interface PlanResult {
  /** Another run of this pipeline is in progress (it started first): this run ends without work. */
  readonly busy: boolean;
  /** The run in progress, when busy. */
  readonly runningExecution?: string;
  /** SHA-256 of the raw data's listing (keys, ETags, sizes): the prepare job's data version. */
  readonly rawDigest?: string;
  readonly prepare?: PlannedJob<CreateProcessingJobCommandInput>;
}

/** What the `fingerprint` step returns. */
export interface FingerprintResult {
  /** SHA-256 of the prepared data, as `prepare` computed it (its report's data.sha256). */
  readonly dataHash: string;
  /** The training job's name: a hash of the prepared data's content, the image, hyperparameters and instance settings. */
  readonly fingerprint: string;
  /** Whether a registered version carries this fingerprint: the run ends early and names it. */
  readonly registered: boolean;
  readonly version?: { readonly arn: string; readonly number: number; readonly status: string };
  readonly train: PlannedJob<CreateTrainingJobCommandInput>;
  /** With the approved model's artifact it scores (part of its name), or `none` (NO_APPROVED_VERSION). */
  readonly evaluate: PlannedJob<CreateProcessingJobCommandInput> & { readonly approvedModel: string };
}

/** What the `register` step returns. */
export interface RegisterResult {
  readonly modelPackageArn: string;
  readonly modelPackageVersion: number;
  /** Approved, PendingManualApproval or Rejected. */
  readonly status: string;
  readonly reason: string;
  readonly created: boolean;
}

/** The status a job that does not exist reports. */
export const ABSENT = 'Absent';

/**
 * EventBridge Scheduler's rate and cron expressions (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html):
 * `rate(<value> <unit>)` with a positive whole value, `cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>)`.
 */
export const SCHEDULE_EXPRESSION = /^(rate\([1-9]\d* (minute|minutes|hour|hours|day|days)\)|cron\(\S+ \S+ \S+ \S+ \S+ \S+\))$/;
