/** Step: the real `train` entry point on the prepared channels, with the configured hyperparameters (as the deploy's job). */
import * as fs from 'fs';
import * as path from 'path';

import { trainingHyperparameters } from '../../lib/image-settings';
import type { PreparedData } from '../prepare-data';
import { TrainedModel, trainModel } from '../train-model';
import { LocalModeError, LocalRun } from './run';

/** A trained model and what its metadata.json says. */
export interface LocalModel extends TrainedModel {
  /** The model's content hash (metadata.json `model_version`). */
  readonly modelVersion: string;
}

/** The hyperparameters a run trains with: `base` (the configured ones by default), with --epochs over them. */
export function hyperparametersOf(
  run: LocalRun,
  base: Record<string, string> = trainingHyperparameters(run.local.config),
): Record<string, string> {
  return { ...base, ...(run.options.epochs !== undefined ? { epochs: String(run.options.epochs) } : {}) };
}

/**
 * Trains (or, with --reuse, finds) the model with `hyperparameters`, by default the configured ones and --epochs;
 * undefined when the user interrupted.
 */
export async function train(
  run: LocalRun,
  prepared: PreparedData,
  hyperparameters: Record<string, string> = hyperparametersOf(run),
): Promise<LocalModel | undefined> {
  const { options, progress, signal } = run;
  progress.step('Training (training-image `train`, which ends by evaluating the model on the test split)...');
  progress.detail(
    `training with the real \`train\` entry point on a temporary /opt/ml tree; hyperparameters ${JSON.stringify(hyperparameters)}`,
  );
  let model: TrainedModel;
  try {
    model = await trainModel({
      hyperparameters,
      dataDir: prepared.dataDir,
      cacheDir: path.join(options.workDir, 'models'),
      force: !options.reuse,
      signal,
      onOutput: (line) => {
        if (/^(epoch|test_accuracy)=/.test(line) || options.verbose) progress.detail(`train | ${line}`);
      },
    });
  } catch (e) {
    if (signal.aborted) return undefined;
    const [first, ...tail] = (e as Error).message.split('\n');
    if (!options.verbose) for (const line of tail.slice(-15)) progress.detail(`train | ${line}`);
    throw new LocalModeError(
      `${first.replace(/^Training failed/, 'training failed')}; fix the hyperparameters (cdk.json's context.hyperparameters, or -c hyperparameters=...) or the data, then run again`,
    );
  }
  const metadata = JSON.parse(fs.readFileSync(path.join(model.modelDir, 'metadata.json'), 'utf8')) as { model_version: string };
  progress.detail(`model ${metadata.model_version} in ${model.modelDir}`);
  progress.done(model.cached ? 'reused the cached model (--reuse)' : 'trained');
  return { ...model, modelVersion: metadata.model_version };
}
