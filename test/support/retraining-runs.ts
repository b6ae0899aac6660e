/**
 * Runs of the retraining pipeline's synthesized definition on this machine (state-machine-runner.ts), with its own
 * steps' handler code (retraining-steps.handler.ts) against moto and the SageMaker API stand-in: the .sync jobs are
 * created through the SageMaker API and waited for as Step Functions does, and what the image writes is written
 * (prepare's data.sha256); the outcome event is checked against EventBridge's API model as PutEvents receives it.
 */
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateProcessingJobCommand,
  CreateProcessingJobCommandInput,
  CreateTrainingJobCommand,
  CreateTrainingJobCommandInput,
  DescribeProcessingJobCommand,
  DescribeTrainingJobCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { createHash } from 'crypto';

import { APPROVED_DIR, COMPARISON_JSON, EVALUATION_JSON } from '../../constructs/training/runtime/evaluation-comparison';
import { APPROVED_MODEL_INPUT } from '../../constructs/training/runtime/job-requests';
import type { PipelineConfig } from '../../constructs/training/runtime/retraining-contract';
import { onStep, StepEvent } from '../../constructs/training/runtime/retraining-steps.handler';
import { loadServiceModel } from '../../local/api-model/service-model';
import { validateInput, validationMessage } from '../../local/api-model/validate-input';
import { Definition, ExecutionOutcome, runStateMachine, stateError } from '../../local/state-machine/state-machine-runner';
import { MotoServer, startMoto } from './moto-server';
import { pointSdkAt, SageMakerStandin } from './sagemaker-api-standin';

const EVENTS_MODEL = loadServiceModel('events');

/** An outcome event a run put (a PutEvents entry). */
export interface OutcomeEntry {
  readonly Source: string;
  readonly DetailType: string;
  readonly Detail: Record<string, unknown>;
}

/** Polls a job as a .sync task does, until it ends; a job that does not complete fails the task as Step Functions does. */
export async function waitFor(describe: () => Promise<{ status?: string; reason?: string; output: unknown }>): Promise<unknown> {
  for (;;) {
    const { status, reason, output } = await describe();
    if (status === 'Completed') return output;
    if (status === 'Failed' || status === 'Stopped') throw stateError('States.TaskFailed', JSON.stringify({ FailureReason: reason }));
  }
}

/** Options of one run. */
export interface RunOptions {
  /** @default a new execution of `machine` */
  readonly executionArn?: string;
  /** Called once the prepare job is created, before it is waited for (a trigger arriving during a run). */
  readonly duringPrepare?: () => Promise<void>;
  /** What the evaluate job finds when it has an approved model (the comparison evaluate writes). */
  readonly sameRows?: SameRows;
}

/**
 * What `evaluate` finds when the job has an approved model: both models' accuracy on the same (new) test rows, or how
 * the candidate's problem differs from the approved model's.
 */
export interface SameRows {
  readonly candidate: number;
  readonly approved: number;
  readonly differences?: string[];
}

/** evaluation.json as evaluate writes it, every metric the gate may read at `accuracy`. */
function evaluationReport(accuracy: number): Record<string, unknown> {
  return {
    accuracy,
    macro_avg: { precision: accuracy, recall: accuracy, f1: accuracy },
    weighted_avg: { f1: accuracy },
    log_loss: 0.1,
    calibration: { expected_calibration_error: 0.01 },
    latency: { single_row_ms: { p50: 1 } },
  };
}

/** Runs of the pipeline, with the jobs each one created and the outcome events all of them put. */
export class RetrainingRuns {
  /** Jobs created by the stand-in during the latest run, by kind. */
  created: { training: string[]; processing: string[] } = { training: [], processing: [] };
  /** Outcome events the runs put, in order. */
  readonly emitted: OutcomeEntry[] = [];
  private runCount = 0;

  constructor(private readonly clients: { readonly s3: S3Client; readonly sagemaker: SageMakerClient }) {}

  /** Runs `definition` as an execution of `machine` (an ARN moto knows: the plan step lists its runs) on `input`. */
  async run(definition: Definition, machine: string, input: unknown, options: RunOptions = {}): Promise<ExecutionOutcome> {
    this.created = { training: [], processing: [] };
    const executionArn = options.executionArn ?? `${machine.replace(':stateMachine:', ':execution:')}:run-${++this.runCount}`;
    return runStateMachine(definition, input, this.handlers(options), { executionArn, stateMachineArn: machine });
  }

  private handlers(extra: RunOptions) {
    const { sagemaker } = this.clients;
    const processing = async (request: CreateProcessingJobCommandInput, after?: () => Promise<void>) => {
      await sagemaker.send(new CreateProcessingJobCommand(request));
      this.created.processing.push(request.ProcessingJobName!);
      await after?.();
      return waitFor(async () => {
        const j = await sagemaker.send(new DescribeProcessingJobCommand({ ProcessingJobName: request.ProcessingJobName }));
        return { status: j.ProcessingJobStatus, reason: j.FailureReason, output: j };
      });
    };
    return {
      Plan: (input: StepEvent) => onStep(input),
      Fingerprint: (input: StepEvent) => onStep(input),
      Register: (input: StepEvent) => onStep(input),
      Prepare: async (request: CreateProcessingJobCommandInput) => {
        const output = await processing(request, extra.duringPrepare);
        await this.writePrepared(request);
        return output;
      },
      Train: async (request: CreateTrainingJobCommandInput) => {
        await sagemaker.send(new CreateTrainingJobCommand(request));
        this.created.training.push(request.TrainingJobName!);
        return waitFor(async () => {
          const j = await sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: request.TrainingJobName }));
          return { status: j.TrainingJobStatus, reason: j.FailureReason, output: j };
        });
      },
      Evaluate: async (request: CreateProcessingJobCommandInput) => {
        const output = await processing(request);
        if (extra.sameRows) await this.writeEvaluation(request, extra.sameRows);
        return output;
      },
      // Step Functions' events:putEvents takes Detail as JSON and sends it as a string: checked as the API receives it.
      EmitOutcome: async (input: { Entries: OutcomeEntry[] }) => {
        const violations = validateInput(EVENTS_MODEL, 'PutEvents', {
          Entries: input.Entries.map((e) => ({ ...e, Detail: JSON.stringify(e.Detail) })),
        });
        if (violations.length > 0) throw stateError('EventBridge.ValidationException', validationMessage(violations));
        this.emitted.push(...input.Entries);
        return { Entries: input.Entries.map((_, i) => ({ EventId: `event-${this.emitted.length}-${i}` })), FailedEntryCount: 0 };
      },
    };
  }

  private async text(uri: string): Promise<string> {
    const [, bucket, key] = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri)!;
    const object = await this.clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return object.Body!.transformToString();
  }

  /** What evaluate writes for a job with input approved-model (training-image evaluate/job.py), to its evaluation output. */
  private async writeEvaluation(request: CreateProcessingJobCommandInput, sameRows: SameRows): Promise<void> {
    if (!request.ProcessingInputs!.some((i) => i.InputName === APPROVED_MODEL_INPUT)) return;
    const output = request.ProcessingOutputConfig!.Outputs!.find((o) => o.OutputName === 'evaluation')!.S3Output!.S3Uri!;
    const [, bucket, prefix] = /^s3:\/\/([^/]+)\/(.*)$/.exec(output)!;
    const files = sameRows.differences
      ? {
          [EVALUATION_JSON]: evaluationReport(sameRows.candidate),
          [COMPARISON_JSON]: { same_problem: false, differences: sameRows.differences, approved_evaluation: null },
        }
      : {
          [EVALUATION_JSON]: evaluationReport(sameRows.candidate),
          [COMPARISON_JSON]: { same_problem: true, differences: [], approved_evaluation: `${APPROVED_DIR}/${EVALUATION_JSON}` },
          [`${APPROVED_DIR}/${EVALUATION_JSON}`]: evaluationReport(sameRows.approved),
        };
    for (const [name, body] of Object.entries(files)) {
      await this.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}${name}`, Body: JSON.stringify(body) }));
    }
  }

  /** What `prepare` writes that the pipeline reads: the prepared data's content hash (here, over the distinct data rows). */
  private async writePrepared(request: CreateProcessingJobCommandInput): Promise<void> {
    const { s3 } = this.clients;
    const input = request.ProcessingInputs![0].S3Input!.S3Uri!;
    const [, bucket, prefix] = /^s3:\/\/([^/]+)\/(.*)$/.exec(input)!;
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    const rows = new Set<string>();
    for (const o of listed.Contents ?? []) {
      if (!o.Key!.endsWith('.csv')) continue;
      for (const line of (await this.text(`s3://${bucket}/${o.Key}`)).split('\n').slice(1)) if (line.trim()) rows.add(line.trim());
    }
    const report = request.ProcessingOutputConfig!.Outputs!.find((o) => o.OutputName === 'report')!.S3Output!.S3Uri!;
    const [, outBucket, outKey] = /^s3:\/\/([^/]+)\/(.*)$/.exec(report)!;
    const hash = createHash('sha256')
      .update([...rows].sort().join('\n'))
      .digest('hex');
    await s3.send(new PutObjectCommand({ Bucket: outBucket, Key: `${outKey}data.sha256`, Body: `${hash}\n` }));
  }
}

/** The AWS the pipeline's steps talk to in tests, on 127.0.0.1, with the SDK pointed at it. */
export interface PipelineStandins {
  readonly moto: MotoServer;
  readonly s3: S3Client;
  readonly sagemaker: SageMakerClient;
  readonly runs: RetrainingRuns;
  /** Stops moto and the SageMaker stand-in and restores the environment. */
  stop(): Promise<void>;
}

/**
 * Starts moto (S3, Step Functions, CloudFormation) and `standin` (the SageMaker API), points the SDK at them, quiets
 * the handlers' info logs and creates the pipeline's raw-data and output buckets.
 */
export async function startPipelineStandins(standin: SageMakerStandin, config: PipelineConfig): Promise<PipelineStandins> {
  const moto = await startMoto();
  const restoreEnv = pointSdkAt(await standin.start());
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_S3: moto.endpoint,
    AWS_ENDPOINT_URL_SFN: moto.endpoint,
    AWS_ENDPOINT_URL_CLOUDFORMATION: moto.endpoint,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  });
  jest.spyOn(console, 'info').mockImplementation(() => undefined);
  const s3 = new S3Client({ forcePathStyle: true });
  const sagemaker = new SageMakerClient({});
  for (const bucket of new Set([config.raw.bucket, config.train.spec.outputBucketName])) {
    await s3.send(new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
  }
  return {
    moto,
    s3,
    sagemaker,
    runs: new RetrainingRuns({ s3, sagemaker }),
    stop: async () => {
      await standin.stop();
      await moto.stop();
      restoreEnv();
    },
  };
}
