/**
 * The retraining pipeline's job names and requests, from the run's data versions: the `plan` and `fingerprint`
 * steps (retraining-steps.handler.ts) and `npm run local -- --retrain` (local/retrain/) name and build the same
 * jobs from the synthesized configuration. Pure: no AWS calls.
 */
import type { CreateProcessingJobCommandInput, CreateTrainingJobCommandInput } from '@aws-sdk/client-sagemaker';

import {
  jobNameOf,
  modelArtifactKey,
  ProcessingIdentity,
  processingJobRequest,
  processingOutputPrefix,
  trainingJobRequest,
} from './job-requests';
import { PipelineConfig, TEST_ROWS_FILE } from './retraining-contract';

/** A job's name and request. */
export interface NamedJob<Request> {
  readonly name: string;
  readonly request: Request;
}

/** The prepare job of raw data whose listing (or content) hashes to `rawDigest`. */
export function prepareJob(config: PipelineConfig, rawDigest: string): NamedJob<CreateProcessingJobCommandInput> {
  const name = processingName(config.prepare.identity, { data: { key: config.raw.key, version: `sha256:${rawDigest}` } });
  return { name, request: processingJobRequest(config.prepare.spec, { jobName: name, inputKeys: { data: config.raw.key } }) };
}

/**
 * The training job (named by the prepared data's content hash, with image, hyperparameters and instance settings:
 * the run's fingerprint) and the evaluate job of its model on prepare's raw test rows, which also scores the
 * approved model (`approvedModel`, its model data URL; approved-model.ts) on those rows when there is one.
 */
export function trainingJobs(
  config: PipelineConfig,
  prepareName: string,
  dataHash: string,
  approvedModel?: string,
): { train: NamedJob<CreateTrainingJobCommandInput>; evaluate: NamedJob<CreateProcessingJobCommandInput> } {
  const prepared = (output: string) => processingOutputPrefix(config.prepare.spec, prepareName, output);
  const identity = config.train.identity;
  // The prepared data by its content, wherever it lies: the same data, image and settings name the same job.
  const trainName = jobNameOf(
    identity.prefix,
    {
      ...identity.inputs,
      data: { ...identity.inputs.data, prefix: config.prepare.spec.outputPrefix, version: `sha256:${dataHash}` },
    },
    identity.attempt,
  );
  const train = { name: trainName, request: trainingJobRequest(config.train.spec, { jobName: trainName, dataPrefix: prepared('data') }) };
  // The raw test rows: each model's own preprocessing reads them, so the approved model is scored on the same rows.
  const testKey = `${prepared('report')}${TEST_ROWS_FILE}`;
  const modelKey = modelArtifactKey(config.train.spec, trainName);
  const evaluateName = processingName(
    config.evaluate.identity,
    { model: { key: modelKey, version: trainName }, test: { key: testKey, version: prepareName } },
    approvedModel,
  );
  return {
    train,
    evaluate: {
      name: evaluateName,
      request: processingJobRequest(config.evaluate.spec, {
        jobName: evaluateName,
        inputKeys: { model: modelKey, test: testKey },
        approvedModel,
      }),
    },
  };
}

/** A processing job's name with the run's input keys and versions (and the approved model it scores) in its identity. */
function processingName(
  identity: PipelineConfig['prepare']['identity'],
  run: Record<string, { key: string; version: string }>,
  approvedModel?: string,
): string {
  const inputs: ProcessingIdentity = {
    ...identity.inputs,
    inputs: identity.inputs.inputs.map((i) => (run[i.name] ? { ...i, key: run[i.name].key, version: run[i.name].version } : i)),
    ...(approvedModel ? { approvedModel } : {}),
  };
  return jobNameOf(identity.prefix, inputs, identity.attempt);
}
