/**
 * Starts and stops the real model server of the training image (`python training-image/entrypoint.py serve`,
 * what SageMaker runs on an endpoint instance) as a child process on 127.0.0.1 and a free port, serving the
 * model under `<smRoot>/model`, and waits until `GET /ping` answers 200.
 *
 * Used by tests, benchmarks and `npm run local`; no test-framework dependency.
 */
import { ChildProcess, spawn } from 'child_process';
import * as http from 'http';
import * as net from 'net';

import { collectLines } from './output-lines';
import { DEFAULT_PYTHON, ENTRY_SCRIPT, REPO_ROOT } from './train-model';

/** The image's port setting (SageMaker's). */
export const PORT_ENV = 'SAGEMAKER_BIND_TO_PORT';
/** The image's listen-address override; SageMaker itself leaves it unset (all interfaces). */
export const HOST_ENV = 'MODEL_SERVER_HOST';
/** The image's worker count (default: one per CPU). */
export const WORKERS_ENV = 'MODEL_SERVER_WORKERS';

export interface ModelServerOptions {
  /** A folder laid out like /opt/ml with the model in model/ (see trainModel). */
  readonly smRoot: string;
  /**
   * Python interpreter with the image's requirements.
   * @default DEFAULT_PYTHON
   */
  readonly python?: string;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default - a free port */
  readonly port?: number;
  /**
   * Worker processes.
   * @default 1 - enough for tests and local runs, and light on a laptop
   */
  readonly workers?: number;
  /**
   * Longest to wait for `GET /ping` to answer 200.
   * @default 60000
   */
  readonly startTimeoutMs?: number;
  /**
   * More environment variables for the server (for example the number of workers).
   * @default - none
   */
  readonly env?: Record<string, string>;
  /**
   * Receives the server's output lines.
   * @default - kept only for the error message when the start fails
   */
  readonly onOutput?: (line: string) => void;
}

export interface ModelServer {
  /** Base URL, for example http://127.0.0.1:41234. */
  readonly url: string;
  readonly port: number;
  /** The server's process id, also its process group's id (its workers are in that group). */
  readonly pid: number | undefined;
  /** Stops the server (SIGTERM to its process group, SIGKILL after 10 s) and waits until it is gone. */
  stop(): Promise<void>;
}

/** Starts the model server and resolves once it answers `GET /ping` with 200. */
export async function startModelServer(options: ModelServerOptions): Promise<ModelServer> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? (await freePort(host));
  const python = options.python ?? DEFAULT_PYTHON;
  const child = spawn(python, [ENTRY_SCRIPT, 'serve'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      [WORKERS_ENV]: String(options.workers ?? 1),
      ...options.env,
      SM_ROOT: options.smRoot,
      [PORT_ENV]: String(port),
      [HOST_ENV]: host,
      PYTHONUNBUFFERED: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so stop() also reaches the workers the server forks.
    detached: true,
  });
  const tail = collectLines([child.stdout, child.stderr], options.onOutput);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Never leave a server behind when this process ends without calling stop().
  const killOnExit = () => signalGroup(child, 'SIGKILL');
  process.once('exit', killOnExit);

  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    signalGroup(child, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  const url = `http://${host}:${port}`;
  try {
    await waitForPing(url, child, options.startTimeoutMs ?? 60_000);
  } catch (e) {
    await stop();
    throw new Error(`The model server did not start: ${(e as Error).message}\n${tail.join('\n')}`);
  }
  return { url, port, pid: child.pid, stop };
}

/** A TCP port that is free on `host` right now. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

async function waitForPing(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`it exited (${child.signalCode ?? `exit code ${child.exitCode}`})`);
    }
    if (await pingOk(url)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`GET ${url}/ping did not answer 200 within ${timeoutMs} ms`);
}

function pingOk(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(`${url}/ping`, { timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}
