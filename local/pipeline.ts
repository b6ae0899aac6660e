/**
 * The flow of `npm run local`, composed of the steps in steps/ (one job each): Python environment, prepare,
 * train, evaluate, gate and register, serve, the API, a sample request. bin/local.ts parses the command line,
 * handles signals and cleans up; this decides what runs in which order. Exit codes: 0 done, 130 interrupted.
 */
import type { PreparedData } from './prepare-data';
import { startApi } from './steps/api';
import { evaluate } from './steps/evaluate';
import { useModelDir } from './steps/model-dir';
import { prepare } from './steps/prepare';
import { setUpPython } from './steps/python-env';
import { register, RegisteredModel } from './steps/register';
import { LocalRun, serveUntilStopped } from './steps/run';
import { predictionError, printResult, sendSample } from './steps/sample';
import { serve } from './steps/serve';
import { train } from './steps/train';

/** The number of numbered steps the run shows: four when it serves a given model, eight when it trains one. */
export function stepCount(modelDir: string | undefined): number {
  return modelDir ? 4 : 8;
}

/** What the model steps hand to serving. */
interface ServedModel {
  /** A folder laid out like /opt/ml with the model in model/. */
  readonly smRoot: string;
  /** The prepared data (absent with --model-dir). */
  readonly prepared?: PreparedData;
  /** The model's registry record (absent with --model-dir). */
  readonly registered?: RegisteredModel;
}

/** Runs the whole flow; resolves with the exit code (serving until the run's signal aborts, unless --once). */
export async function runLocalPipeline(run: LocalRun): Promise<number> {
  const { options, progress, signal } = run;
  const model = await modelToServe(run);
  if (signal.aborted || !model) return 130;

  const server = await serve(run, model.smRoot);
  if (signal.aborted) return 130;
  const { front } = await startApi(run, server.url);

  const { sample, answer } = await sendSample(run, front, model.prepared);
  const record = model.registered?.record;
  printResult(run, sample, answer, { modelVersion: record?.modelVersion, modelServerPid: server.pid });
  if (answer.status !== 200) throw predictionError(answer);
  progress.done('answered');
  if (model.registered) {
    console.log(`Evaluation report: ${model.registered.record.evaluationReport}`);
    if (model.registered.record.dataReport) console.log(`Data report: ${model.registered.record.dataReport}`);
    console.log(`Registry record: ${model.registered.registryFile}`);
  }
  console.log(
    `Done: ${record ? 'prepared, trained, evaluated, registered, ' : ''}served and answered through the API in ${progress.elapsed()}.`,
  );

  if (options.once) return 0;
  await serveUntilStopped(front.predictUrl, signal);
  return 0;
}

/** Steps 1 to 5: the Python environment, then prepare, train, evaluate and register (or the given model). */
async function modelToServe(run: LocalRun): Promise<ServedModel | undefined> {
  const { options, progress, signal } = run;
  progress.step('Setting up the Python environment...');
  await setUpPython(run);
  if (options.modelDir) return { smRoot: useModelDir(run, options.modelDir) };
  progress.done('ready');
  if (signal.aborted) return undefined;

  const prepared = await prepare(run);
  if (signal.aborted) return undefined;
  const model = await train(run, prepared);
  if (!model) return undefined;
  const evaluation = evaluate(run, model);
  const registered = await register(run, model, evaluation, prepared);
  return { smRoot: model.smRoot, prepared, registered };
}
