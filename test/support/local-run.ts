/**
 * `npm run local` (bin/local.ts) as a child process for end-to-end tests: its output collected, its exit awaited, and
 * a wait for the first stdout line matching a pattern that rejects when the process exits first.
 */
import { ChildProcessWithoutNullStreams, spawn } from 'child_process';
import * as path from 'path';

const REPO = path.resolve(__dirname, '..', '..');
const TSX = path.join(REPO, 'node_modules', '.bin', 'tsx');

export interface LocalRun {
  readonly child: ChildProcessWithoutNullStreams;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves with the exit code once the process is gone. */
  readonly exited: Promise<number | null>;
  /** Resolves with the first stdout match of `pattern`, or rejects when the process exits first or the time is up. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

/** Starts `npm run local -- <args>`; `defaultTimeoutMs` bounds each waitFor that names no time of its own. */
export function runLocal(args: string[], env: NodeJS.ProcessEnv = {}, defaultTimeoutMs = 150_000): LocalRun {
  // Its own process group, so a failed test can kill tsx and the runner it starts together.
  const child = spawn(TSX, ['bin/local.ts', ...args], { cwd: REPO, env: { ...process.env, OMP_NUM_THREADS: '1', ...env }, detached: true });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString('utf8');
  });
  child.stderr.on('data', (c: Buffer) => {
    err += c.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const waitFor = (pattern: RegExp, timeoutMs = defaultTimeoutMs) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms:\n${out}\n${err}`)), timeoutMs);
      const check = () => {
        const match = out.match(pattern);
        if (match) {
          clearTimeout(timer);
          resolve(match);
        }
      };
      child.stdout.on('data', check);
      check();
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`exited before ${pattern}:\n${out}\n${err}`));
      });
    });
  return { child, stdout: () => out, stderr: () => err, exited, waitFor };
}

/** Whether a process, or with `group` any process of its group, still exists. */
export function alive(pid: number, group = false): boolean {
  try {
    process.kill(group ? -pid : pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
