/**
 * Step (retrain): the endpoint moved to the new version blue/green, as SageMaker updates an endpoint: a second model
 * server starts on the new model and must answer `GET /ping`; the SageMaker Runtime stand-in then sends every new
 * invocation to it in one assignment, the invocations already sent to the old server finish there, and only then is
 * the old server stopped. No request is refused or cut off on the way.
 */
import type { ModelRecord } from '../model-registry';
import { ModelServer, startModelServer } from '../model-server';
import type { LocalApi } from './api';
import { LocalModeError, LocalRun } from './run';

export async function swapModel(run: LocalRun, api: LocalApi, old: ModelServer, smRoot: string, record: ModelRecord): Promise<ModelServer> {
  const { options, progress } = run;
  progress.step(`Moving the endpoint to version ${record.version} blue/green (a second model server, then the switch)...`);
  let next: ModelServer;
  try {
    next = await startModelServer({ smRoot, onOutput: options.verbose ? (line) => progress.detail(`serve | ${line}`) : undefined });
  } catch (e) {
    // As a failed SageMaker update: the old version keeps serving.
    throw new LocalModeError(
      `the model server of version ${record.version} did not start; the old version keeps serving until this run ends: ${(e as Error).message.split('\n')[0]}`,
    );
  }
  run.onCleanup(() => next.stop());
  // Cleanups run last-registered first: the API closes again here so that, at the end of the run, it stops taking
  // requests before the server behind it stops, as it did before the swap (closing twice is harmless).
  run.onCleanup(() => api.standIn.close());
  run.onCleanup(() => api.front.close());
  progress.detail(`new model server pid ${next.pid} at ${next.url}: GET /ping answers 200`);
  const inFlight = await api.standIn.switchModel(next.url);
  progress.detail(`invocations now go to ${next.url}; ${inFlight} already on the old server finished there`);
  await old.stop();
  progress.detail(`old model server pid ${old.pid} stopped`);
  progress.done(`serving version ${record.version}; the old server stopped after its last request`);
  return next;
}
