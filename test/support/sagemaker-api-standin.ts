/**
 * A local stand-in for the SageMaker API's training-job operations, on 127.0.0.1 and a free port, for the
 * unmodified AWS SDK client (point it here with AWS_ENDPOINT_URL_SAGEMAKER).
 *
 * It speaks SageMaker's protocol (awsJson1_1: `POST /`, `X-Amz-Target: SageMaker.<Operation>`, JSON bodies,
 * errors as `{"__type": ..., "message": ...}` with HTTP 400), checks requests the way SageMaker does (a signed
 * request; every member against SageMaker's published API model, botocore's sagemaker service-2.json from the
 * project venv; then the spot and volume-key rules no schema carries) and keeps jobs whose life a test
 * scripts: each DescribeTrainingJob returns the job's current state and moves it one step along its script.
 * moto's SageMaker completes every job at once and cannot fail or stop one, which is what the tests need.
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
const OPERATIONS = ['CreateTrainingJob', 'DescribeTrainingJob', 'StopTrainingJob'] as const;

class ApiError extends Error {
  constructor(readonly type: string, message: string, readonly status = 400) {
    super(message);
  }
}

/** The default script of a new job: starting, training, then completed with a good test accuracy. */
export const COMPLETES: JobStep[] = [
  { status: 'InProgress', secondaryStatus: 'Starting' },
  { status: 'InProgress', secondaryStatus: 'Training' },
  { status: 'Completed', secondaryStatus: 'Completed', finalMetrics: { train_loss: 0.05, validation_accuracy: 0.97, test_accuracy: 0.975 } },
];

export class SageMakerStandin {
  /** Every request answered, in order. */
  readonly calls: StandinCall[] = [];
  private readonly jobs = new Map<string, StandinJob>();
  private server?: http.Server;
  private region = 'eu-west-1';
  /** The script the next created job follows. */
  nextScript: JobStep[] = COMPLETES;

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
      if (req.method !== 'POST' || req.url !== '/') throw new ApiError('UnknownOperationException', `No operation at ${req.method} ${req.url}`, 404);
      if (!String(req.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 Credential=')) {
        throw new ApiError('MissingAuthenticationTokenException', 'Missing Authentication Token', 403);
      }
      if (req.headers['content-type'] !== 'application/x-amz-json-1.1') throw new ApiError('SerializationException', 'Expected application/x-amz-json-1.1');
      if (!target.startsWith('SageMaker.') || !(OPERATIONS as readonly string[]).includes(operation)) {
        throw new ApiError('UnknownOperationException', `Unknown operation ${target}`);
      }
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      } catch {
        throw new ApiError('SerializationException', 'Request body is not valid JSON');
      }
      const violations = validateInput(API_MODEL, operation, body);
      recordCheckedRequest(API_MODEL, operation, violations);
      if (violations.length > 0) throw new ApiError('ValidationException', validationMessage(violations));
      answer = this.dispatch(operation, body);
    } catch (e) {
      const error = e instanceof ApiError ? e : new ApiError('InternalFailure', String(e), 500);
      status = error.status;
      answer = { __type: error.type, message: error.message };
    }
    this.calls.push({ operation, body, status });
    const text = JSON.stringify(answer);
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': `standin-${this.calls.length}`, 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private dispatch(operation: string, body: Record<string, unknown>): unknown {
    switch (operation) {
      case 'CreateTrainingJob': {
        validateCreate(body);
        const name = body.TrainingJobName as string;
        const existing = this.jobs.get(name);
        if (existing) {
          throw new ApiError('ResourceInUse', `Training job names must be unique within an AWS account and region, and a training job with this name already exists (${existing.arn})`);
        }
        return { TrainingJobArn: this.create(body, this.nextScript).arn };
      }
      case 'DescribeTrainingJob':
        return this.describe(this.existing(body));
      case 'StopTrainingJob': {
        const job = this.existing(body);
        const status = job.steps[0].status;
        if (status !== 'InProgress') throw new ApiError('ValidationException', `The request was rejected because the training job is in status ${status}.`);
        job.steps = [{ status: 'Stopping', secondaryStatus: 'Stopping' }, { status: 'Stopped', secondaryStatus: 'Stopped' }];
        return {};
      }
      default:
        throw new ApiError('UnknownOperationException', operation);
    }
  }

  private create(request: Record<string, unknown>, steps: JobStep[]): StandinJob {
    const name = request.TrainingJobName as string;
    const job: StandinJob = {
      name, request, steps: [...steps], createdAt: Date.now(),
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
      ...(completed ? {
        TrainingEndTime: seconds(Date.now()),
        FinalMetricDataList: Object.entries(step.finalMetrics ?? {}).map(([MetricName, Value]) => ({ MetricName, Value, Timestamp: seconds(Date.now()) })),
      } : {}),
    };
  }
}

/**
 * SageMaker's checks of a CreateTrainingJob request that no schema carries (the API model has checked every
 * member already), worded as SageMaker words them.
 */
function validateCreate(body: Record<string, unknown>): void {
  const member = (path: string): unknown => path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], body);
  if (!(member('AlgorithmSpecification.TrainingImage') || member('AlgorithmSpecification.AlgorithmName'))) {
    throw new ApiError('ValidationException', 'Either TrainingImage or AlgorithmName must be specified in AlgorithmSpecification.');
  }
  const runtime = member('StoppingCondition.MaxRuntimeInSeconds') as number | undefined;
  const wait = member('StoppingCondition.MaxWaitTimeInSeconds') as number | undefined;
  if (member('EnableManagedSpotTraining') === true) {
    if (wait === undefined) throw new ApiError('ValidationException', 'MaxWaitTimeInSeconds must be specified when EnableManagedSpotTraining is true.');
    if (runtime !== undefined && wait < runtime) throw new ApiError('ValidationException', `MaxWaitTimeInSeconds (${wait}) must be greater than or equal to MaxRuntimeInSeconds (${runtime}).`);
  } else if (wait !== undefined) {
    throw new ApiError('ValidationException', 'MaxWaitTimeInSeconds can only be specified when EnableManagedSpotTraining is true.');
  }
  const instanceType = String(member('ResourceConfig.InstanceType'));
  if (member('ResourceConfig.VolumeKmsKeyId') !== undefined && !supportsVolumeKms(instanceType)) {
    throw new ApiError('ValidationException', `Instance type ${instanceType} is not supported with VolumeKmsKeyId: its instance storage is encrypted by default.`);
  }
}
