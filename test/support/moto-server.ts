/**
 * A real local AWS API stand-in for handler tests: moto's server from the project venv, on 127.0.0.1 and a
 * free port, reached through the unmodified AWS SDK clients via AWS_ENDPOINT_URL_<SERVICE>, behind a proxy
 * that refuses what the service's API model refuses (api-model-proxy.ts).
 */
import { ChildProcess, spawn } from 'child_process';
import * as net from 'net';
import * as path from 'path';

import { ApiModelProxy, startApiModelProxy } from './api-model-proxy';

const MOTO_SERVER = path.join(__dirname, '..', '..', '.venv', 'bin', 'moto_server');

export interface MotoServer {
  /** The endpoint for SDK clients: the API-model proxy in front of moto. */
  readonly endpoint: string;
  /** What the proxy checked against the API models. */
  readonly proxy: ApiModelProxy;
  stop(): Promise<void>;
}

/** A TCP port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Starts moto_server and waits until it answers (up to `timeoutMs`). */
export async function startMoto(timeoutMs = 30_000): Promise<MotoServer> {
  const port = await freePort();
  const proc: ChildProcess = spawn(MOTO_SERVER, ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`moto_server exited (${proc.exitCode}): ${stderr}`);
    try {
      const res = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      proc.kill();
      throw new Error(`moto_server did not start within ${timeoutMs} ms: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const proxy = await startApiModelProxy(endpoint);
  return {
    endpoint: proxy.endpoint,
    proxy,
    stop: async () => {
      await proxy.stop();
      await new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill();
      });
    },
  };
}
