/**
 * The handlers of the TrainingJob and ProcessingJob custom resources, on the aws-cdk-lib Provider framework:
 * `onEvent` starts (or adopts, or stops) the SageMaker job; `isComplete` is polled until the job ends, then
 * returns its attributes (a training job's model artifact and final metrics).
 * The resource type says which kind of job (sagemaker-job-kinds.ts); the rest is the same for every kind.
 *
 * The job name is content-addressed and fixed at synth, so SageMaker's name uniqueness makes every call
 * idempotent: a retried event finds its job (ResourceInUse) and adopts it instead of starting another.
 * Generated bucket names, key and role ARNs are not known at synth, so the name alone cannot tell this
 * deployment's job from an earlier deployment's (after `cdk destroy`, which keeps the old buckets): a job is
 * adopted only when it reads, writes and runs where the request says; otherwise the deploy fails and says
 * which attempt number starts a new job.
 */
import { DescribeTrainingJobCommandOutput, SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';

import { approvedArtifactFor } from './approved-model';
import { finalMetricsOf } from './final-metrics';
import { ApprovedModelLookup, jobNameOf, processingJobRequest } from './job-requests';
import { createWhileRoleAssumable } from './role-propagation';
import { ATTR, JOB_NAME_PATTERN, metricAttribute, Phase } from './sagemaker-job-contract';
import { JobKind, jobKind, JobState } from './sagemaker-job-kinds';

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
  readonly kind: JobKind;
  readonly phase: Phase;
  readonly jobName: string;
  readonly request?: Record<string, unknown>;
  readonly waitSeconds: number;
  readonly finalPhase: boolean;
  /** The attempt number the job name was made with (start phase). */
  readonly attempt?: number;
  /** How to build and name a run that scores the approved model (start phase of an evaluate job). */
  readonly lookup?: ApprovedModelLookup;
}

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
  const kind = jobKind(event.ResourceType);
  if (event.RequestType === 'Delete') {
    // Read leniently: a delete must never get stuck on properties. Only the start phase owns the job.
    // Deleting never removes outputs; it stops a job still running (a rolled-back create, or the job an
    // update replaced while it ran).
    const phase = event.ResourceProperties.Phase;
    log('info', 'event received', {
      requestType: 'Delete',
      requestId: event.RequestId,
      phase,
      physicalResourceId: event.PhysicalResourceId,
    });
    if (phase === 'start') await stopIfRunning(kind, event.PhysicalResourceId);
    return { PhysicalResourceId: event.PhysicalResourceId };
  }

  const props = parseProperties(kind, event.ResourceProperties);
  const context = { requestType: event.RequestType, requestId: event.RequestId, phase: props.phase, [jobField(kind)]: props.jobName };
  log('info', 'event received', context);

  if (props.phase !== 'start') return { PhysicalResourceId: `${props.jobName}/wait`, StartedAt: Date.now() };
  if (props.lookup && event.RequestType === 'Update' && event.OldResourceProperties.ProcessingJobName === props.jobName) {
    // The same candidate (an update of something else, e.g. the handler): its evaluation stands; its registration,
    // one per training job, is not gated again, so a newer approval would buy a job nobody reads.
    log('info', 'processing job unchanged (same inputs); no new job', { ...context, [jobField(kind)]: event.PhysicalResourceId });
    return { PhysicalResourceId: event.PhysicalResourceId, StartedAt: Date.now() };
  }
  // An evaluate job that scores the approved model is named when it starts: the approved version is part of its identity.
  const planned = props.lookup ? await withApprovedModel(props, props.lookup) : props;
  if (event.RequestType === 'Update' && event.PhysicalResourceId === planned.jobName) {
    // Same content-addressed name: nothing that determines the job's output changed. No new job.
    log('info', `${kind.label.toLowerCase()} job unchanged; no new job`, { ...context, [jobField(kind)]: planned.jobName });
  } else {
    await startJob(planned);
  }
  return { PhysicalResourceId: planned.jobName, StartedAt: Date.now() };
}

export async function isComplete(event: IsCompleteRequest): Promise<IsCompleteResponse> {
  if (event.RequestType === 'Delete') return { IsComplete: true };
  const kind = jobKind(event.ResourceType);
  const parsed = parseProperties(kind, event.ResourceProperties);
  // The start phase's job is the one onEvent named (its physical id): with a lookup, not necessarily the synth name.
  const props = parsed.lookup && parsed.phase === 'start' ? { ...parsed, jobName: event.PhysicalResourceId } : parsed;
  const what = `${kind.label} job ${props.jobName}`;
  const job = await describe(kind, props.jobName);
  if (!job) throw new Error(`${what} does not exist in SageMaker`);
  const status = job.status;
  const elapsedSeconds = Math.round((Date.now() - Number(event.StartedAt ?? Date.now())) / 1000);
  log('info', `${kind.label.toLowerCase()} job status`, {
    [jobField(kind)]: props.jobName,
    status,
    secondaryStatus: job.secondaryStatus,
    phase: props.phase,
    elapsedSeconds,
  });

  switch (status) {
    case 'Completed':
      return { IsComplete: true, Data: completedAttributes(job, props) };
    case 'Failed':
      throw new Error(`${what} failed: ${reasonOf(job) ?? 'SageMaker gave no reason'}`);
    case 'Stopped':
      throw new Error(`${what} was stopped before it completed${reasonOf(job) ? `: ${reasonOf(job)}` : ''}`);
    default:
      if (elapsedSeconds < props.waitSeconds) return { IsComplete: false };
      if (!props.finalPhase) {
        // CloudFormation gives one resource at most an hour: hand over to the next wait phase.
        log('info', 'handing over to the next wait phase', { [jobField(kind)]: props.jobName, elapsedSeconds });
        return { IsComplete: true, Data: { [kind.nameAttribute]: props.jobName, [kind.statusAttribute]: String(status) } };
      }
      throw new Error(
        `${what} is still ${status} (${job.secondaryStatus ?? 'no detail'}) after the deploy's wait limit; ` +
          `the deploy rolls back, which stops it. ${kind.waitHint}`,
      );
  }
}

/**
 * The run that also scores the group's newest Approved model (approved-model.ts), named with it; the run as given
 * when there is none (or its artifact is not where the job may read): the gate then uses registered figures.
 */
async function withApprovedModel(props: Properties, lookup: ApprovedModelLookup): Promise<Properties> {
  const { artifact, reason } = await approvedArtifactFor(sagemaker(), lookup.spec.approvedModels!);
  if (!artifact) {
    log('info', 'no approved model to score; the job scores the candidate only', { [jobField(props.kind)]: props.jobName, reason });
    return props;
  }
  const { prefix, inputs, attempt } = lookup.identity;
  const jobName = jobNameOf(prefix, { ...inputs, approvedModel: artifact.modelDataUrl }, attempt);
  const request = processingJobRequest(lookup.spec, { jobName, inputKeys: lookup.inputKeys, approvedModel: artifact.modelDataUrl });
  log('info', 'the job also scores the approved model on the same test rows', {
    [jobField(props.kind)]: jobName,
    approvedModelPackage: artifact.modelPackageArn,
    approvedModelDataUrl: artifact.modelDataUrl,
  });
  return { ...props, jobName, request: request as unknown as Record<string, unknown> };
}

/** The log field naming the job: `trainingJobName` or `processingJobName`. */
function jobField(kind: JobKind): string {
  return `${kind.label.toLowerCase()}JobName`;
}

/** SageMaker's FailureReason, with the container's own message when it left one (prepare does). */
function reasonOf(job: JobState): string | undefined {
  const parts = [job.failureReason, job.exitMessage].filter((p): p is string => !!p && p.trim() !== '');
  return parts.length > 0 ? [...new Set(parts)].join('; ') : undefined;
}

/**
 * Creates the job; when it already exists (a retried event, or a re-deploy of the same inputs), adopts it if it
 * runs as this request says (see checkSameDeployment).
 */
async function startJob(props: Properties): Promise<void> {
  const { kind } = props;
  const what = `${kind.label.toLowerCase()} job ${props.jobName}`;
  if (!props.request) throw new Error(`The start phase needs ${kind.requestProperty}`);
  const request = props.request;
  try {
    // The execution role was created moments ago in this deploy: SageMaker may not see it yet.
    await createWhileRoleAssumable(
      () => kind.create(sagemaker(), request),
      (attempt, delayMs, error) =>
        log('warn', 'SageMaker cannot assume the execution role yet (IAM propagation); trying again', {
          [jobField(kind)]: props.jobName,
          attempt,
          delayMs,
          reason: error.message,
        }),
    );
    log('info', `${kind.label.toLowerCase()} job created`, { [jobField(kind)]: props.jobName });
    return;
  } catch (e) {
    if (!alreadyExists(e)) throw new Error(`SageMaker rejected ${what}: ${messageOf(e)}`);
  }
  const job = await describe(kind, props.jobName);
  if (job) checkSameDeployment(props, props.request, job);
  const status = job?.status;
  if (status === 'InProgress' || status === 'Completed') {
    log('info', `${kind.label.toLowerCase()} job already exists; adopting it`, { [jobField(kind)]: props.jobName, status });
    return;
  }
  // SageMaker never reuses a job name, and the name is a hash of the inputs: the same inputs cannot run twice.
  throw new Error(
    `${kind.label} job ${props.jobName} already ran with these exact inputs and ended ${status ?? 'unknown'}` +
      `${job && reasonOf(job) ? ` (${reasonOf(job)})` : ''}. SageMaker never reuses a job name: change an input, ` +
      `or raise the attempt number (the ${kind.attemptSetting} setting), to run it again.`,
  );
}

/**
 * Fails when the existing job of this name reads, writes or runs elsewhere than the request: it is an earlier
 * deployment's job (its outputs sit in the old bucket, which this deployment's roles cannot read).
 */
function checkSameDeployment(props: Properties, request: Record<string, unknown>, job: JobState): void {
  const { kind } = props;
  const wanted = kind.locations(request);
  const found = kind.locations(job.raw as Record<string, unknown>);
  const same = (a: string | undefined, b: string | undefined) => a?.replace(/\/+$/, '') === b?.replace(/\/+$/, '');
  const differing = [...new Set([...Object.keys(wanted), ...Object.keys(found)])].filter(
    (k) => !same(wanted[k], found[k]) && !(k === 'RoleArn' && sameGeneratedRole(wanted[k], found[k])),
  );
  if (differing.length === 0) return;
  const outputs = Object.entries(found)
    .filter(([k]) => /Output/.test(k) && !/KmsKeyId/.test(k))
    .map(([, v]) => v);
  const details = differing.map((k) => `${k} ${found[k] ?? 'unset'} there, ${wanted[k] ?? 'unset'} here`).join('; ');
  const again =
    props.attempt !== undefined
      ? `\`-c ${kind.attemptSetting}=${props.attempt + 1}\``
      : `a higher ${kind.attemptSetting} than this deployment's (\`-c ${kind.attemptSetting}=<n>\`)`;
  log('warn', `${kind.label.toLowerCase()} job belongs to an earlier deployment; not adopting it`, {
    [jobField(kind)]: props.jobName,
    differing,
  });
  throw new Error(
    `${kind.label} job ${props.jobName} already belongs to a job from an earlier deployment writing to ` +
      `${outputs.join(', ') || 'another location'} (it differs from this deployment's request in ${details}). SageMaker never reuses a job ` +
      `name, and that job's outputs are not this deployment's to use: deploy again with ${again} ` +
      'to run a new job.',
  );
}

/**
 * Whether two role ARNs name the same role resource of the same stack in two of its instances: CloudFormation
 * names a resource it creates from the stack, the resource and a random suffix (its example:
 * `stack123123123123-s3bucket-abcdefghijk1`, https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-name.html),
 * so only the suffix differs when a rolled-back creation is deployed again (say, after a first model that failed
 * the gate). Such a job ran with the same buckets and key (checked beside this), so its outputs are this
 * deployment's to read.
 */
export function sameGeneratedRole(a: string | undefined, b: string | undefined): boolean {
  const family = (arn: string | undefined) => /^(arn:[^:]+:iam::\d{12}:role\/.*-)[A-Za-z0-9]{8,}$/.exec(arn ?? '')?.[1];
  const [fa, fb] = [family(a), family(b)];
  return fa !== undefined && fa === fb;
}

async function stopIfRunning(kind: JobKind, jobName: string): Promise<void> {
  if (!JOB_NAME_PATTERN.test(jobName)) {
    // Not a job name (a create that failed early leaves the framework's default physical id): no job to stop.
    log('info', `no ${kind.label.toLowerCase()} job behind this resource; nothing to stop`, { physicalResourceId: jobName });
    return;
  }
  const job = await describe(kind, jobName);
  if (job?.status !== 'InProgress') {
    log('info', `${kind.label.toLowerCase()} job not running; nothing to stop`, {
      [jobField(kind)]: jobName,
      status: job?.status ?? 'absent',
    });
    return;
  }
  try {
    await kind.stop(sagemaker(), jobName);
    log('info', `${kind.label.toLowerCase()} job stop requested; its outputs are kept`, { [jobField(kind)]: jobName });
  } catch (e) {
    // The job ended between the describe and the stop: nothing left to stop.
    if (errorName(e) !== 'ValidationException') throw e;
    log('warn', `${kind.label.toLowerCase()} job could not be stopped`, { [jobField(kind)]: jobName, reason: messageOf(e) });
  }
}

/** The job, or undefined when SageMaker has none by that name. */
async function describe(kind: JobKind, jobName: string): Promise<JobState | undefined> {
  try {
    return await kind.describe(sagemaker(), jobName);
  } catch (e) {
    const name = errorName(e);
    if (name === 'ResourceNotFound' || (name === 'ValidationException' && /not found/i.test(messageOf(e)))) return undefined;
    throw e;
  }
}

function completedAttributes(state: JobState, props: Properties): Record<string, string> {
  const attributes = props.kind.completed(state, props.jobName);
  if (props.kind.label !== 'Training') {
    log('info', 'processing job completed', { processingJobName: props.jobName, exitMessage: state.exitMessage });
    return attributes;
  }
  const job = state.raw as DescribeTrainingJobCommandOutput;
  const metrics = finalMetricsOf(job.FinalMetricDataList);
  const artifact = job.ModelArtifacts?.S3ModelArtifacts;
  if (!artifact) throw new Error(`Training job ${props.jobName} completed without a model artifact`);
  log('info', 'training job completed', { trainingJobName: props.jobName, modelDataUrl: artifact, metrics });
  return {
    ...attributes,
    [ATTR.modelDataUrl]: artifact,
    [ATTR.finalMetrics]: JSON.stringify(metrics),
    ...Object.fromEntries(Object.entries(metrics).map(([name, value]) => [metricAttribute(name), String(value)])),
  };
}

/** Reads and checks the resource properties (scalars arrive as strings). */
function parseProperties(kind: JobKind, raw: Record<string, unknown>): Properties {
  const p = raw as Record<string, string | undefined>;
  const name = p[kind.nameProperty];
  if (p.Phase !== 'start' && p.Phase !== 'wait') throw new Error(`Phase must be start or wait, not ${String(p.Phase)}`);
  if (typeof name !== 'string' || !JOB_NAME_PATTERN.test(name)) {
    throw new Error(`${kind.nameProperty} ${String(name)} does not match ${JOB_NAME_PATTERN}`);
  }
  const waitSeconds = Number(p.WaitSeconds);
  if (!Number.isFinite(waitSeconds) || waitSeconds <= 0)
    throw new Error(`WaitSeconds must be a positive number, not ${String(p.WaitSeconds)}`);
  const json = p[kind.requestProperty];
  const request = json ? (JSON.parse(json) as Record<string, unknown>) : undefined;
  if (request && kind.requestName(request) !== name) {
    throw new Error(`${kind.requestProperty} names ${String(kind.requestName(request))}, not ${name}`);
  }
  const lookup = p.ApprovedModelLookup ? (JSON.parse(p.ApprovedModelLookup) as ApprovedModelLookup) : undefined;
  if (lookup) {
    if (!lookup.spec?.approvedModels || !lookup.identity?.inputs || !lookup.inputKeys)
      throw new Error('ApprovedModelLookup needs spec.approvedModels, inputKeys and identity');
    // The lookup must name the same job as the request when there is no approved model: one identity, two runs.
    const unscored = jobNameOf(lookup.identity.prefix, lookup.identity.inputs, lookup.identity.attempt);
    if (unscored !== name) throw new Error(`ApprovedModelLookup's identity names ${unscored}, not ${name}`);
  }
  return {
    kind,
    phase: p.Phase,
    jobName: name,
    request,
    waitSeconds,
    finalPhase: String(p.FinalPhase) === 'true',
    attempt: p.Attempt !== undefined && /^[0-9]+$/.test(p.Attempt) ? Number(p.Attempt) : undefined,
    lookup,
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
