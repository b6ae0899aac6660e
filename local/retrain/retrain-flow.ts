/**
 * The flow of `npm run local -- --retrain --data <new data>`: the newest approved version of the work dir's registry
 * served as local mode serves it (model server, SageMaker Runtime stand-in, API front), the retraining pipeline's
 * synthesized state machine run on the new data by aws-local-stepfunctions with local tasks (task-handlers.ts), and
 * its outcome acted on as the rollout acts on it in AWS: Approved moves the running endpoint to the new version
 * blue/green (steps/swap.ts) and answers a sample through the API; Rejected fails the run with the gate's reason while
 * the old version keeps serving; Unchanged names the version the data matches. Exit codes as bin/local.ts's.
 */
import * as fs from 'fs';
import * as path from 'path';

import type { ApiGatewayFront } from '../api-gateway-front';
import { LocalModelRegistry, ModelRecord } from '../model-registry';
import type { ModelServer } from '../model-server';
import { retrainingDefinition } from '../state-machine/retraining-definition';
import { ExecutionOutcome, runStateMachine } from '../state-machine/state-machine-runner';
import { LocalApi, startApi } from '../steps/api';
import { setUpPython } from '../steps/python-env';
import { LocalModeError, LocalRun, serveUntilStopped } from '../steps/run';
import { predictionError, printResult, sendSample } from '../steps/sample';
import { serve } from '../steps/serve';
import { swapModel } from '../steps/swap';
import { LOCAL_STEP_FAILED, RetrainWork, taskHandlers } from './task-handlers';

/** The steps a retrain shows: with a version to serve first, the swap replaces starting server and API afterwards. */
export function retrainStepCount(workDir: string): number {
  return registryOf(workDir).newestApproved() ? 11 : 10;
}

/** What serves while the pipeline runs. */
interface Serving {
  readonly server: ModelServer;
  readonly api: LocalApi;
  readonly record: ModelRecord;
}

export async function runLocalRetrain(run: LocalRun): Promise<number> {
  const { options, local, progress, signal } = run;
  const current = registryOf(options.workDir).newestApproved();
  progress.step('Setting up the Python environment...');
  await setUpPython(run);
  progress.done('ready');
  if (signal.aborted) return 130;

  let serving: Serving | undefined;
  if (current) {
    const server = await serve(run, servingRoot(current));
    progress.detail(`version ${current.version} (${current.modelVersion}), the newest approved one`);
    if (signal.aborted) return 130;
    serving = { server, api: await startApi(run, server.url), record: current };
  } else {
    console.log(`No approved version in ${registryOf(options.workDir).dir}: this run registers the first one.`);
  }

  progress.step("Retraining pipeline: synthesizing the app and taking the retraining state machine's definition...");
  const { definition, config, source } = retrainingDefinition(local);
  progress.detail(`${source}: ${Object.keys(definition.States).length} states, valid ASL (asl-validator)`);
  progress.detail(`running it with aws-local-stepfunctions; its tasks run here (local/retrain/task-handlers.ts)`);
  progress.detail(`its model group ${config.registration.ModelPackageGroupName} is the work dir's registry here`);
  const work: RetrainWork = {};
  const execution = await runStateMachine(definition, { trigger: 'local', data: options.data }, taskHandlers(run, work), {
    executionArn: `arn:aws:states:${local.config.region ?? 'us-east-1'}:000000000000:execution:local-retraining:${Date.now()}`,
  });
  if (signal.aborted) return 130;
  const outcome = outcomeOf(execution);
  console.log(`OUTCOME ${JSON.stringify({ ...outcome, states: execution.states })}`);

  switch (outcome.result) {
    case 'Approved':
      break;
    case 'Unchanged':
      console.log(
        `Unchanged: --data, the image and the hyperparameters match version ${String(outcome.modelPackageVersion)} (${String(outcome.status)}); nothing trained or registered.`,
      );
      return servedUntilStopped(run, serving);
    case 'Rejected':
      throw new LocalModeError(
        `quality gate: version ${String(outcome.modelPackageVersion)} was Rejected: ${String(outcome.reason)}; ` +
          (serving ? `version ${serving.record.version} kept serving` : 'nothing is served') +
          ` (record: ${String(outcome.modelPackageArn)})`,
      );
    case 'Dropped':
      throw new LocalModeError(
        `another retrain is running in ${options.workDir} (${String(outcome.runningExecution)}): this one is dropped, as the pipeline drops a trigger during a run`,
      );
    default:
      throw new LocalModeError(`the retraining run ended as ${String(outcome.result)}: ${JSON.stringify(outcome)}`);
  }

  const registered = work.registered;
  const prepared = work.prepared;
  if (!registered || !prepared) throw new Error('the run was Approved without registering: the definition and task-handlers.ts disagree');
  const smRoot = servingRoot(registered.record);
  let front: ApiGatewayFront;
  let server: ModelServer;
  if (serving) {
    server = await swapModel(run, serving.api, serving.server, smRoot, registered.record);
    front = serving.api.front;
  } else {
    server = await serve(run, smRoot);
    if (signal.aborted) return 130;
    ({ front } = await startApi(run, server.url));
  }
  const { sample, answer } = await sendSample(run, front, prepared);
  printResult(run, sample, answer, {
    modelVersion: registered.record.modelVersion,
    version: registered.record.version,
    modelServerPid: server.pid,
    previousVersion: serving?.record.version,
    previousModelServerPid: serving?.server.pid,
  });
  if (answer.status !== 200) throw predictionError(answer);
  progress.done('answered');
  console.log(`Evaluation report: ${registered.record.evaluationReport}`);
  console.log(`Registry record: ${registered.registryFile}`);
  console.log(
    `Done: retrained, registered version ${registered.record.version} (Approved) and ${serving ? `moved the endpoint from version ${serving.record.version} to it` : 'served it'} in ${progress.elapsed()}.`,
  );
  if (options.once) return 0;
  await serveUntilStopped(front.predictUrl, signal);
  return 0;
}

/** The outcome the execution ended with; a failed run is the failed step's error. */
function outcomeOf(execution: ExecutionOutcome): Record<string, unknown> & { result: string } {
  if (execution.status === 'SUCCEEDED') return execution.output as Record<string, unknown> & { result: string };
  if (execution.error === LOCAL_STEP_FAILED) throw new LocalModeError(execution.cause);
  throw new LocalModeError(
    `the retraining run failed at ${execution.states.at(-1) ?? 'its start'}: ${execution.error}: ${execution.cause}`,
  );
}

/** Without --once, the version that served keeps serving; nothing served: done. */
async function servedUntilStopped(run: LocalRun, serving: Serving | undefined): Promise<number> {
  if (run.options.once || !serving) return 0;
  await serveUntilStopped(serving.api.front.predictUrl, run.signal);
  return 0;
}

/** The /opt/ml-like root of a registered model (the training cache's folder that holds its model/). */
function servingRoot(record: ModelRecord): string {
  if (path.basename(record.modelDir) !== 'model' || !fs.existsSync(path.join(record.modelDir, 'metadata.json')))
    throw new LocalModeError(
      `version ${record.version}'s model folder ${record.modelDir} is gone (a cleaned cache); retrain it with \`npm run local -- --data <its data>\` or use another --work-dir`,
    );
  return path.dirname(record.modelDir);
}

function registryOf(workDir: string): LocalModelRegistry {
  return new LocalModelRegistry(path.join(workDir, 'registry'));
}
