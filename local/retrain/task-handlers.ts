/**
 * The local answer of each Task state of the synthesized retraining state machine (`npm run local -- --retrain`):
 * the states, choices, catches and outcome are the definition's own, run by aws-local-stepfunctions; each task does
 * on this machine what it does in AWS, with what the definition hands it:
 * - Plan (Lambda): one run at a time per work dir (local/retrain/run-lock.ts); the prepare job named after the
 *   content of --data, its request built by the deploy's functions (retraining-jobs.ts);
 * - Prepare (createProcessingJob.sync): the image's real `prepare` on --data, with the job's Environment;
 * - Fingerprint (Lambda): the prepared data's content hash names the training job as in AWS; the local registry
 *   is searched for a version of the same training inputs (sources, prepared data, hyperparameters: the local
 *   training key, its records' codeHash): found, the run ends as Unchanged;
 * - Train (createTrainingJob.sync): the image's real `train` with the request's HyperParameters (and --epochs);
 * - Evaluate (createProcessingJob.sync): the evaluation `train` ended with, shown;
 * - Register (Lambda): the deploy's gate against the approved version on the same test rows, recorded in the
 *   local registry, Approved or Rejected;
 * - EmitOutcome (events:putEvents): the outcome event, printed.
 * The Lambda steps are local equivalents, not the handler itself: it calls S3, Step Functions and the SageMaker
 * model registry, which local mode replaces with the work dir.
 */
import type { CreateProcessingJobCommandInput, CreateTrainingJobCommandInput } from '@aws-sdk/client-sagemaker';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

import { NO_APPROVED_VERSION } from '../../constructs/training/runtime/model-registration-contract';
import {
  ABSENT,
  FingerprintResult,
  PipelineConfig,
  PlanResult,
  RegisterResult,
} from '../../constructs/training/runtime/retraining-contract';
import { prepareJob, trainingJobs } from '../../constructs/training/runtime/retraining-jobs';
import { LocalModelRegistry } from '../model-registry';
import type { PreparedData } from '../prepare-data';
import { stateError, TaskHandler } from '../state-machine/state-machine-runner';
import { evaluate, EvaluatedModel } from '../steps/evaluate';
import { prepare } from '../steps/prepare';
import { gateAndRecord, RegisteredModel } from '../steps/register';
import { LocalModeError, LocalRun } from '../steps/run';
import { hyperparametersOf, LocalModel, train } from '../steps/train';
import { cacheKey } from '../train-model';
import { acquireRunLock } from './run-lock';

/** The error name a local step's failure carries through the state machine (its Catch records it as Failed). */
export const LOCAL_STEP_FAILED = 'LocalStepFailed';

/** What the tasks of one run hand to each other and to the flow (in AWS: the jobs' outputs in S3). */
export interface RetrainWork {
  prepared?: PreparedData;
  /** The training job's hyperparameters (its request's, with --epochs), as the Fingerprint step hashed them. */
  hyperparameters?: Record<string, string>;
  model?: LocalModel;
  evaluation?: EvaluatedModel;
  registered?: RegisteredModel;
}

/** The local handler of every Task state, by state name. */
export function taskHandlers(run: LocalRun, work: RetrainWork): Record<string, TaskHandler> {
  const { options, progress } = run;
  const registry = new LocalModelRegistry(path.join(options.workDir, 'registry'));
  const data = options.data;
  if (!data) throw new LocalModeError('--retrain needs --data <new data>');
  const prepared = () => needed(work.prepared, 'the prepared data');

  return {
    Plan: guarded((input: { config: PipelineConfig }): PlanResult => {
      const lock = acquireRunLock(options.workDir);
      if (lock.busy) {
        progress.done(`Plan: ${lock.holder} is in progress in ${options.workDir}`);
        return { busy: true, runningExecution: lock.holder };
      }
      run.onCleanup(() => lock.release());
      const rawDigest = contentDigest(data);
      const job = prepareJob(input.config, rawDigest);
      progress.detail(`Plan: --data sha256 ${rawDigest.slice(0, 16)}...: prepare job ${job.name}`);
      progress.done('planned: no other retrain in this work dir');
      // Local prepare keeps its own cache by data and settings: it always runs, and reuses that output.
      return { busy: false, rawDigest, prepare: { ...job, status: ABSENT } };
    }),
    Prepare: guarded(async (request: CreateProcessingJobCommandInput) => {
      work.prepared = await prepare(run, request.Environment ?? {});
      return { ProcessingJobName: request.ProcessingJobName, ProcessingJobStatus: 'Completed' };
    }),
    Fingerprint: guarded((input: { config: PipelineConfig; prepareName: string }): FingerprintResult => {
      progress.step('Fingerprint: the prepared data, image and hyperparameters, against the registry...');
      const { dataHash, dataDir } = prepared();
      // The approved model the gate scores on this run's test rows (the Register step's compare-models.ts does it).
      const approved = registry.newestApproved()?.modelDir;
      const { train: trainJob, evaluate: job } = trainingJobs(input.config, input.prepareName, dataHash, approved);
      const evaluateJob = { ...job, approvedModel: approved ?? NO_APPROVED_VERSION };
      work.hyperparameters = hyperparametersOf(run, trainJob.request.HyperParameters ?? {});
      const key = cacheKey(dataDir, work.hyperparameters);
      progress.detail(`training job ${trainJob.name} (data sha256 ${dataHash.slice(0, 16)}...), local training key ${key}`);
      const found = registry.list().find((record) => record.codeHash === key);
      if (found) {
        progress.done(
          `unchanged: version ${found.version} (${found.modelVersion}, ${found.approvalStatus}) was trained on the same inputs`,
        );
        const version = { arn: registry.recordFile(found.modelVersion), number: found.version, status: found.approvalStatus };
        return {
          dataHash,
          fingerprint: trainJob.name,
          registered: true,
          version,
          train: { ...trainJob, status: 'Registered' },
          evaluate: { ...evaluateJob, status: 'Registered' },
        };
      }
      // A model trained on these inputs that never got registered (an interrupted run) is reused, as a completed job is.
      const trained = fs.existsSync(path.join(options.workDir, 'models', key, 'model', 'metadata.json'));
      progress.done(trained ? 'new inputs; a model trained on them is in the cache: reusing it' : 'new inputs: training');
      return {
        dataHash,
        fingerprint: trainJob.name,
        registered: false,
        train: { ...trainJob, status: trained ? 'Completed' : ABSENT },
        evaluate: { ...evaluateJob, status: ABSENT },
      };
    }),
    Train: guarded(async (request: CreateTrainingJobCommandInput) => {
      work.model = await trainOrInterrupt(run, prepared(), hyperparametersOf(run, request.HyperParameters ?? {}));
      return { TrainingJobName: request.TrainingJobName, TrainingJobStatus: 'Completed' };
    }),
    Evaluate: guarded(async (request: CreateProcessingJobCommandInput) => {
      // Train skipped (its model was in the cache): the cached model, shown as reused.
      work.model ??= await trainOrInterrupt(
        { ...run, options: { ...options, reuse: true } },
        prepared(),
        needed(work.hyperparameters, 'the hyperparameters'),
      );
      work.evaluation = evaluate(run, work.model);
      return { ProcessingJobName: request.ProcessingJobName, ProcessingJobStatus: 'Completed' };
    }),
    Register: guarded(async (): Promise<RegisterResult> => {
      const registered = await gateAndRecord(
        run,
        needed(work.model, 'the trained model'),
        needed(work.evaluation, 'the evaluation'),
        prepared(),
      );
      work.registered = registered;
      const { record, registryFile, created } = registered;
      progress.done(created ? 'gated and registered' : 'already registered');
      return {
        modelPackageArn: registryFile,
        modelPackageVersion: record.version,
        status: record.approvalStatus,
        reason: record.statusReason,
        created,
      };
    }),
    EmitOutcome: guarded((input: { Entries: { Detail: unknown; DetailType: string; Source: string }[] }) => {
      for (const entry of input.Entries)
        progress.detail(`EmitOutcome: ${entry.DetailType} (${entry.Source}): ${JSON.stringify(entry.Detail)}`);
      return { Entries: input.Entries.map(() => ({ EventId: `local-${Date.now()}` })), FailedEntryCount: 0 };
    }),
  };
}

async function trainOrInterrupt(run: LocalRun, prepared: PreparedData, hyperparameters: Record<string, string>): Promise<LocalModel> {
  const model = await train(run, prepared, hyperparameters);
  if (!model) throw stateError('Interrupted', 'the run was interrupted');
  return model;
}

/** SHA-256 over --data's files (a file, or a folder's files by relative path): the local stand-in of the raw listing's digest. */
export function contentDigest(input: string): string {
  const hash = createHash('sha256');
  const files = fs.statSync(input).isDirectory()
    ? (fs.readdirSync(input, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(input, f)).isFile()).sort()
    : [''];
  for (const file of files)
    hash
      .update(file)
      .update('\0')
      .update(fs.readFileSync(path.join(input, file)))
      .update('\0');
  return hash.digest('hex');
}

function needed<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} is missing: the state machine reached this task without the step that makes it`);
  return value;
}

/** A local step's failure as a state error the definition's Catch records, with the step's one-line message as cause. */
function guarded<I>(handler: (input: I) => unknown): TaskHandler {
  return async (input: never) => {
    try {
      return await handler(input as I);
    } catch (e) {
      if (e instanceof LocalModeError) throw stateError(LOCAL_STEP_FAILED, e.message);
      throw e;
    }
  };
}
