/**
 * A local stand-in for the SageMaker API's training-job, processing-job and model-package operations, on
 * 127.0.0.1 and a free port, for the unmodified AWS SDK client (point it here with AWS_ENDPOINT_URL_SAGEMAKER).
 *
 * It speaks SageMaker's protocol (awsJson1_1: `POST /`, `X-Amz-Target: SageMaker.<Operation>`, JSON bodies,
 * errors as `{"__type": ..., "message": ...}` with HTTP 400), checks requests the way SageMaker does (a signed
 * request; every member against SageMaker's published API model, botocore's sagemaker service-2.json from the
 * project venv; then the spot and volume-key rules no schema carries) and keeps jobs whose life a test
 * scripts: each Describe{Training,Processing}Job returns the job's current state and moves it one step along its script.
 * moto's SageMaker completes every job at once and cannot fail or stop one, which is what the tests need.
 * Model packages live in groups (made by the test, or through CreateModelPackageGroup as CloudFormation would), numbered
 * 1, 2, ... as SageMaker does; what deleting a group that holds versions does is a setting (nonEmptyGroupDeletion).
 */
import * as http from 'http';
import { AddressInfo } from 'net';

import { supportsVolumeKms } from '../../constructs/instance-types';
import { loadServiceModel } from '../../local/api-model/service-model';
import { recordCheckedRequest, validateInput, validationMessage } from '../../local/api-model/validate-input';

/** One state of a scripted job. */
export interface JobStep {
  readonly status: 'InProgress' | 'Completed' | 'Failed' | 'Stopping' | 'Stopped';
  readonly secondaryStatus?: string;
  readonly failureReason?: string;
  /** Processing jobs: the container's message (its /opt/ml/output/message). */
  readonly exitMessage?: string;
  /** Final metrics, reported once the job has Completed. */
  readonly finalMetrics?: Record<string, number>;
}

/** A job as the stand-in keeps it. */
export interface StandinJob {
  readonly name: string;
  readonly arn: string;
  /** The CreateTrainingJob request, as received. */
  readonly request: Record<string, unknown>;
  /** Remaining script; the first step is the current state. */
  steps: JobStep[];
  readonly createdAt: number;
}

/** A request the stand-in answered. */
export interface StandinCall {
  readonly operation: string;
  readonly body: Record<string, unknown>;
  readonly status: number;
}

const ACCOUNT = '123456789012';
const API_MODEL = loadServiceModel('sagemaker');
const OPERATIONS = [
  'CreateTrainingJob',
  'DescribeTrainingJob',
  'StopTrainingJob',
  'CreateProcessingJob',
  'DescribeProcessingJob',
  'StopProcessingJob',
  'CreateModelPackage',
  'ListModelPackages',
  'DescribeModelPackage',
  'UpdateModelPackage',
  'CreateModelPackageGroup',
  'DescribeModelPackageGroup',
  'DeleteModelPackageGroup',
] as const;

/**
 * What DeleteModelPackageGroup does to a group that still holds versions. SageMaker does not document it (the API
 * reference says "Deletes the specified model group", and botocore's model lists ConflictException as its only
 * error), so tests run both answers: `refuse` answers ConflictException, `delete` removes the group and its versions.
 */
export type NonEmptyGroupDeletion = 'refuse' | 'delete';

/** A model package version as the stand-in keeps it. */
export interface StandinModelPackage {
  readonly arn: string;
  readonly group: string;
  readonly version: number;
  /** The CreateModelPackage request, as received. */
  readonly request: Record<string, unknown>;
  status: string;
  approvalDescription?: string;
  readonly createdAt: number;
}

/** An error SageMaker answers: `type` is the exception's name (`__type`), the message its message. */
export class ApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** The default script of a new job: starting, training, then completed with a good test accuracy. */
export const COMPLETES: JobStep[] = [
  { status: 'InProgress', secondaryStatus: 'Starting' },
  { status: 'InProgress', secondaryStatus: 'Training' },
  {
    status: 'Completed',
    secondaryStatus: 'Completed',
    finalMetrics: { train_loss: 0.05, validation_accuracy: 0.97, test_accuracy: 0.975 },
  },
];

/** A script that completes with COMPLETES' final metrics, these ones changed (e.g. a test accuracy under the gate). */
export function completesWith(metrics: Record<string, number>): JobStep[] {
  return [{ status: 'InProgress' }, { status: 'Completed', finalMetrics: { ...COMPLETES[2].finalMetrics, ...metrics } }];
}

export class SageMakerStandin {
  /** Every request answered, in order. */
  readonly calls: StandinCall[] = [];
  private readonly jobs = new Map<string, StandinJob>();
  private readonly processingJobs = new Map<string, StandinJob>();
  private readonly groups = new Map<string, StandinModelPackage[]>();
  private readonly clientTokens = new Map<string, StandinModelPackage>();
  private clock = 0;
  private server?: http.Server;
  private region = 'eu-west-1';
  /** The script the next created job follows. */
  nextScript: JobStep[] = COMPLETES;
  /** What deleting a group that holds versions does (see {@link NonEmptyGroupDeletion}). */
  nonEmptyGroupDeletion: NonEmptyGroupDeletion = 'refuse';
  /** Roles SageMaker cannot assume yet, with how many more Create calls naming them it refuses. */
  private readonly unassumableRoles = new Map<string, number>();

  /** Starts listening on 127.0.0.1 and a free port; returns the endpoint URL. */
  async start(region = 'eu-west-1'): Promise<string> {
    this.region = region;
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** The job of that name (throws when there is none). */
  job(name: string): StandinJob {
    const job = this.jobs.get(name);
    if (!job) throw new Error(`the stand-in has no job ${name}`);
    return job;
  }

  /** The processing job of that name (throws when there is none). */
  processingJob(name: string): StandinJob {
    const job = this.processingJobs.get(name);
    if (!job) throw new Error(`the stand-in has no processing job ${name}`);
    return job;
  }

  /** Creates an empty Model Package Group (CloudFormation's job in a deployed app). */
  addModelPackageGroup(name: string): void {
    this.groups.set(name, []);
  }

  /** Whether a group of that name exists. */
  hasModelPackageGroup(name: string): boolean {
    return this.groups.has(name);
  }

  /** The versions of a group, oldest first. */
  modelPackages(group: string): StandinModelPackage[] {
    const versions = this.groups.get(group);
    if (!versions) throw new Error(`the stand-in has no model package group ${group}`);
    return versions;
  }

  /** A person's approval or rejection (aws sagemaker update-model-package). */
  setApproval(arn: string, status: string): void {
    const pkg = [...this.groups.values()].flat().find((p) => p.arn === arn);
    if (!pkg) throw new Error(`the stand-in has no model package ${arn}`);
    pkg.status = status;
  }

  /**
   * Plays a role IAM has not propagated yet: the next `refusals` CreateTrainingJob/CreateProcessingJob calls
   * naming `roleArn` get SageMaker's ValidationException "Could not assume role ..." (Infinity: always).
   */
  refuseRole(roleArn: string, refusals: number): void {
    this.unassumableRoles.set(roleArn, refusals);
  }

  /** Puts a job in place as if an earlier deploy had created it. */
  seed(request: Record<string, unknown>, steps: JobStep[]): StandinJob {
    return this.create(request, steps);
  }

  /** Replaces the rest of a job's script. */
  script(name: string, steps: JobStep[]): void {
    this.job(name).steps = [...steps];
  }

  /** The operations called, in order (e.g. ['CreateTrainingJob', 'DescribeTrainingJob']). */
  operations(): string[] {
    return this.calls.map((c) => c.operation);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.replace(/^SageMaker\./, '');
    let body: Record<string, unknown> = {};
    let status = 200;
    let answer: unknown;
    try {
      if (req.method !== 'POST' || req.url !== '/')
        throw new ApiError('UnknownOperationException', `No operation at ${req.method} ${req.url}`, 404);
      if (!String(req.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 Credential=')) {
        throw new ApiError('MissingAuthenticationTokenException', 'Missing Authentication Token', 403);
      }
      if (req.headers['content-type'] !== 'application/x-amz-json-1.1')
        throw new ApiError('SerializationException', 'Expected application/x-amz-json-1.1');
      if (!target.startsWith('SageMaker.')) throw new ApiError('UnknownOperationException', `Unknown operation ${target}`);
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      } catch {
        throw new ApiError('SerializationException', 'Request body is not valid JSON');
      }
      answer = this.answer(operation, body);
    } catch (e) {
      const error = e instanceof ApiError ? e : new ApiError('InternalFailure', String(e), 500);
      status = error.status;
      answer = { __type: error.type, message: error.message };
    }
    this.calls.push({ operation, body, status });
    const text = JSON.stringify(answer);
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.1',
      'x-amzn-requestid': `standin-${this.calls.length}`,
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  }

  /**
   * Answers one request without HTTP, checked as over HTTP (SageMaker's API model, then the stand-in's rules), for a
   * caller that is not an SDK client: a Step Functions AWS SDK integration run locally. Throws an ApiError as SageMaker
   * answers one. Not recorded in `calls` (those are the HTTP requests).
   */
  answer(operation: string, body: Record<string, unknown>): unknown {
    if (!(OPERATIONS as readonly string[]).includes(operation))
      throw new ApiError('UnknownOperationException', `Unknown operation SageMaker.${operation}`);
    const violations = validateInput(API_MODEL, operation, body);
    recordCheckedRequest(API_MODEL, operation, violations);
    if (violations.length > 0) throw new ApiError('ValidationException', validationMessage(violations));
    return this.dispatch(operation, body);
  }

  private dispatch(operation: string, body: Record<string, unknown>): unknown {
    switch (operation) {
      case 'CreateTrainingJob': {
        validateCreate(body);
        this.assumeRole(body.RoleArn as string);
        const name = body.TrainingJobName as string;
        const existing = this.jobs.get(name);
        if (existing) {
          throw new ApiError(
            'ResourceInUse',
            `Training job names must be unique within an AWS account and region, and a training job with this name already exists (${existing.arn})`,
          );
        }
        return { TrainingJobArn: this.create(body, this.nextScript).arn };
      }
      case 'DescribeTrainingJob':
        return this.describe(this.existing(body));
      case 'StopTrainingJob': {
        const job = this.existing(body);
        const status = job.steps[0].status;
        if (status !== 'InProgress')
          throw new ApiError('ValidationException', `The request was rejected because the training job is in status ${status}.`);
        job.steps = [
          { status: 'Stopping', secondaryStatus: 'Stopping' },
          { status: 'Stopped', secondaryStatus: 'Stopped' },
        ];
        return {};
      }
      case 'CreateProcessingJob': {
        this.assumeRole(body.RoleArn as string);
        const name = body.ProcessingJobName as string;
        const existing = this.processingJobs.get(name);
        if (existing) throw new ApiError('ResourceInUse', `Processing job ${name} already exists (${existing.arn})`);
        const job: StandinJob = {
          name,
          request: body,
          steps: [...this.nextScript],
          createdAt: Date.now(),
          arn: `arn:aws:sagemaker:${this.region}:${ACCOUNT}:processing-job/${name.toLowerCase()}`,
        };
        this.processingJobs.set(name, job);
        return { ProcessingJobArn: job.arn };
      }
      case 'DescribeProcessingJob': {
        const job = this.processingJobs.get(body.ProcessingJobName as string);
        if (!job) throw new ApiError('ResourceNotFound', `Could not find requested job with name ${String(body.ProcessingJobName)}`);
        const step = job.steps[0];
        if (job.steps.length > 1) job.steps.shift();
        return {
          ...job.request,
          ProcessingJobArn: job.arn,
          ProcessingJobStatus: step.status,
          ...(step.failureReason ? { FailureReason: step.failureReason } : {}),
          ...(step.exitMessage ? { ExitMessage: step.exitMessage } : {}),
          CreationTime: job.createdAt / 1000,
        };
      }
      case 'StopProcessingJob': {
        const job = this.processingJobs.get(body.ProcessingJobName as string);
        if (!job) throw new ApiError('ResourceNotFound', 'Requested resource not found.');
        if (job.steps[0].status !== 'InProgress')
          throw new ApiError(
            'ValidationException',
            `The request was rejected because the processing job is in status ${job.steps[0].status}.`,
          );
        job.steps = [{ status: 'Stopping' }, { status: 'Stopped' }];
        return {};
      }
      case 'CreateModelPackage':
        return { ModelPackageArn: this.createModelPackage(body).arn };
      case 'CreateModelPackageGroup': {
        const name = body.ModelPackageGroupName as string;
        // The wording is the stand-in's: AWS publishes none for this case.
        if (this.groups.has(name)) throw new ApiError('ValidationException', `Model Package Group already exists: ${this.groupArn(name)}`);
        this.groups.set(name, []);
        return { ModelPackageGroupArn: this.groupArn(name) };
      }
      case 'DescribeModelPackageGroup': {
        const name = body.ModelPackageGroupName as string;
        if (!this.groups.has(name)) throw new ApiError('ValidationException', `ModelPackageGroup ${name} does not exist.`);
        return {
          ModelPackageGroupName: name,
          ModelPackageGroupArn: this.groupArn(name),
          CreationTime: 0,
          CreatedBy: {},
          ModelPackageGroupStatus: 'Completed',
        };
      }
      case 'DeleteModelPackageGroup': {
        const name = body.ModelPackageGroupName as string;
        const versions = this.groups.get(name);
        if (!versions) throw new ApiError('ValidationException', `ModelPackageGroup ${name} does not exist.`);
        if (versions.length > 0 && this.nonEmptyGroupDeletion === 'refuse') {
          throw new ApiError(
            'ConflictException',
            `Model Package Group ${name} cannot be deleted: it holds ${versions.length} model package version(s).`,
          );
        }
        this.groups.delete(name);
        return {};
      }
      case 'ListModelPackages':
        return this.listModelPackages(body);
      case 'DescribeModelPackage': {
        const pkg = this.modelPackage(body.ModelPackageName as string);
        const request = pkg.request;
        return {
          ModelPackageName: pkg.group,
          ModelPackageGroupName: pkg.group,
          ModelPackageVersion: pkg.version,
          ModelPackageArn: pkg.arn,
          ModelPackageDescription: request.ModelPackageDescription,
          CreationTime: pkg.createdAt,
          InferenceSpecification: request.InferenceSpecification,
          ModelPackageStatus: 'Completed',
          ModelPackageStatusDetails: { ValidationStatuses: [] },
          ModelApprovalStatus: pkg.status,
          ...(pkg.approvalDescription ? { ApprovalDescription: pkg.approvalDescription } : {}),
          ...(request.ModelMetrics ? { ModelMetrics: request.ModelMetrics } : {}),
          CustomerMetadataProperties: request.CustomerMetadataProperties ?? {},
        };
      }
      case 'UpdateModelPackage': {
        const pkg = this.modelPackage(body.ModelPackageArn as string);
        if (body.ModelApprovalStatus) pkg.status = body.ModelApprovalStatus as string;
        if (body.ApprovalDescription !== undefined) pkg.approvalDescription = body.ApprovalDescription as string;
        return { ModelPackageArn: pkg.arn };
      }
      default:
        throw new ApiError('UnknownOperationException', operation);
    }
  }

  /** SageMaker assumes the job's role before it accepts the job; a role not propagated yet is refused, as SageMaker words it. */
  private assumeRole(roleArn: string): void {
    const refusals = this.unassumableRoles.get(roleArn) ?? 0;
    if (refusals <= 0) return;
    this.unassumableRoles.set(roleArn, refusals - 1);
    throw new ApiError(
      'ValidationException',
      `Could not assume role ${roleArn}. Please ensure that the role exists and allows principal 'sagemaker.amazonaws.com' to assume the role.`,
    );
  }

  private createModelPackage(body: Record<string, unknown>): StandinModelPackage {
    const group = body.ModelPackageGroupName as string | undefined;
    if (!group)
      throw new ApiError(
        'ValidationException',
        'Unversioned model packages are not supported by this stand-in; give ModelPackageGroupName.',
      );
    const versions = this.groups.get(group);
    if (!versions) throw new ApiError('ValidationException', `Model Package Group ${group} does not exist.`);
    const token = body.ClientToken as string | undefined;
    if (token && this.clientTokens.has(token)) return this.clientTokens.get(token)!;
    const version = versions.length + 1;
    const pkg: StandinModelPackage = {
      arn: `arn:aws:sagemaker:${this.region}:${ACCOUNT}:model-package/${group.toLowerCase()}/${version}`,
      group,
      version,
      request: body,
      status: (body.ModelApprovalStatus as string | undefined) ?? 'PendingManualApproval',
      createdAt: ++this.clock,
    };
    versions.push(pkg);
    if (token) this.clientTokens.set(token, pkg);
    return pkg;
  }

  private listModelPackages(body: Record<string, unknown>): unknown {
    const group = body.ModelPackageGroupName as string;
    const versions = this.groups.get(group);
    if (!versions) throw new ApiError('ValidationException', `Model Package Group ${group} does not exist.`);
    // Only what the handlers use; anything else would silently be ignored, so it is refused.
    if (body.SortBy !== undefined && body.SortBy !== 'CreationTime')
      throw new ApiError('ValidationException', 'The stand-in sorts by CreationTime only.');
    const matching = versions.filter((p) => body.ModelApprovalStatus === undefined || p.status === body.ModelApprovalStatus);
    const ordered = body.SortOrder === 'Ascending' ? [...matching] : [...matching].reverse();
    const start = Number(body.NextToken ?? 0);
    const size = Number(body.MaxResults ?? 10);
    const page = ordered.slice(start, start + size);
    return {
      ModelPackageSummaryList: page.map((p) => ({
        ModelPackageGroupName: p.group,
        ModelPackageVersion: p.version,
        ModelPackageArn: p.arn,
        ModelPackageDescription: p.request.ModelPackageDescription,
        CreationTime: p.createdAt,
        ModelPackageStatus: 'Completed',
        ModelApprovalStatus: p.status,
      })),
      ...(start + size < ordered.length ? { NextToken: String(start + size) } : {}),
    };
  }

  private groupArn(name: string): string {
    return `arn:aws:sagemaker:${this.region}:${ACCOUNT}:model-package-group/${name.toLowerCase()}`;
  }

  private modelPackage(arn: string): StandinModelPackage {
    const pkg = [...this.groups.values()].flat().find((p) => p.arn === arn);
    if (!pkg) throw new ApiError('ValidationException', `Model package ${arn} does not exist.`);
    return pkg;
  }

  private create(request: Record<string, unknown>, steps: JobStep[]): StandinJob {
    const name = request.TrainingJobName as string;
    const job: StandinJob = {
      name,
      request,
      steps: [...steps],
      createdAt: Date.now(),
      arn: `arn:aws:sagemaker:${this.region}:${ACCOUNT}:training-job/${name.toLowerCase()}`,
    };
    this.jobs.set(name, job);
    return job;
  }

  private existing(body: Record<string, unknown>): StandinJob {
    // The API model has checked the name already.
    const job = this.jobs.get(body.TrainingJobName as string);
    if (!job) throw new ApiError('ValidationException', 'Requested resource not found.');
    return job;
  }

  /** The job's current state, in DescribeTrainingJob's shape; then the job moves one step on. */
  private describe(job: StandinJob): unknown {
    const step = job.steps[0];
    if (job.steps.length > 1) job.steps.shift();
    const request = job.request as Record<string, Record<string, unknown>>;
    const seconds = (ms: number) => ms / 1000;
    const completed = step.status === 'Completed';
    const outputPath = String(request.OutputDataConfig.S3OutputPath).replace(/\/$/, '');
    return {
      TrainingJobName: job.name,
      TrainingJobArn: job.arn,
      TrainingJobStatus: step.status,
      SecondaryStatus: step.secondaryStatus ?? step.status,
      ...(step.failureReason ? { FailureReason: step.failureReason } : {}),
      AlgorithmSpecification: request.AlgorithmSpecification,
      RoleArn: request.RoleArn,
      HyperParameters: request.HyperParameters ?? {},
      InputDataConfig: request.InputDataConfig,
      OutputDataConfig: request.OutputDataConfig,
      ResourceConfig: request.ResourceConfig,
      StoppingCondition: request.StoppingCondition,
      EnableManagedSpotTraining: request.EnableManagedSpotTraining ?? false,
      EnableNetworkIsolation: request.EnableNetworkIsolation ?? false,
      CreationTime: seconds(job.createdAt),
      LastModifiedTime: seconds(Date.now()),
      ModelArtifacts: { S3ModelArtifacts: completed ? `${outputPath}/${job.name}/output/model.tar.gz` : '' },
      ...(completed
        ? {
            TrainingEndTime: seconds(Date.now()),
            FinalMetricDataList: Object.entries(step.finalMetrics ?? {}).map(([MetricName, Value]) => ({
              MetricName,
              Value,
              Timestamp: seconds(Date.now()),
            })),
          }
        : {}),
    };
  }
}

/**
 * SageMaker's checks of a CreateTrainingJob request that no schema carries (the API model has checked every
 * member already), worded as SageMaker words them.
 */
function validateCreate(body: Record<string, unknown>): void {
  const member = (path: string): unknown =>
    path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], body);
  if (!(member('AlgorithmSpecification.TrainingImage') || member('AlgorithmSpecification.AlgorithmName'))) {
    throw new ApiError('ValidationException', 'Either TrainingImage or AlgorithmName must be specified in AlgorithmSpecification.');
  }
  const runtime = member('StoppingCondition.MaxRuntimeInSeconds') as number | undefined;
  const wait = member('StoppingCondition.MaxWaitTimeInSeconds') as number | undefined;
  if (member('EnableManagedSpotTraining') === true) {
    if (wait === undefined)
      throw new ApiError('ValidationException', 'MaxWaitTimeInSeconds must be specified when EnableManagedSpotTraining is true.');
    if (runtime !== undefined && wait < runtime)
      throw new ApiError(
        'ValidationException',
        `MaxWaitTimeInSeconds (${wait}) must be greater than or equal to MaxRuntimeInSeconds (${runtime}).`,
      );
  } else if (wait !== undefined) {
    throw new ApiError('ValidationException', 'MaxWaitTimeInSeconds can only be specified when EnableManagedSpotTraining is true.');
  }
  const instanceType = String(member('ResourceConfig.InstanceType'));
  if (member('ResourceConfig.VolumeKmsKeyId') !== undefined && !supportsVolumeKms(instanceType)) {
    throw new ApiError(
      'ValidationException',
      `Instance type ${instanceType} is not supported with VolumeKmsKeyId: its instance storage is encrypted by default.`,
    );
  }
}

/**
 * Points the SDK clients a handler creates at a started stand-in's `endpoint` with dummy credentials, and
 * returns a function that puts the environment back.
 */
export function pointSdkAt(endpoint: string): () => void {
  const saved = { ...process.env };
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SAGEMAKER: endpoint,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'AKIDSTANDIN',
    AWS_SECRET_ACCESS_KEY: 'standin-secret',
    AWS_EC2_METADATA_DISABLED: 'true',
  });
  delete process.env.AWS_PROFILE;
  return () => {
    process.env = saved;
  };
}
