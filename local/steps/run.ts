/**
 * What every step of `npm run local` works with: the command line, the configuration, the progress lines, the
 * signal that says the user interrupted, and the list of cleanups. bin/local.ts creates it (and owns signals
 * and cleanup); the steps in this folder take it, so a new flow (a retrain, a drift check) composes them.
 */
import type { LocalConfig } from '../local-config';
import type { LocalOptions } from '../local-options';
import type { Progress } from '../progress';

/** A failure the user can act on: one line saying what went wrong and what to do. */
export class LocalModeError extends Error {}

export interface LocalRun {
  readonly options: LocalOptions;
  readonly local: LocalConfig;
  readonly progress: Progress;
  /** Aborted when the user interrupts (SIGINT, SIGTERM): a step stops what it started and returns. */
  readonly signal: AbortSignal;
  /** Registers a cleanup, run once, in reverse order of registration, when the run ends. */
  onCleanup(cleanup: () => Promise<void> | void): void;
}

/** The address every local server listens on. */
export const HOST = '127.0.0.1';

/** Says where the API listens, then waits until the user stops the run. */
export async function serveUntilStopped(predictUrl: string, signal: AbortSignal): Promise<void> {
  console.log(`\nServing on ${predictUrl} (listening; no SigV4 or API key is checked locally). Ctrl-C stops.`);
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
