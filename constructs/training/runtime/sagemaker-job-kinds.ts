/**
 * What differs between the SageMaker jobs the job handler runs (training and processing): the resource type
 * that names the kind, the property names, and the Create/Describe/Stop calls. Everything else (adoption of
 * an existing job, phases, deadlines, failure messages) is the handler's and the same for every kind.
 */
import {
  CreateProcessingJobCommand,
  CreateProcessingJobCommandInput,
  CreateTrainingJobCommand,
  CreateTrainingJobCommandInput,
  DescribeProcessingJobCommand,
  DescribeTrainingJobCommand,
  DescribeTrainingJobCommandOutput,
  SageMakerClient,
  StopProcessingJobCommand,
  StopTrainingJobCommand,
} from '@aws-sdk/client-sagemaker';

import { APPROVED_MODEL_INPUT } from './job-requests';
import { ATTR, NO_APPROVED_MODEL, PROCESSING_ATTR, PROCESSING_RESOURCE_TYPE, RESOURCE_TYPE } from './sagemaker-job-contract';

/** A job's state, the same shape for every kind. */
export interface JobState {
  readonly status?: string;
  readonly secondaryStatus?: string;
  readonly failureReason?: string;
  /** Processing jobs: the container's message (prepare writes why it failed there). */
  readonly exitMessage?: string;
  /** The kind's own Describe response, for the attributes of a completed job. */
  readonly raw: unknown;
}

export interface JobKind {
  /** `training` or `processing`, as the messages say it ("Training job x failed"). */
  readonly label: 'Training' | 'Processing';
  /** The resource property holding the job name. */
  readonly nameProperty: string;
  /** The resource property holding the Create request (JSON). */
  readonly requestProperty: string;
  /** The attribute holding the job name and status (what a handing-over phase returns). */
  readonly nameAttribute: string;
  readonly statusAttribute: string;
  /** What to change when the deploy's wait runs out. */
  readonly waitHint: string;
  /** The setting that runs a job again with unchanged inputs. */
  readonly attemptSetting: string;
  /** The request's job name member. */
  requestName(request: Record<string, unknown>): unknown;
  /**
   * Where the job reads and writes, and as whom: member path to value, from a Create request or the kind's
   * Describe response (the two share these members). Two jobs of one name that differ here belong to different
   * deployments (new buckets, key or role after a destroy).
   */
  locations(job: Record<string, unknown>): Record<string, string>;
  create(client: SageMakerClient, request: Record<string, unknown>): Promise<void>;
  /** The job's state; throws SageMaker's error (the handler reads "not found" from it). */
  describe(client: SageMakerClient, name: string): Promise<JobState>;
  stop(client: SageMakerClient, name: string): Promise<void>;
  /** Attributes of a completed job (the handler adds gates and checks of its own). */
  completed(state: JobState, name: string): Record<string, string>;
}

const training: JobKind = {
  label: 'Training',
  nameProperty: 'TrainingJobName',
  requestProperty: 'CreateTrainingJobRequest',
  nameAttribute: ATTR.trainingJobName,
  statusAttribute: ATTR.trainingJobStatus,
  waitHint: "Raise the wait limit (trainingTimeoutMinutes) or lower the job's MaxRuntime/MaxWait.",
  attemptSetting: 'trainingAttempt',
  requestName: (request) => request.TrainingJobName,
  locations: (job) => {
    const channels = (job.InputDataConfig ?? []) as { ChannelName?: string; DataSource?: { S3DataSource?: { S3Uri?: string } } }[];
    const output = (job.OutputDataConfig ?? {}) as { S3OutputPath?: string; KmsKeyId?: string };
    return defined({
      RoleArn: job.RoleArn,
      'OutputDataConfig.S3OutputPath': output.S3OutputPath,
      'OutputDataConfig.KmsKeyId': output.KmsKeyId,
      ...Object.fromEntries(channels.map((c) => [`InputDataConfig[${c.ChannelName}].S3Uri`, c.DataSource?.S3DataSource?.S3Uri])),
    });
  },
  async create(client, request) {
    await client.send(new CreateTrainingJobCommand(request as unknown as CreateTrainingJobCommandInput));
  },
  async describe(client, name) {
    const job = await client.send(new DescribeTrainingJobCommand({ TrainingJobName: name }));
    return { status: job.TrainingJobStatus, secondaryStatus: job.SecondaryStatus, failureReason: job.FailureReason, raw: job };
  },
  async stop(client, name) {
    await client.send(new StopTrainingJobCommand({ TrainingJobName: name }));
  },
  completed(state, name) {
    const job = state.raw as DescribeTrainingJobCommandOutput;
    return { [ATTR.trainingJobName]: name, [ATTR.trainingJobArn]: job.TrainingJobArn ?? '', [ATTR.trainingJobStatus]: 'Completed' };
  },
};

const processing: JobKind = {
  label: 'Processing',
  nameProperty: 'ProcessingJobName',
  requestProperty: 'CreateProcessingJobRequest',
  nameAttribute: PROCESSING_ATTR.processingJobName,
  statusAttribute: PROCESSING_ATTR.processingJobStatus,
  waitHint: "Lower the job's MaxRuntimeInSeconds (prepareMaxRuntimeSeconds for prepare): the deploy waits 10 minutes more than it.",
  attemptSetting: 'prepareAttempt',
  requestName: (request) => request.ProcessingJobName,
  locations: (job) => {
    const inputs = (job.ProcessingInputs ?? []) as { InputName?: string; S3Input?: { S3Uri?: string } }[];
    const config = (job.ProcessingOutputConfig ?? {}) as {
      KmsKeyId?: string;
      Outputs?: { OutputName?: string; S3Output?: { S3Uri?: string } }[];
    };
    return defined({
      RoleArn: job.RoleArn,
      'ProcessingOutputConfig.KmsKeyId': config.KmsKeyId,
      ...Object.fromEntries(
        (config.Outputs ?? []).map((o) => [`ProcessingOutputConfig.Outputs[${o.OutputName}].S3Uri`, o.S3Output?.S3Uri]),
      ),
      ...Object.fromEntries(inputs.map((i) => [`ProcessingInputs[${i.InputName}].S3Uri`, i.S3Input?.S3Uri])),
    });
  },
  async create(client, request) {
    await client.send(new CreateProcessingJobCommand(request as unknown as CreateProcessingJobCommandInput));
  },
  async describe(client, name) {
    const job = await client.send(new DescribeProcessingJobCommand({ ProcessingJobName: name }));
    // Processing jobs have no secondary status.
    return { status: job.ProcessingJobStatus, failureReason: job.FailureReason, exitMessage: job.ExitMessage, raw: job };
  },
  async stop(client, name) {
    await client.send(new StopProcessingJobCommand({ ProcessingJobName: name }));
  },
  completed(state, name) {
    const job = state.raw as { ProcessingJobArn?: string; ProcessingInputs?: { InputName?: string; S3Input?: { S3Uri?: string } }[] };
    const approved = job.ProcessingInputs?.find((i) => i.InputName === APPROVED_MODEL_INPUT)?.S3Input?.S3Uri;
    return {
      [PROCESSING_ATTR.processingJobName]: name,
      [PROCESSING_ATTR.processingJobArn]: job.ProcessingJobArn ?? '',
      [PROCESSING_ATTR.processingJobStatus]: 'Completed',
      [PROCESSING_ATTR.exitMessage]: state.exitMessage ?? '',
      // What the registration's gate compares with: read from the job itself, so it is the model the job scored.
      [PROCESSING_ATTR.approvedModelDataUrl]: approved ?? NO_APPROVED_MODEL,
    };
  },
};

/** The members that hold a value, as strings. */
function defined(members: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(members)
      .filter(([, v]) => v !== undefined && v !== null && v !== '')
      .map(([k, v]) => [k, String(v)]),
  );
}

/** The kind of job a resource type runs; unknown types are refused. */
export function jobKind(resourceType: string): JobKind {
  if (resourceType === RESOURCE_TYPE) return training;
  if (resourceType === PROCESSING_RESOURCE_TYPE) return processing;
  throw new Error(`Resource type ${resourceType} is neither ${RESOURCE_TYPE} nor ${PROCESSING_RESOURCE_TYPE}`);
}
