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
 * 5. gates the model (cdk.json's qualityGate* settings: the rule the deploy's registration applies) and registers
 *    it in a local registry folder, Approved or Rejected (a rejected model fails the run, as it fails a deploy);
 * 6. starts the real `serve` entry point on the newest approved model;
 * 7. starts the SageMaker Runtime stand-in and a local API Gateway front that hands API Gateway proxy events
 *    to the real proxy Lambda handler (constructs/serving/runtime/inference-proxy.handler.ts);
 * 8. sends one raw test row through the API and prints the answer and the reports' paths, then serves until
 *    Ctrl-C (or, with --once, exits), stopping every process it started.
 *
 * With --model-dir, steps 2 to 5 are skipped and that model is served. The settings are the ones `cdk deploy`
 * reads (cdk.json, and -c key=value over it; local/local-config.ts), mapped to what the image reads as for the
 * deploy (lib/image-settings.ts).
 *
 * `--help` lists the flags. Exit codes: 0 done, 1 failed, 2 bad command line, 130 interrupted while starting.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { ConfigError, PlatformConfig } from '../lib/config';
import { prepareEnvironment, trainingHyperparameters } from '../lib/image-settings';
import { ApiGatewayFront, startApiGatewayFront } from '../local/api-gateway-front';
import { LocalOptions, parseLocalOptions, UsageError, USAGE } from '../local/local-options';
import { startModelServer } from '../local/model-server';
import { LocalModelRegistry, ModelRecord } from '../local/model-registry';
import { LocalConfig, loadLocalConfig } from '../local/local-config';
import { PreparedData, prepareData, RAW_DIGITS, readSampleRequests } from '../local/prepare-data';
import { Progress } from '../local/progress';
import { startSageMakerRuntimeStandIn } from '../local/sagemaker-runtime-standin';
import { REPO_ROOT, TRAINING_IMAGE_DIR, trainModel } from '../local/train-model';
import { evaluationMetrics } from '../constructs/training/runtime/metric-definitions';
import { applyQualityGate } from '../constructs/training/runtime/quality-gate';

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
  const local = loadCdkConfig(options.context);
  const config = local.config;
  if (options.port !== 0) await ensurePortFree(options.port);

  const progress = new Progress(options.modelDir ? 4 : 8);
  const model = await prepareModel(options, local, progress);
  if (interrupted.signal.aborted || !model) return 130;
  const smRoot = model.smRoot;

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

  progress.step(model.prepared ? 'Sending a sample row of the test split...' : 'Sending a sample digit...');
  const row = model.prepared ? preparedSample(model.prepared, options.sample) : sampleRow(options.sample);
  progress.detail(`sample: ${row.origin}`);
  printCurlExample(progress, front, row.features);
  const answer = await predict(front.predictUrl, row.features);
  const correct = answer.label === row.label;
  progress.detail(answer.status === 200
    ? `answer: predicted ${answer.label} (probability ${answer.probability}), true label ${row.label}: ${correct ? 'correct' : 'WRONG'}`
    : `answer: HTTP ${answer.status} ${answer.body}`);
  console.log(`RESULT ${JSON.stringify({ status: answer.status, predicted: answer.label, expected: row.label, correct, sample: options.sample, modelVersion: model.record?.modelVersion, modelServerPid: server.pid, runnerPid: process.pid })}`);
  if (answer.status !== 200) throw new LocalModeError(`the sample prediction failed with HTTP ${answer.status}: ${answer.body}`);
  progress.done('answered');
  if (model.record) {
    console.log(`Evaluation report: ${model.record.evaluationReport}`);
    if (model.record.dataReport) console.log(`Data report: ${model.record.dataReport}`);
    console.log(`Registry record: ${model.registryFile}`);
  }
  console.log(`Done: ${model.record ? 'prepared, trained, evaluated, registered, ' : ''}served and answered through the API in ${progress.elapsed()}.`);

  if (options.once) return 0;
  console.log(`\nServing on ${front.predictUrl} (listening; no SigV4 or API key is checked locally). Ctrl-C stops.`);
  await new Promise<void>((resolve) => {
    if (interrupted.signal.aborted) resolve();
    interrupted.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  return 0;
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

/** What the pipeline steps hand to serving. */
interface ServedModel {
  /** A folder laid out like /opt/ml with the model in model/. */
  readonly smRoot: string;
  /** The prepared data (absent with --model-dir). */
  readonly prepared?: PreparedData;
  /** The model's registry record (absent with --model-dir). */
  readonly record?: ModelRecord;
  readonly registryFile?: string;
}

/** Steps 1 to 5: the Python environment, then prepare, train, evaluate and register (or the given model). */
async function prepareModel(options: LocalOptions, local: LocalConfig, progress: Progress): Promise<ServedModel | undefined> {
  const { config } = local;
  progress.step('Setting up the Python environment...');
  await ensurePython(progress);
  if (options.modelDir) return { smRoot: useModelDir(options, progress) };
  progress.done('ready');
  if (interrupted.signal.aborted) return undefined;

  const prepared = await prepareStep(options, local, progress);
  if (interrupted.signal.aborted) return undefined;

  progress.step('Training (training-image `train`, which ends by evaluating the model on the test split)...');
  const hyperparameters = {
    ...trainingHyperparameters(config),
    ...(options.epochs !== undefined ? { epochs: String(options.epochs) } : {}),
  };
  progress.detail(`training with the real \`train\` entry point on a temporary /opt/ml tree; hyperparameters ${JSON.stringify(hyperparameters)}`);
  let model;
  try {
    model = await trainModel({
      hyperparameters,
      dataDir: prepared.dataDir,
      cacheDir: path.join(options.workDir, 'models'),
      force: !options.reuse,
      signal: interrupted.signal,
      onOutput: (line) => {
        if (/^(epoch|test_accuracy)=/.test(line) || options.verbose) progress.detail(`train | ${line}`);
      },
    });
  } catch (e) {
    if (interrupted.signal.aborted) return undefined;
    const [first, ...tail] = (e as Error).message.split('\n');
    if (!options.verbose) for (const line of tail.slice(-15)) progress.detail(`train | ${line}`);
    throw new LocalModeError(`${first.replace(/^Training failed/, 'training failed')}; fix the hyperparameters (cdk.json's context.hyperparameters, or -c hyperparameters=...) or the data, then run again`);
  }
  const metadata = JSON.parse(fs.readFileSync(path.join(model.modelDir, 'metadata.json'), 'utf8')) as { model_version: string; metrics?: { test_accuracy?: number } };
  progress.detail(`model ${metadata.model_version} in ${model.modelDir}`);
  progress.done(model.cached ? 'reused the cached model (--reuse)' : 'trained');

  progress.step('Evaluation on the test split...');
  const evaluation = readEvaluation(model.modelDir);
  for (const line of evaluationSummary(evaluation)) progress.detail(line);
  const evaluationReport = path.join(model.modelDir, 'evaluation.html');
  progress.detail(`report: ${evaluationReport}`);
  progress.done('evaluated at the end of `train`, as in the training job', evaluation.seconds * 1000);

  progress.step('Quality gate and local model registry...');
  const registry = new LocalModelRegistry(path.join(options.workDir, 'registry'));
  let registered = registry.find(metadata.model_version);
  if (!registered) {
    const approved = registry.newestApproved();
    const baseline = approved && { name: `version ${approved.version} (${approved.modelVersion})`, metrics: approved.metrics };
    const gate = applyQualityGate(evaluationMetrics(evaluation), { metric: config.qualityGateMetric, bar: config.qualityGateBar, maxRegression: config.qualityGateMaxRegression }, baseline);
    registered = registry.register({
      modelVersion: metadata.model_version,
      dataHash: prepared.dataHash,
      codeHash: model.key,
      approvalStatus: gate.passed ? 'Approved' : 'Rejected',
      statusReason: gate.reason,
      metrics: evaluationMetrics(evaluation),
      modelDir: model.modelDir,
      evaluationReport,
      dataReport: path.join(prepared.reportDir, 'data-report.html'),
    }).record;
  } else {
    progress.detail(`model ${metadata.model_version} is already registered (same content hash): not gated again`);
  }
  const registryFile = registry.recordFile(registered.modelVersion);
  progress.detail(`version ${registered.version}: ${registered.approvalStatus} (${registered.statusReason})`);
  progress.detail(`record: ${registryFile}`);
  if (registered.approvalStatus !== 'Approved') {
    throw new LocalModeError(`quality gate: model ${registered.modelVersion} was ${registered.approvalStatus}: ${registered.statusReason}; it is not served (record: ${registryFile}). Train longer or fix the data; to compare against a fresh registry, pass another --work-dir`);
  }
  progress.done(`registered as version ${registered.version}, Approved: serving the newest approved version`);
  return { smRoot: model.smRoot, prepared, record: registered, registryFile };
}

/** Step 2: `prepare` on --data or the bundled raw digits, with the configured prepare* settings. */
async function prepareStep(options: LocalOptions, local: LocalConfig, progress: Progress): Promise<PreparedData> {
  const input = options.data ?? RAW_DIGITS;
  const settings = prepareEnvironment(local.config);
  // The digits are images: a pixel that happens to be blank in every training image still has its place,
  // unless the configuration says otherwise.
  if (!options.data && local.given.prepareConstantColumns === undefined) settings.PREPARE_CONSTANT_COLUMNS = 'keep';
  progress.step(`Preparing ${path.relative(process.cwd(), input) || input} (training-image \`prepare\`: clean, split, report)...`);
  if (Object.keys(settings).length) progress.detail(`settings: ${Object.entries(settings).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  let prepared: PreparedData;
  try {
    prepared = await prepareData({
      input,
      settings,
      cacheDir: path.join(options.workDir, 'prepared'),
      // Its summary lines; not the line naming its temporary output folder (the report's final path follows).
      onOutput: (line) => { if (options.verbose || !/ INFO |^prepared data written to /.test(line)) progress.detail(`prepare | ${line}`); },
    });
  } catch (e) {
    throw new LocalModeError(`prepare failed: ${(e as Error).message.split('\n')[0]}`);
  }
  if (prepared.cached) progress.detail('same data and settings as an earlier run: reusing its output');
  progress.detail(`report: ${path.join(prepared.reportDir, 'data-report.html')}`);
  progress.done(`prepared (data sha256 ${prepared.dataHash.slice(0, 16)}...)`);
  return prepared;
}

interface Evaluation {
  readonly rows: number;
  readonly accuracy: number;
  readonly macro_avg: { precision: number; recall: number; f1: number };
  readonly weighted_avg: { f1: number };
  readonly log_loss: number;
  readonly calibration: { expected_calibration_error: number };
  readonly latency: { single_row_ms: { p50: number; p99: number }; batch_ms_per_row: number };
  readonly seconds: number;
}

function readEvaluation(modelDir: string): Evaluation {
  return JSON.parse(fs.readFileSync(path.join(modelDir, 'evaluation.json'), 'utf8')) as Evaluation;
}

function evaluationSummary(e: Evaluation): string[] {
  return [
    `${e.rows} test rows: accuracy ${e.accuracy.toFixed(4)}, macro precision ${e.macro_avg.precision.toFixed(4)}, recall ${e.macro_avg.recall.toFixed(4)}, F1 ${e.macro_avg.f1.toFixed(4)}`,
    `calibration: expected calibration error ${e.calibration.expected_calibration_error.toFixed(4)}, log loss ${e.log_loss.toFixed(4)}`,
    `latency (CPU): ${e.latency.single_row_ms.p50.toFixed(3)} ms p50 / ${e.latency.single_row_ms.p99.toFixed(3)} ms p99 per one-row call, ${e.latency.batch_ms_per_row.toFixed(4)} ms per row in a batch`,
  ];
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

interface Sample { readonly features: number[]; readonly label: string; readonly origin: string }

/** One data row of the bundled test set: its 64 pixels and its label (for --model-dir, where nothing is prepared). */
function sampleRow(index: number): Sample {
  const [header, ...rows] = fs.readFileSync(path.join(TRAINING_IMAGE_DIR, 'sample-data', 'test.csv'), 'utf8').trim().split(/\r?\n/);
  if (index >= rows.length) throw new LocalModeError(`--sample ${index} is past the last row of test.csv; use 0 to ${rows.length - 1}`);
  const labelAt = header.split(',').indexOf('label');
  const values = rows[index].split(',');
  return { features: values.filter((_, i) => i !== labelAt).map(Number), label: values[labelAt], origin: `training-image/sample-data/test.csv row ${index}` };
}

/** A raw row of the prepared test split, as a client sends it (prepare's sample-requests.json). */
function preparedSample(prepared: PreparedData, index: number): Sample {
  const sample = readSampleRequests(prepared.reportDir);
  if (sample.instances.length === 0) throw new LocalModeError('the test split has no row without missing values to send as a sample');
  if (index >= sample.instances.length) throw new LocalModeError(`--sample ${index} is past the last sample row; use 0 to ${sample.instances.length - 1}`);
  return { features: sample.instances[index], label: sample.labels[index], origin: `${sample.origins[index]} (in the test split)` };
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
