/** Step: the Python environment (scripts/ensure-python.sh, quick when .venv is current), showing its messages. */
import { spawn } from 'child_process';
import * as path from 'path';

import { REPO_ROOT } from '../train-model';
import { LocalModeError, LocalRun } from './run';

export function setUpPython(run: LocalRun): Promise<void> {
  const { progress, signal } = run;
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [path.join(REPO_ROOT, 'scripts', 'ensure-python.sh')], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const kill = () => child.kill('SIGTERM');
    signal.addEventListener('abort', kill, { once: true });
    let lastError = '';
    const show = (chunk: Buffer) => {
      for (const line of chunk
        .toString('utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')) {
        progress.detail(`python | ${line}`);
        if (/^error:/i.test(line)) lastError = line.replace(/^error:\s*/i, '');
      }
    };
    child.stdout.on('data', show);
    child.stderr.on('data', show);
    child.on('error', (e) => reject(new LocalModeError(`cannot run bash for scripts/ensure-python.sh: ${e.message}`)));
    child.on('close', (code) => {
      signal.removeEventListener('abort', kill);
      if (code === 0 || signal.aborted) return resolve();
      reject(
        new LocalModeError(
          lastError
            ? `Python setup failed: ${lastError}`
            : `Python setup failed (scripts/ensure-python.sh exited ${code}); see its output above, fix it and run again`,
        ),
      );
    });
  });
}
