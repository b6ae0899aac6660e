#!/usr/bin/env node
/**
 * `npm run local`: the platform end to end on 127.0.0.1, on the code that runs in AWS, without an account.
 *
 * 1. sets up the Python environment (scripts/ensure-python.sh) and trains the digits model with the real
 *    `train` entry point on a temporary /opt/ml tree, with the hyperparameters cdk.json configures;
 * 2. starts the real `serve` entry point on the trained model;
 * 3. starts the SageMaker Runtime stand-in and a local API Gateway front that hands API Gateway proxy events
 *    to the real proxy Lambda handler (constructs/serving/runtime/inference-proxy.handler.ts);
 * 4. sends one sample digit through the API and prints the answer, then serves until Ctrl-C (or, with
 *    --once, exits), stopping every process it started.
 *
 * `--help` lists the flags. Exit codes: 0 done, 1 failed, 2 bad command line, 130 interrupted while starting.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { ConfigError, loadConfig, PlatformConfig } from '../lib/config';
import { ApiGatewayFront, startApiGatewayFront } from '../local/api-gateway-front';
import { LocalOptions, parseLocalOptions, UsageError, USAGE } from '../local/local-options';
import { startModelServer } from '../local/model-server';
import { Progress } from '../local/progress';
import { startSageMakerRuntimeStandIn } from '../local/sagemaker-runtime-standin';
import { REPO_ROOT, TRAINING_IMAGE_DIR, trainModel } from '../local/train-model';

/** The endpoint name the local proxy calls (the stand-in knows only this one). */
const ENDPOINT_NAME = 'local-digits-endpoint';
const HOST = '127.0.0.1';

/** A failure the user can act on: one line saying what went wrong and what to do. */
class LocalModeError extends Error {}

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
  const config = loadCdkConfig();
  if (options.port !== 0) await ensurePortFree(options.port);

  const progress = new Progress(4);
  const smRoot = await prepareModel(options, config, progress);
  if (interrupted.signal.aborted) return 130;

  progress.step('Starting the model server (training-image `serve`)...');
  const server = await startModelServer({
    smRoot,
    onOutput: options.verbose ? (line) => progress.detail(`serve | ${line}`) : undefined,
  });
  cleanups.push(() => server.stop());
  progress.detail(`model server pid ${server.pid} (process group ${server.pid}) at ${server.url}`);
  progress.done('GET /ping answers 200');
  if (interrupted.signal.aborted) return 130;

  progress.step('Starting the SageMaker Runtime stand-in and the API (API Gateway front + proxy Lambda handler)...');
  const front = await startApi(server.url, options.port, config);
  progress.detail(`Listening on ${front.predictUrl}`);
  progress.detail('the proxy handler logs one JSON line per request, as in CloudWatch Logs');
  progress.done('API ready');

  progress.step('Sending a sample digit...');
  const row = sampleRow(options.sample);
  printCurlExample(progress, front, row.features);
  const answer = await predict(front.predictUrl, row.features);
  const correct = answer.label === row.label;
  progress.detail(answer.status === 200
    ? `answer: predicted ${answer.label} (probability ${answer.probability}), true label ${row.label}: ${correct ? 'correct' : 'WRONG'}`
    : `answer: HTTP ${answer.status} ${answer.body}`);
  console.log(`RESULT ${JSON.stringify({ status: answer.status, predicted: answer.label, expected: row.label, correct, sample: options.sample, modelServerPid: server.pid, runnerPid: process.pid })}`);
  if (answer.status !== 200) throw new LocalModeError(`the sample prediction failed with HTTP ${answer.status}: ${answer.body}`);
  progress.done('answered');
  console.log(`Done: trained, served and answered through the API in ${progress.elapsed()}.`);

  if (options.once) return 0;
  console.log(`\nServing on ${front.predictUrl} (listening; no SigV4 or API key is checked locally). Ctrl-C stops.`);
  await new Promise<void>((resolve) => {
    if (interrupted.signal.aborted) resolve();
    interrupted.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  return 0;
}

/** The configuration `cdk deploy` would use: cdk.json's context, validated by lib/config.ts. */
function loadCdkConfig(): PlatformConfig {
  const cdkJson = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  try {
    return loadConfig(cdkJson.context ?? {});
  } catch (e) {
    if (e instanceof ConfigError) throw new LocalModeError(`cdk.json has an invalid setting: ${e.message.replace(/\n/g, '; ')}`);
    throw e;
  }
}

/** Fails fast, before minutes of setup, when the API's port is taken. */
function ensurePortFree(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (e) => reject(portError(port, e)));
    probe.listen(port, HOST, () => probe.close(() => resolve()));
  });
}

function portError(port: number, e: unknown): Error {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return new LocalModeError(`port ${port} on ${HOST} is already in use; stop what uses it or pass --port <another> (0 picks a free one)`);
  if (code === 'EACCES') return new LocalModeError(`not allowed to listen on port ${port}; pass --port 1024 or higher (0 picks a free one)`);
  return e as Error;
}

/** Steps 1: the Python environment and the model (trained, cached or given); returns the /opt/ml-like root. */
async function prepareModel(options: LocalOptions, config: PlatformConfig, progress: Progress): Promise<string> {
  progress.step('Setting up the Python environment and the model...');
  await ensurePython(progress);
  if (options.modelDir) return useModelDir(options, progress);

  const hyperparameters = { ...config.hyperparameters, ...(options.epochs !== undefined ? { epochs: String(options.epochs) } : {}) };
  progress.detail(`training with the real \`train\` entry point on a temporary /opt/ml tree; hyperparameters ${JSON.stringify(hyperparameters)}`);
  let model;
  try {
    model = await trainModel({
      hyperparameters,
      cacheDir: path.join(options.workDir, 'models'),
      force: !options.reuse,
      signal: interrupted.signal,
      onOutput: (line) => {
        if (/^(epoch|test_accuracy)=/.test(line) || options.verbose) progress.detail(`train | ${line}`);
      },
    });
  } catch (e) {
    if (interrupted.signal.aborted) return '';
    const [first, ...tail] = (e as Error).message.split('\n');
    if (!options.verbose) for (const line of tail.slice(-15)) progress.detail(`train | ${line}`);
    throw new LocalModeError(`${first.replace(/^Training failed/, 'training failed')}; fix the hyperparameters in cdk.json (context.hyperparameters) or the data, then run again`);
  }
  const metadata = JSON.parse(fs.readFileSync(path.join(model.modelDir, 'metadata.json'), 'utf8')) as { model_version?: string; metrics?: { test_accuracy?: number } };
  progress.detail(`model ${metadata.model_version} (test accuracy ${metadata.metrics?.test_accuracy}) in ${model.modelDir}`);
  progress.done(model.cached ? 'reused the cached model (--reuse)' : 'trained');
  return model.smRoot;
}

/** Runs scripts/ensure-python.sh (quick when .venv is current), showing its messages. */
function ensurePython(progress: Progress): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [path.join(REPO_ROOT, 'scripts', 'ensure-python.sh')], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const kill = () => child.kill('SIGTERM');
    interrupted.signal.addEventListener('abort', kill, { once: true });
    let lastError = '';
    const show = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n').filter((l) => l.trim() !== '')) {
        progress.detail(`python | ${line}`);
        if (/^error:/i.test(line)) lastError = line.replace(/^error:\s*/i, '');
      }
    };
    child.stdout.on('data', show);
    child.stderr.on('data', show);
    child.on('error', (e) => reject(new LocalModeError(`cannot run bash for scripts/ensure-python.sh: ${e.message}`)));
    child.on('close', (code) => {
      interrupted.signal.removeEventListener('abort', kill);
      if (code === 0 || interrupted.signal.aborted) return resolve();
      reject(new LocalModeError(lastError
        ? `Python setup failed: ${lastError}`
        : `Python setup failed (scripts/ensure-python.sh exited ${code}); see its output above, fix it and run again`));
    });
  });
}

/** Serves a model folder the user trained: a temporary /opt/ml-like root whose model/ links to it. */
function useModelDir(options: LocalOptions, progress: Progress): string {
  const dir = options.modelDir!;
  if (!fs.existsSync(path.join(dir, 'metadata.json')) || !fs.existsSync(path.join(dir, 'model.pt'))) {
    throw new LocalModeError(`--model-dir ${dir} holds no trained model (model.pt and metadata.json); pass the model/ folder of a training run, or leave --model-dir out to train`);
  }
  fs.mkdirSync(options.workDir, { recursive: true });
  const root = fs.mkdtempSync(path.join(options.workDir, 'serve-'));
  fs.symlinkSync(dir, path.join(root, 'model'), 'dir');
  cleanups.push(() => fs.rmSync(root, { recursive: true, force: true }));
  progress.done(`serving ${dir} (no training)`);
  return root;
}

/** The stand-in and the front, with the real handler module loaded after its environment is set. */
async function startApi(modelUrl: string, port: number, config: PlatformConfig): Promise<ApiGatewayFront> {
  const standIn = await startSageMakerRuntimeStandIn({ modelUrl, endpointNames: [ENDPOINT_NAME] });
  cleanups.push(() => standIn.close());
  const region = config.region ?? 'us-east-1';
  // The unmodified SDK client reads these when the handler creates it: the stand-in, dummy credentials
  // (never the user's real ones, which would otherwise be looked up and sent along), no metadata service.
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: standIn.url,
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_ACCESS_KEY_ID: 'AKIDLOCALMODE',
    AWS_SECRET_ACCESS_KEY: 'local-mode-not-a-secret',
    AWS_EC2_METADATA_DISABLED: 'true',
    // The SDK warns on Node 20 about its releases after January 2027; package-lock pins this one.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ENDPOINT_NAME,
  });
  for (const name of ['AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_ENDPOINT_URL']) delete process.env[name];
  const { handler } = await import('../constructs/serving/runtime/inference-proxy.handler.js');
  try {
    const front = await startApiGatewayFront({ handler, host: HOST, port, region });
    cleanups.push(() => front.close());
    return front;
  } catch (e) {
    throw portError(port, e);
  }
}

interface Sample { readonly features: number[]; readonly label: string }

/** One data row of the bundled test set: its 64 pixels and its label. */
function sampleRow(index: number): Sample {
  const [header, ...rows] = fs.readFileSync(path.join(TRAINING_IMAGE_DIR, 'sample-data', 'test.csv'), 'utf8').trim().split(/\r?\n/);
  if (index >= rows.length) throw new LocalModeError(`--sample ${index} is past the last row of test.csv; use 0 to ${rows.length - 1}`);
  const labelAt = header.split(',').indexOf('label');
  const values = rows[index].split(',');
  return { features: values.filter((_, i) => i !== labelAt).map(Number), label: values[labelAt] };
}

function printCurlExample(progress: Progress, front: ApiGatewayFront, features: number[]): void {
  progress.detail('try it yourself:');
  progress.detail(`  curl -s -H 'content-type: application/json' -d '{"instances": [[${features.join(',')}]]}' ${front.predictUrl}`);
}

interface Answer { readonly status: number; readonly body: string; readonly label?: string; readonly probability?: number }

async function predict(url: string, features: number[]): Promise<Answer> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances: [features] }) });
  const body = await res.text();
  if (res.status !== 200) return { status: res.status, body };
  const prediction = (JSON.parse(body) as { predictions: { label: string; probabilities: Record<string, number> }[] }).predictions[0];
  return { status: res.status, body, label: prediction.label, probability: prediction.probabilities[prediction.label] };
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
