/** Step: the real `serve` entry point (the model server) on a model root, stopped when the run ends. */
import { ModelServer, startModelServer } from '../model-server';
import { LocalRun } from './run';

export async function serve(run: LocalRun, smRoot: string): Promise<ModelServer> {
  const { options, progress } = run;
  progress.step('Starting the model server (training-image `serve`)...');
  const server = await startModelServer({
    smRoot,
    onOutput: options.verbose ? (line) => progress.detail(`serve | ${line}`) : undefined,
  });
  run.onCleanup(() => server.stop());
  progress.detail(`model server pid ${server.pid} (process group ${server.pid}) at ${server.url}`);
  progress.done('GET /ping answers 200');
  return server;
}
