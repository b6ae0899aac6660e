/** Step (--model-dir): serve a model folder the user trained, through a temporary /opt/ml-like root whose model/ links to it. */
import * as fs from 'fs';
import * as path from 'path';

import { LocalModeError, LocalRun } from './run';

/** The root to serve from (its model/ is the given folder). */
export function useModelDir(run: LocalRun, dir: string): string {
  const { options, progress } = run;
  if (!fs.existsSync(path.join(dir, 'metadata.json')) || !fs.existsSync(path.join(dir, 'model.pt'))) {
    throw new LocalModeError(
      `--model-dir ${dir} holds no trained model (model.pt and metadata.json); pass the model/ folder of a training run, or leave --model-dir out to train`,
    );
  }
  fs.mkdirSync(options.workDir, { recursive: true });
  const root = fs.mkdtempSync(path.join(options.workDir, 'serve-'));
  fs.symlinkSync(dir, path.join(root, 'model'), 'dir');
  run.onCleanup(() => fs.rmSync(root, { recursive: true, force: true }));
  progress.done(`serving ${dir} (no training)`);
  return root;
}
