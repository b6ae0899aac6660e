/**
 * One local retrain at a time per work dir, as the deployed pipeline's `Plan` step allows one run at a time: a lock
 * file holding the running retrain's process id. A lock whose process is gone (a killed run) is taken over.
 */
import * as fs from 'fs';
import * as path from 'path';

export type RunLock = { readonly busy: false; release(): void } | { readonly busy: true; readonly holder: string };

export function acquireRunLock(workDir: string): RunLock {
  fs.mkdirSync(workDir, { recursive: true });
  const file = path.join(workDir, 'retrain.lock');
  const release = () => {
    if (holderPid(file) === process.pid) fs.rmSync(file, { force: true });
  };
  try {
    fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
    return { busy: false, release };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const pid = holderPid(file);
  if (pid !== undefined && pid !== process.pid && alive(pid)) return { busy: true, holder: `the local retrain with process id ${pid}` };
  fs.writeFileSync(file, String(process.pid));
  return { busy: false, release };
}

function holderPid(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
