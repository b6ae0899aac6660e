/**
 * The retraining pipeline's own steps (the jobs themselves are Step Functions' SageMaker .sync tasks):
 * - `plan`: at most one run at a time (an earlier run in progress wins: this one ends, with a log line), names
 *   the prepare job after the raw data's listing, and builds its request;
 * - `fingerprint`: reads the prepared data's content hash (prepare's data.sha256), names the training job after it
 *   (with image, hyperparameters and instance settings), and finds a registered version of that job (or the deploy's
 *   version of the same model): the run then ends early; otherwise builds the training and evaluation requests;
 * - `register`: the gate and the registration of the deploy (model-registration.handler.ts's gateAndRegister).
 * Every request and name comes from runtime/job-requests.ts (through retraining-jobs.ts), as the deploy's custom
 * resources' do.
 */
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeModelPackageCommand,
  DescribeProcessingJobCommand,
  DescribeTrainingJobCommand,
  ListModelPackagesCommand,
  ModelPackageSummary,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { createHash } from 'crypto';

import { approvedArtifactFor } from './approved-model';
import { finalMetricsOf } from './final-metrics';
import { processingOutputPrefix } from './job-requests';
import { findVersion, gateAndRegister } from './model-registration.handler';
import { ModelRegistrationProperties, NO_APPROVED_VERSION } from './model-registration-contract';
import { ABSENT, COMPLETION_MARKER, FingerprintResult, PipelineConfig, PlanResult, RegisterResult } from './retraining-contract';
import { prepareJob, trainingJobs } from './retraining-jobs';

export interface PlanEvent {
  readonly step: 'plan';
  readonly config: PipelineConfig;
  /** From the context object: `$$.Execution.Id`, `$$.Execution.StartTime`, `$$.StateMachine.Id`. */
  readonly execution: { readonly id: string; readonly startTime: string; readonly stateMachine: string };
}
export interface FingerprintEvent {
  readonly step: 'fingerprint';
  readonly config: PipelineConfig;
  readonly prepareName: string;
}
export interface RegisterEvent {
  readonly step: 'register';
  readonly config: PipelineConfig;
  readonly prepareName: string;
  readonly trainName: string;
  readonly evaluateName: string;
  /** The approved model's artifact the evaluate job scored, or {@link NO_APPROVED_VERSION}. */
  readonly approvedModel: string;
}
export type StepEvent = PlanEvent | FingerprintEvent | RegisterEvent;

/** An error the state machine names in its Fail state (Step Functions uses the error's name). */
class PipelineError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

let clients: { s3: S3Client; sagemaker: SageMakerClient; sfn: SFNClient } | undefined;
function aws() {
  clients ??= { s3: new S3Client({}), sagemaker: new SageMakerClient({}), sfn: new SFNClient({}) };
  return clients;
}

function log(message: string, fields: Record<string, unknown> = {}): void {
  console.info(JSON.stringify({ message, ...fields }));
}

export async function onStep(event: StepEvent): Promise<PlanResult | FingerprintResult | RegisterResult> {
  switch (event.step) {
    case 'plan':
      return plan(event);
    case 'fingerprint':
      return fingerprint(event);
    case 'register':
      return register(event);
    default:
      throw new PipelineError('UnknownStep', `unknown step ${String((event as { step?: unknown }).step)}`);
  }
}

async function plan(event: PlanEvent): Promise<PlanResult> {
  const running = await earlierRun(event.execution);
  if (running) {
    // Dropped, not queued: the run in progress reads the data as it is when its prepare job starts; a trigger
    // for data that lands after that starts the next run (docs/retraining.md).
    log('another retraining run is in progress; this trigger is dropped', { execution: event.execution.id, running });
    return { busy: true, runningExecution: running };
  }
  const { config } = event;
  const rawDigest = await listingDigest(config.raw.bucket, config.raw.key);
  const { name, request } = prepareJob(config, rawDigest);
  const status = await processingStatus(name);
  log('planned', { rawDigest, prepareJob: name, status });
  return { busy: false, rawDigest, prepare: { name, request, status } };
}

async function fingerprint(event: FingerprintEvent): Promise<FingerprintResult> {
  const { config, prepareName } = event;
  const prepared = (output: string) => processingOutputPrefix(config.prepare.spec, prepareName, output);
  const dataHash = await readHash(config.prepare.spec.outputBucketName, `${prepared('report')}data.sha256`);
  const approved = await approvedModelOf(config.evaluate.spec);
  const { train, evaluate: job } = trainingJobs(config, prepareName, dataHash, approved);
  const trainName = train.name;
  const evaluate = { ...job, approvedModel: approved ?? NO_APPROVED_VERSION };

  const existing =
    (await findVersion(config.registration.ModelPackageGroupName, trainName)) ?? (await sameModelOfTheDeploy(config, dataHash));
  if (existing) {
    const version = {
      arn: existing.ModelPackageArn!,
      number: existing.ModelPackageVersion ?? 0,
      status: String(existing.ModelApprovalStatus),
    };
    log('unchanged: a registered version has this fingerprint; nothing to train', { fingerprint: trainName, dataHash, version });
    return {
      dataHash,
      fingerprint: trainName,
      registered: true,
      version,
      train: { ...train, status: 'Registered' },
      evaluate: { ...evaluate, status: 'Registered' },
    };
  }
  const [trainStatus, evaluateStatus] = await Promise.all([trainingStatus(trainName), processingStatus(evaluate.name)]);
  log('fingerprinted', { fingerprint: trainName, dataHash, trainStatus, evaluateStatus });
  return {
    dataHash,
    fingerprint: trainName,
    registered: false,
    train: { ...train, status: trainStatus },
    evaluate: { ...evaluate, status: evaluateStatus },
  };
}

/**
 * A version the deploy registered for the same model: the deploy names its data by the dataVersion label, not by
 * content, so its training job has another name. Same image (code hash), same prepared content (its prepare job's
 * data.sha256), same hyperparameters and instances (its training job): the same model. The newest versions only.
 */
async function sameModelOfTheDeploy(config: PipelineConfig, dataHash: string): Promise<ModelPackageSummary | undefined> {
  const page = await aws().sagemaker.send(
    new ListModelPackagesCommand({
      ModelPackageGroupName: config.registration.ModelPackageGroupName,
      SortBy: 'CreationTime',
      SortOrder: 'Descending',
      MaxResults: 20,
    }),
  );
  for (const summary of page.ModelPackageSummaryList ?? []) {
    const described = await aws().sagemaker.send(new DescribeModelPackageCommand({ ModelPackageName: summary.ModelPackageArn }));
    const metadata = described.CustomerMetadataProperties ?? {};
    if (metadata.code_hash !== config.registration.CodeHash || !metadata.data_identity || !metadata.training_job) continue;
    const hashKey = `${processingOutputPrefix(config.prepare.spec, metadata.data_identity, 'report')}data.sha256`;
    const theirHash = await readHash(config.prepare.spec.outputBucketName, hashKey).catch(() => undefined);
    if (theirHash !== dataHash) continue;
    const job = await aws().sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: metadata.training_job }));
    const spec = config.train.spec;
    if (
      JSON.stringify(sorted(job.HyperParameters ?? {})) === JSON.stringify(sorted(spec.hyperparameters)) &&
      job.ResourceConfig?.InstanceType === spec.instanceType &&
      job.ResourceConfig?.InstanceCount === spec.instanceCount
    ) {
      return summary;
    }
  }
  return undefined;
}

function sorted(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}

async function register(event: RegisterEvent): Promise<RegisterResult> {
  const { config, prepareName, trainName, evaluateName, approvedModel } = event;
  const job = await aws().sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: trainName }));
  const artifact = job.ModelArtifacts?.S3ModelArtifacts;
  if (job.TrainingJobStatus !== 'Completed' || !artifact) {
    throw new PipelineError(
      'TrainingNotCompleted',
      `Training job ${trainName} is ${job.TrainingJobStatus ?? 'unknown'}, without a model artifact to register`,
    );
  }
  const dataBucket = config.prepare.spec.outputBucketName;
  const properties: ModelRegistrationProperties = {
    ...config.registration,
    TrainingJobName: trainName,
    ModelDataUrl: artifact,
    FinalMetrics: JSON.stringify(finalMetricsOf(job.FinalMetricDataList)),
    DataIdentity: prepareName,
    DataReportUri: `s3://${dataBucket}/${processingOutputPrefix(config.prepare.spec, prepareName, 'report')}data-report.json`,
    EvaluationUri: `s3://${config.evaluate.spec.outputBucketName}/${processingOutputPrefix(config.evaluate.spec, evaluateName, 'evaluation')}evaluation.json`,
    ApprovedModelDataUrl: approvedModel,
  };
  const { version, reason, created } = await gateAndRegister(properties);
  const result = {
    modelPackageArn: version.ModelPackageArn!,
    modelPackageVersion: version.ModelPackageVersion ?? 0,
    status: String(version.ModelApprovalStatus),
    reason,
    created,
  };
  log('registered', { trainingJob: trainName, ...result });
  return result;
}

/** The earliest other run of this state machine in progress that started before this one, if any. */
async function earlierRun(execution: PlanEvent['execution']): Promise<string | undefined> {
  const mine = Date.parse(execution.startTime);
  let nextToken: string | undefined;
  do {
    const page = await aws().sfn.send(
      new ListExecutionsCommand({ stateMachineArn: execution.stateMachine, statusFilter: 'RUNNING', nextToken }),
    );
    for (const other of page.executions ?? []) {
      if (other.executionArn === execution.id || !other.startDate) continue;
      const started = other.startDate.getTime();
      // Two runs started in the same millisecond: the smaller ARN goes on, so exactly one of them does.
      if (started < mine || (started === mine && other.executionArn! < execution.id)) return other.executionArn;
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return undefined;
}

/**
 * SHA-256 of the raw data's listing: every object's key, ETag and size under `key` (one file when it ends in .csv),
 * without completion markers. It names the prepare job, so an unchanged upload prepares nothing again; the
 * fingerprint that decides whether to train is the prepared data's own content hash.
 */
async function listingDigest(bucket: string, key: string): Promise<string> {
  const entries: string[] = [];
  let token: string | undefined;
  do {
    const page = await aws().s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key, ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      const base = o.Key!.slice(o.Key!.lastIndexOf('/') + 1);
      if (base === COMPLETION_MARKER || o.Key!.endsWith('/')) continue;
      entries.push(`${o.Key}\0${o.ETag}\0${o.Size}`);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  if (entries.length === 0) throw new PipelineError('NoData', `s3://${bucket}/${key} holds no data to prepare`);
  return createHash('sha256').update(entries.sort().join('\n')).digest('hex');
}

async function readHash(bucket: string, key: string): Promise<string> {
  const object = await aws().s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const text = (await object.Body!.transformToString()).trim();
  if (!/^[0-9a-f]{64}$/.test(text)) throw new PipelineError('NoDataHash', `s3://${bucket}/${key} holds no SHA-256 (prepare writes one)`);
  return text;
}

/** The approved model this run's evaluate job scores (approved-model.ts), or undefined, with a log line saying why. */
async function approvedModelOf(spec: PipelineConfig['evaluate']['spec']): Promise<string | undefined> {
  if (!spec.approvedModels) return undefined;
  const { artifact, reason } = await approvedArtifactFor(aws().sagemaker, spec.approvedModels);
  log(artifact ? 'the evaluate job scores the approved model on the same test rows' : 'no approved model to score', { reason });
  return artifact?.modelDataUrl;
}

async function processingStatus(name: string): Promise<string> {
  return status(() =>
    aws()
      .sagemaker.send(new DescribeProcessingJobCommand({ ProcessingJobName: name }))
      .then((j) => j.ProcessingJobStatus),
  );
}

async function trainingStatus(name: string): Promise<string> {
  return status(() =>
    aws()
      .sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: name }))
      .then((j) => j.TrainingJobStatus),
  );
}

/** The job's status, or ABSENT when SageMaker knows no job of that name. */
async function status(describe: () => Promise<string | undefined>): Promise<string> {
  try {
    return (await describe()) ?? ABSENT;
  } catch (e) {
    // DescribeProcessingJob answers an unknown job with ResourceNotFound, DescribeTrainingJob with
    // ValidationException "Requested resource not found" (as sagemaker-job.handler.ts reads them).
    if (e instanceof Error && (e.name === 'ResourceNotFound' || (e.name === 'ValidationException' && /not found/i.test(e.message))))
      return ABSENT;
    throw e;
  }
}
