/**
 * Trains a model with the real training-image code (`python training-image/entrypoint.py train`) on a
 * temporary SageMaker /opt/ml tree (SM_ROOT) laid out with the sample data and hyperparameters, the way a
 * SageMaker training job would. The trained model folder is cached under .local/models/<hash>/model, keyed
 * by a hash of the training-image sources, the data and the hyperparameters, so repeated runs reuse it.
 *
 * Used by tests, benchmarks and `npm run local`; no test-framework dependency.
 */
import { spawn } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { collectLines } from './output-lines';

/** The repository root. */
export const REPO_ROOT = path.resolve(__dirname, '..');
/** The training image's folder. */
export const TRAINING_IMAGE_DIR = path.join(REPO_ROOT, 'training-image');
/** The image's entry script: SageMaker passes `train` or `serve`. */
export const ENTRY_SCRIPT = path.join(TRAINING_IMAGE_DIR, 'entrypoint.py');
/** The project's Python (the venv scripts/ensure-python.sh creates), unless PYTHON is set. */
export const DEFAULT_PYTHON = process.env.PYTHON ?? path.join(REPO_ROOT, '.venv', 'bin', 'python');

/** Channels the image reads, and the sample file of each. */
const CHANNELS = ['train', 'validation', 'test'] as const;
/** The optional channel holding prepare's preprocessing.json. */
const PREPROCESSING_CHANNEL = 'preprocessing';
/** Folders under training-image/ that do not change what training produces. */
const NOT_MODEL_INPUTS = new Set(['tests', 'bench', '__pycache__', '.pytest_cache', '.ruff_cache', '.mypy_cache']);

export interface TrainModelOptions {
  /**
   * Hyperparameters (SageMaker passes them all as strings).
   * @default { epochs: '5' } - enough for a usable digits model in seconds on a CPU
   */
  readonly hyperparameters?: Record<string, string>;
  /**
   * Folder with train.csv and optional validation.csv and test.csv, or prepare's output (train/, validation/,
   * test/ and preprocessing/ folders).
   * @default training-image/sample-data
   */
  readonly dataDir?: string;
  /**
   * Python interpreter with the image's requirements.
   * @default DEFAULT_PYTHON
   */
  readonly python?: string;
  /**
   * Where trained models are cached.
   * @default <repo>/.local/models
   */
  readonly cacheDir?: string;
  /**
   * Longest the training may run.
   * @default 600000 (10 minutes)
   */
  readonly timeoutMs?: number;
  /**
   * Receives the training's output lines (metrics, progress).
   * @default - discarded
   */
  readonly onOutput?: (line: string) => void;
  /**
   * Train even when the cache holds a model for the same inputs (the cache keeps the first one: training is
   * seeded, so the two are the same).
   * @default false
   */
  readonly force?: boolean;
  /**
   * Stops the training (SIGTERM, which the image answers with a checkpoint and exit 143) when aborted.
   * @default - runs until it ends or times out
   */
  readonly signal?: AbortSignal;
}

export interface TrainedModel {
  /** A folder laid out like /opt/ml with the model in model/: point SM_ROOT here to serve it. */
  readonly smRoot: string;
  /** The model folder itself (what SageMaker would tar into model.tar.gz). */
  readonly modelDir: string;
  /** The cache key: a hash of the sources, data and hyperparameters. */
  readonly key: string;
  /** Whether the model came from the cache. */
  readonly cached: boolean;
}

/** Trains (or finds in the cache) a model from the sample data with the real `train` entry point. */
export async function trainModel(options: TrainModelOptions = {}): Promise<TrainedModel> {
  const hyperparameters = options.hyperparameters ?? { epochs: '5' };
  const dataDir = options.dataDir ?? path.join(TRAINING_IMAGE_DIR, 'sample-data');
  const cacheDir = options.cacheDir ?? path.join(REPO_ROOT, '.local', 'models');
  const key = cacheKey(dataDir, hyperparameters);
  const smRoot = path.join(cacheDir, key);
  const modelDir = path.join(smRoot, 'model');
  if (!options.force && fs.existsSync(modelDir)) return { smRoot, modelDir, key, cached: true };

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-train-'));
  try {
    layOutTrainingTree(work, dataDir, hyperparameters);
    await runTraining(work, options);
    // Copy next to the final place, then rename: a concurrent or interrupted run never leaves half a model.
    fs.mkdirSync(cacheDir, { recursive: true });
    const staging = fs.mkdtempSync(path.join(cacheDir, `${key}.partial-`));
    fs.cpSync(path.join(work, 'model'), path.join(staging, 'model'), { recursive: true });
    try {
      fs.renameSync(staging, smRoot);
    } catch (e) {
      // Another run finished first: keep its copy.
      fs.rmSync(staging, { recursive: true, force: true });
      if (!fs.existsSync(modelDir)) throw e;
    }
    return { smRoot, modelDir, key, cached: false };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Writes the files SageMaker gives a training container: hyperparameters, channel config and the data. */
export function layOutTrainingTree(root: string, dataDir: string, hyperparameters: Record<string, string>): void {
  const config = path.join(root, 'input', 'config');
  fs.mkdirSync(config, { recursive: true });
  fs.writeFileSync(path.join(config, 'hyperparameters.json'), JSON.stringify(hyperparameters));
  const channels: Record<string, object> = {};
  for (const channel of CHANNELS) {
    const folder = path.join(dataDir, channel); // prepare's output layout: <channel>/<channel>.csv
    const source = path.join(dataDir, `${channel}.csv`);
    const target = path.join(root, 'input', 'data', channel);
    if (fs.existsSync(folder) && fs.statSync(folder).isDirectory()) {
      fs.cpSync(folder, target, { recursive: true });
    } else if (fs.existsSync(source)) {
      fs.mkdirSync(target, { recursive: true });
      fs.copyFileSync(source, path.join(target, `${channel}.csv`));
    } else {
      continue;
    }
    channels[channel] = {
      ContentType: 'text/csv',
      TrainingInputMode: 'File',
      S3DistributionType: 'FullyReplicated',
      RecordWrapperType: 'None',
    };
  }
  // prepare's fitted preprocessing: training copies it into the model folder, and serving applies it.
  const preprocessing = path.join(dataDir, PREPROCESSING_CHANNEL);
  if (fs.existsSync(preprocessing)) {
    fs.cpSync(preprocessing, path.join(root, 'input', 'data', PREPROCESSING_CHANNEL), { recursive: true });
    channels[PREPROCESSING_CHANNEL] = {
      ContentType: 'application/json',
      TrainingInputMode: 'File',
      S3DistributionType: 'FullyReplicated',
      RecordWrapperType: 'None',
    };
  }
  fs.writeFileSync(path.join(config, 'inputdataconfig.json'), JSON.stringify(channels));
  for (const dir of ['model', 'output', 'checkpoints']) fs.mkdirSync(path.join(root, dir), { recursive: true });
}

function runTraining(smRoot: string, options: TrainModelOptions): Promise<void> {
  const python = options.python ?? DEFAULT_PYTHON;
  const timeoutMs = options.timeoutMs ?? 600_000;
  return new Promise((resolve, reject) => {
    const child = spawn(python, [ENTRY_SCRIPT, 'train'], {
      cwd: REPO_ROOT,
      env: { ...process.env, SM_ROOT: smRoot, PYTHONUNBUFFERED: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const tail = collectLines([child.stdout, child.stderr], options.onOutput);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const abort = () => child.kill('SIGTERM');
    options.signal?.addEventListener('abort', abort, { once: true });
    if (options.signal?.aborted) abort();
    child.on('error', (e) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', abort);
      reject(new Error(`Cannot run ${python} (create the venv with scripts/ensure-python.sh): ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', abort);
      if (code === 0) return resolve();
      const failureFile = path.join(smRoot, 'output', 'failure');
      const failure = fs.existsSync(failureFile) ? fs.readFileSync(failureFile, 'utf8').trim() : undefined;
      reject(new Error(`Training failed (${signal ?? `exit code ${code}`})${failure ? `: ${failure}` : ''}\n${tail.join('\n')}`));
    });
  });
}

/** Hash of everything that decides the trained model: image sources, data files and hyperparameters. */
export function cacheKey(dataDir: string, hyperparameters: Record<string, string>): string {
  const hash = createHash('sha256');
  for (const file of listFiles(TRAINING_IMAGE_DIR).concat(listFiles(dataDir))) {
    hash.update(path.relative(REPO_ROOT, file)).update('\0').update(fs.readFileSync(file)).update('\0');
  }
  const sorted = Object.fromEntries(Object.entries(hyperparameters).sort(([a], [b]) => a.localeCompare(b)));
  hash.update(JSON.stringify(sorted));
  return hash.digest('hex').slice(0, 16);
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (NOT_MODEL_INPUTS.has(entry.name) || entry.name.endsWith('.pyc')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(full));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}
