/**
 * The TrainingJob custom resource's handlers, on the aws-cdk-lib Provider framework: `onEvent` starts (or
 * adopts, or stops) the SageMaker training job; `isComplete` is polled until the job ends, then applies the
 * quality gate and returns the model artifact and final metrics.
 *
 * The job name is content-addressed and fixed at synth, so SageMaker's name uniqueness makes every call
 * idempotent: a retried event finds its job (ResourceInUse) and adopts it instead of starting another.
 */
import {
  CreateTrainingJobCommand, CreateTrainingJobCommandInput, DescribeTrainingJobCommand, DescribeTrainingJobCommandOutput,
  SageMakerClient, StopTrainingJobCommand,
} from '@aws-sdk/client-sagemaker';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { ATTR, JOB_NAME_PATTERN, Phase, QualityGate, TrainingJobResourceProperties, metricAttribute } from './training-job-contract';

/** What the Provider framework passes `onEvent`: the CloudFormation event (ResponseURL withheld). */
export type OnEventRequest = CloudFormationCustomResourceEvent;

/** What `onEvent` returns; the extra fields reach `isComplete`. */
export interface OnEventResponse {
  readonly PhysicalResourceId: string;
  /** When this phase began to wait (epoch ms): its deadline counts from here. */
  readonly StartedAt?: number;
  readonly Data?: Record<string, string>;
}

/** What the Provider framework passes `isComplete`: the event merged with `onEvent`'s response. */
export type IsCompleteRequest = OnEventRequest & OnEventResponse;

export interface IsCompleteResponse {
  readonly IsComplete: boolean;
  readonly Data?: Record<string, string>;
}

interface Properties {
  readonly phase: Phase;
  readonly jobName: string;
  readonly request?: CreateTrainingJobCommandInput;
  readonly waitSeconds: number;
  readonly finalPhase: boolean;
  readonly gate?: QualityGate;
}

type Job = DescribeTrainingJobCommandOutput;

let client: SageMakerClient | undefined;
/** One client per container; the endpoint comes from the environment (AWS_ENDPOINT_URL_SAGEMAKER in tests). */
function sagemaker(): SageMakerClient {
  client ??= new SageMakerClient({});
  return client;
}

/** One structured log record: Lambda's JSON log format keeps a logged object as the record's `message`, with level and request id. */
function log(level: 'info' | 'warn', message: string, fields: Record<string, unknown> = {}): void {
  console[level]({ message, ...fields });
}

export async function onEvent(event: OnEventRequest): Promise<OnEventResponse> {
  if (event.RequestType === 'Delete') {
    // Read leniently: a delete must never get stuck on properties. Only the start phase owns the job.
    // Deleting never removes artifacts; it stops a job still running (a rolled-back create, or the job an
    // update replaced while it ran).
    const phase = event.ResourceProperties.Phase;
    log('info', 'event received', { requestType: 'Delete', requestId: event.RequestId, phase, physicalResourceId: event.PhysicalResourceId });
    if (phase === 'start') await stopIfRunning(event.PhysicalResourceId);
    return { PhysicalResourceId: event.PhysicalResourceId };
  }

  const props = parseProperties(event.ResourceProperties);
  const context = { requestType: event.RequestType, requestId: event.RequestId, phase: props.phase, trainingJobName: props.jobName };
  log('info', 'event received', context);

  const physicalId = props.phase === 'start' ? props.jobName : `${props.jobName}/wait`;
  if (props.phase === 'start') {
    if (event.RequestType === 'Update' && event.PhysicalResourceId === props.jobName) {
      // Same content-addressed name: nothing that determines the model changed. No new job.
      log('info', 'training job unchanged; no new job', context);
    } else {
      await startJob(props);
    }
  }
  return { PhysicalResourceId: physicalId, StartedAt: Date.now() };
}

export async function isComplete(event: IsCompleteRequest): Promise<IsCompleteResponse> {
  if (event.RequestType === 'Delete') return { IsComplete: true };
  const props = parseProperties(event.ResourceProperties);
  const job = await describe(props.jobName);
  if (!job) throw new Error(`Training job ${props.jobName} does not exist in SageMaker`);
  const status = job.TrainingJobStatus;
  const elapsedSeconds = Math.round((Date.now() - Number(event.StartedAt ?? Date.now())) / 1000);
  log('info', 'training job status', {
    trainingJobName: props.jobName, status, secondaryStatus: job.SecondaryStatus, phase: props.phase, elapsedSeconds,
  });

  switch (status) {
    case 'Completed':
      return { IsComplete: true, Data: completedAttributes(job, props) };
    case 'Failed':
      throw new Error(`Training job ${props.jobName} failed: ${job.FailureReason ?? 'SageMaker gave no reason'}`);
    case 'Stopped':
      throw new Error(`Training job ${props.jobName} was stopped before it completed${job.FailureReason ? `: ${job.FailureReason}` : ''}`);
    default:
      if (elapsedSeconds < props.waitSeconds) return { IsComplete: false };
      if (!props.finalPhase) {
        // CloudFormation gives one resource at most an hour: hand over to the next wait phase.
        log('info', 'handing over to the next wait phase', { trainingJobName: props.jobName, elapsedSeconds });
        return { IsComplete: true, Data: { [ATTR.trainingJobName]: props.jobName, [ATTR.trainingJobStatus]: String(status) } };
      }
      throw new Error(
        `Training job ${props.jobName} is still ${status} (${job.SecondaryStatus ?? 'no detail'}) after the deploy's wait limit; `
        + 'the deploy rolls back, which stops it. Raise the wait limit (trainingTimeoutMinutes) or lower the job\'s '
        + 'MaxRuntime/MaxWait.',
      );
  }
}

/** Creates the job; when it already exists (a retried event, or a re-deploy of the same inputs), adopts it. */
async function startJob(props: Properties): Promise<void> {
  if (!props.request) throw new Error('The start phase needs CreateTrainingJobRequest');
  try {
    await sagemaker().send(new CreateTrainingJobCommand(props.request));
    log('info', 'training job created', { trainingJobName: props.jobName });
    return;
  } catch (e) {
    if (!alreadyExists(e)) throw new Error(`SageMaker rejected training job ${props.jobName}: ${messageOf(e)}`);
  }
  const job = await describe(props.jobName);
  const status = job?.TrainingJobStatus;
  if (status === 'InProgress' || status === 'Completed') {
    log('info', 'training job already exists; adopting it', { trainingJobName: props.jobName, status });
    return;
  }
  // SageMaker never reuses a job name, and the name is a hash of the inputs: the same inputs cannot run twice.
  throw new Error(
    `Training job ${props.jobName} already ran with these exact inputs and ended ${status ?? 'unknown'}`
    + `${job?.FailureReason ? ` (${job.FailureReason})` : ''}. SageMaker never reuses a job name: change an input, `
    + 'or raise the attempt number (the trainingAttempt setting), to run it again.',
  );
}

async function stopIfRunning(jobName: string): Promise<void> {
  if (!JOB_NAME_PATTERN.test(jobName)) {
    // Not a job name (a create that failed early leaves the framework's default physical id): no job to stop.
    log('info', 'no training job behind this resource; nothing to stop', { physicalResourceId: jobName });
    return;
  }
  const job = await describe(jobName);
  if (job?.TrainingJobStatus !== 'InProgress') {
    log('info', 'training job not running; nothing to stop', { trainingJobName: jobName, status: job?.TrainingJobStatus ?? 'absent' });
    return;
  }
  try {
    await sagemaker().send(new StopTrainingJobCommand({ TrainingJobName: jobName }));
    log('info', 'training job stop requested; its artifacts and checkpoints are kept', { trainingJobName: jobName });
  } catch (e) {
    // The job ended between the describe and the stop: nothing left to stop.
    if (errorName(e) !== 'ValidationException') throw e;
    log('warn', 'training job could not be stopped', { trainingJobName: jobName, reason: messageOf(e) });
  }
}

/** The job, or undefined when SageMaker has none by that name. */
async function describe(jobName: string): Promise<Job | undefined> {
  try {
    return await sagemaker().send(new DescribeTrainingJobCommand({ TrainingJobName: jobName }));
  } catch (e) {
    const name = errorName(e);
    if (name === 'ResourceNotFound' || (name === 'ValidationException' && /not found/i.test(messageOf(e)))) return undefined;
    throw e;
  }
}

function completedAttributes(job: Job, props: Properties): Record<string, string> {
  const metrics: Record<string, number> = {};
  for (const m of job.FinalMetricDataList ?? []) {
    if (m.MetricName !== undefined && m.Value !== undefined) metrics[m.MetricName] = m.Value;
  }
  if (props.gate) checkQualityGate(props.jobName, props.gate, metrics);

  const artifact = job.ModelArtifacts?.S3ModelArtifacts;
  if (!artifact) throw new Error(`Training job ${props.jobName} completed without a model artifact`);
  log('info', 'training job completed', { trainingJobName: props.jobName, modelDataUrl: artifact, metrics });
  return {
    [ATTR.trainingJobName]: props.jobName,
    [ATTR.trainingJobArn]: job.TrainingJobArn ?? '',
    [ATTR.trainingJobStatus]: 'Completed',
    [ATTR.modelDataUrl]: artifact,
    [ATTR.finalMetrics]: JSON.stringify(metrics),
    ...Object.fromEntries(Object.entries(metrics).map(([name, value]) => [metricAttribute(name), String(value)])),
  };
}

function checkQualityGate(jobName: string, gate: QualityGate, metrics: Record<string, number>): void {
  const value = metrics[gate.metric];
  if (value === undefined) {
    const reported = Object.keys(metrics).join(', ') || 'none';
    throw new Error(
      `Quality gate: training job ${jobName} reported no final ${gate.metric} (final metrics: ${reported}); `
      + `the model was not deployed. Check that the job has a test channel and prints "${gate.metric}=<value>;".`,
    );
  }
  if (value < gate.minimum) {
    throw new Error(
      `Quality gate failed: training job ${jobName} reached ${gate.metric} ${value}, below the minimum ${gate.minimum}; `
      + 'the model was not deployed and the current one keeps serving.',
    );
  }
  log('info', 'quality gate passed', { trainingJobName: jobName, metric: gate.metric, value, minimum: gate.minimum });
}

/** Reads and checks the resource properties (scalars arrive as strings). */
function parseProperties(raw: Record<string, unknown>): Properties {
  const p = raw as unknown as TrainingJobResourceProperties;
  if (p.Phase !== 'start' && p.Phase !== 'wait') throw new Error(`Phase must be start or wait, not ${String(p.Phase)}`);
  if (typeof p.TrainingJobName !== 'string' || !JOB_NAME_PATTERN.test(p.TrainingJobName)) {
    throw new Error(`TrainingJobName ${String(p.TrainingJobName)} does not match ${JOB_NAME_PATTERN}`);
  }
  const waitSeconds = Number(p.WaitSeconds);
  if (!Number.isFinite(waitSeconds) || waitSeconds <= 0) throw new Error(`WaitSeconds must be a positive number, not ${String(p.WaitSeconds)}`);
  const request = p.CreateTrainingJobRequest ? JSON.parse(p.CreateTrainingJobRequest) as CreateTrainingJobCommandInput : undefined;
  if (request && request.TrainingJobName !== p.TrainingJobName) {
    throw new Error(`CreateTrainingJobRequest names ${request.TrainingJobName}, not ${p.TrainingJobName}`);
  }
  return {
    phase: p.Phase,
    jobName: p.TrainingJobName,
    request,
    waitSeconds,
    finalPhase: String(p.FinalPhase) === 'true',
    gate: p.QualityGate ? JSON.parse(p.QualityGate) as QualityGate : undefined,
  };
}

function alreadyExists(e: unknown): boolean {
  const name = errorName(e);
  return name === 'ResourceInUse' || (name === 'ValidationException' && /already exists|must be unique/i.test(messageOf(e)));
}

function errorName(e: unknown): string {
  return e instanceof Error ? e.name : '';
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
