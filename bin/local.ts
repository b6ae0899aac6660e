#!/usr/bin/env node
/**
 * `npm run local`: the platform's model pipeline end to end on 127.0.0.1, on the code that runs in AWS,
 * without an account.
 *
 * 1. sets up the Python environment (scripts/ensure-python.sh);
 * 2. prepares the raw data (--data, or the bundled raw digits) with the real `prepare` entry point and the
 *    configured prepare* settings: cleaning, a stratified split, the fitted preprocessing and a data report;
 * 3. trains on it with the real `train` entry point on a temporary /opt/ml tree, with the configured
 *    hyperparameters; training ends by evaluating the model on the test split (evaluation.html);
 * 4. shows the evaluation;
 * 5. gates the model (the qualityGate* settings: the rule the deploy's registration applies) and registers
 *    it in a local registry folder, Approved or Rejected (a rejected model fails the run, as it fails a deploy);
 * 6. starts the real `serve` entry point on the newest approved model;
 * 7. starts the SageMaker Runtime stand-in and a local API Gateway front that hands API Gateway proxy events
 *    to the real proxy Lambda handler (constructs/serving/runtime/inference-proxy.handler.ts);
 * 8. sends one raw test row through the API and prints the answer and the reports' paths, then serves until
 *    Ctrl-C (or, with --once, exits), stopping every process it started.
 *
 * Every request the API answers is captured under <work dir>/capture/ as an endpoint with data capture does it;
 * `--drift` checks that traffic for drift against the served model (local/steps/drift.ts) instead of serving.
 *
 * `--retrain --data <new data>` serves the newest approved version, runs the synthesized retraining state machine on
 * the new data with local tasks and moves the running server to an approved new version blue/green
 * (local/retrain/retrain-flow.ts, docs/retraining.md).
 *
 * With --model-dir, steps 2 to 5 are skipped and that model is served. The settings are the ones `cdk deploy`
 * reads (cdk.json, and -c key=value over it; local/local-config.ts), mapped to what the image reads as for the
 * deploy (lib/image-settings.ts).
 *
 * This file parses the command line, handles signals and cleans up; the flow is local/pipeline.ts and its steps
 * local/steps/. `--help` lists the flags. Exit codes: 0 done, 1 failed, 2 bad command line, 130 interrupted
 * while starting.
 */
import { ConfigError } from '../lib/config';
import { loadLocalConfig, LocalConfig } from '../local/local-config';
import { LocalOptions, parseLocalOptions, USAGE, UsageError } from '../local/local-options';
import { runLocalPipeline, stepCount } from '../local/pipeline';
import { Progress } from '../local/progress';
import { retrainStepCount, runLocalRetrain } from '../local/retrain/retrain-flow';
import { checkDrift } from '../local/steps/drift';
import { ensurePortFree } from '../local/steps/port';
import { LocalModeError } from '../local/steps/run';

/** Async cleanups, run once in reverse order of registration. */
const cleanups: (() => Promise<void> | void)[] = [];
const interrupted = new AbortController();

async function main(): Promise<number> {
  let options: LocalOptions;
  try {
    options = parseLocalOptions(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`error: ${e.message} (see --help)`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const local = loadCdkConfig(options.context);
  // What every flow gets: the options, the settings, its progress display, Ctrl-C, and a place for its cleanups.
  const run = (steps: number) => ({
    options,
    local,
    progress: new Progress(steps),
    signal: interrupted.signal,
    onCleanup: (cleanup: () => Promise<void> | void) => cleanups.push(cleanup),
  });
  if (options.drift) return checkDrift(run(2));
  if (options.port !== 0) await ensurePortFree(options.port);
  if (options.retrain) {
    // aws-local-stepfunctions, which runs the definition, needs Node.js 22 (Promise.withResolvers); npm run local uses the pinned 24.
    const major = Number(process.versions.node.split('.')[0]);
    if (major < 22)
      throw new LocalModeError(
        `--retrain needs Node.js 22 or newer (this is ${process.version}); run it as npm run local -- --retrain ...`,
      );
    return runLocalRetrain(run(retrainStepCount(options.workDir)));
  }
  return runLocalPipeline(run(stepCount(options.modelDir)));
}

/** The configuration `cdk deploy` would use: cdk.json's context and the -c overrides, validated by lib/config.ts. */
function loadCdkConfig(overrides: Record<string, string>): LocalConfig {
  try {
    return loadLocalConfig(overrides);
  } catch (e) {
    if (e instanceof ConfigError) throw new LocalModeError(`cdk.json or -c has an invalid setting: ${e.message.replace(/\n/g, '; ')}`);
    throw e;
  }
}

async function cleanUp(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup();
    } catch (e) {
      console.error(`warning: cleanup failed: ${(e as Error).message}`);
    }
  }
}

let signals = 0;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    // A second Ctrl-C does not wait for a clean stop; the model server's exit hook still kills its group.
    if (++signals > 1) process.exit(130);
    console.log(`\n${signal}: stopping...`);
    interrupted.abort();
  });
}

main().then(
  async (code) => {
    await cleanUp();
    if (code === 0 && signals > 0) console.log('Stopped every process it started.');
    process.exit(code);
  },
  async (e: unknown) => {
    await cleanUp();
    if (interrupted.signal.aborted) process.exit(130);
    console.error(e instanceof LocalModeError ? `error: ${e.message}` : `error: ${(e as Error).stack ?? String(e)}`);
    process.exit(1);
  },
);
