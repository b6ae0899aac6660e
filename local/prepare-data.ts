/**
 * Prepares raw CSV data with the real training-image code (`python training-image/entrypoint.py prepare`) on
 * a SageMaker Processing-job tree (SM_ROOT/processing/input/data -> processing/output/{data,report}), the way
 * the platform's Processing job runs it. The result is kept under <cacheDir>/<hash>/, keyed by the
 * training-image sources, the input files and the PREPARE_* settings: the same inputs never run twice.
 *
 * Used by `npm run local` and tests; no test-framework dependency.
 */
import { spawn } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

import { collectLines } from './output-lines';
import { DEFAULT_PYTHON, ENTRY_SCRIPT, REPO_ROOT, TRAINING_IMAGE_DIR } from './train-model';

/** The bundled raw data set: the digits as one CSV with gaps and repeated rows (training-image/scripts/make_raw_digits_csv.py). */
export const RAW_DIGITS = path.join(TRAINING_IMAGE_DIR, 'sample-data', 'raw', 'digits.csv');
/** Prefix of `prepare`'s settings (training-image/README.md, `prepare`). */
const PREPARE_ENV_PREFIX = 'PREPARE_';
/** Folders under training-image/ that do not change what `prepare` produces. */
const NOT_INPUTS = new Set(['tests', 'bench', 'sample-data', 'scripts', '__pycache__', '.pytest_cache', '.ruff_cache']);

export interface PrepareDataOptions {
  /** A CSV file, a folder of CSV files, or a folder with train/, validation/ and test/. */
  readonly input: string;
  /**
   * `prepare`'s settings, e.g. { PREPARE_MISSING_VALUES: 'drop' }.
   * @default {} - the image's defaults
   */
  readonly settings?: Record<string, string>;
  /**
   * Where prepared data sets are kept.
   * @default <repo>/.local/prepared
   */
  readonly cacheDir?: string;
  /**
   * Python interpreter with the image's requirements.
   * @default DEFAULT_PYTHON
   */
  readonly python?: string;
  /**
   * Receives `prepare`'s output lines (its summary).
   * @default - discarded
   */
  readonly onOutput?: (line: string) => void;
}

export interface PreparedData {
  /** train/, validation/, test/ and preprocessing/: the training job's channels. */
  readonly dataDir: string;
  /** data-report.json, data-report.html, data.sha256, sample-requests.json. */
  readonly reportDir: string;
  /** The content hash of the prepared data (data.sha256). */
  readonly dataHash: string;
  /** Whether an earlier run with the same inputs was reused. */
  readonly cached: boolean;
}

/** The sample requests `prepare` writes: raw test rows as a client sends them, with their labels. */
export interface SampleRequests {
  readonly columns: string[];
  /** Positional rows: numbers, and text for text columns. */
  readonly instances: (number | string)[][];
  /** The same rows by feature name. */
  readonly instances_by_name: Record<string, number | string>[];
  readonly labels: string[];
  readonly origins: string[];
}

/** Runs `prepare` (or reuses its earlier result for the same inputs). Throws with the job's reason on bad input. */
export async function prepareData(options: PrepareDataOptions): Promise<PreparedData> {
  const input = path.resolve(options.input);
  if (!fs.existsSync(input)) throw new Error(`${options.input} does not exist (expected a CSV file or a folder of CSV files)`);
  const settings = options.settings ?? {};
  const cacheDir = options.cacheDir ?? path.join(REPO_ROOT, '.local', 'prepared');
  const root = path.join(cacheDir, prepareKey(input, settings));
  const result = (cached: boolean): PreparedData => {
    const reportDir = path.join(root, 'processing', 'output', 'report');
    return {
      dataDir: path.join(root, 'processing', 'output', 'data'),
      reportDir,
      dataHash: fs.readFileSync(path.join(reportDir, 'data.sha256'), 'utf8').trim(),
      cached,
    };
  };
  if (fs.existsSync(path.join(root, 'processing', 'output', 'report', 'data.sha256'))) return result(true);

  fs.mkdirSync(cacheDir, { recursive: true });
  const staging = fs.mkdtempSync(path.join(cacheDir, 'partial-'));
  try {
    const inputDir = path.join(staging, 'processing', 'input', 'data');
    fs.mkdirSync(inputDir, { recursive: true });
    if (fs.statSync(input).isDirectory()) fs.cpSync(input, inputDir, { recursive: true });
    else fs.copyFileSync(input, path.join(inputDir, path.basename(input)));
    await runPrepare(staging, settings, options);
    try {
      fs.renameSync(staging, root);
    } catch (e) {
      if (!fs.existsSync(root)) throw e; // another run finished first: keep its copy
    }
    return result(false);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

export function readSampleRequests(reportDir: string): SampleRequests {
  return JSON.parse(fs.readFileSync(path.join(reportDir, 'sample-requests.json'), 'utf8')) as SampleRequests;
}

function runPrepare(smRoot: string, settings: Record<string, string>, options: PrepareDataOptions): Promise<void> {
  const python = options.python ?? DEFAULT_PYTHON;
  // Only the given settings reach `prepare`: a stray PREPARE_* in this environment must not change the data.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith(PREPARE_ENV_PREFIX)));
  return new Promise((resolve, reject) => {
    const child = spawn(python, [ENTRY_SCRIPT, 'prepare'], {
      cwd: REPO_ROOT,
      env: { ...env, ...settings, SM_ROOT: smRoot, PYTHONUNBUFFERED: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const tail = collectLines([child.stdout, child.stderr], options.onOutput);
    child.on('error', (e) => reject(new Error(`Cannot run ${python} (create the venv with scripts/ensure-python.sh): ${e.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) return resolve();
      const messageFile = path.join(smRoot, 'output', 'message');
      const message = fs.existsSync(messageFile) ? fs.readFileSync(messageFile, 'utf8').trim() : undefined;
      reject(new Error(message ?? `prepare failed (${signal ?? `exit code ${code}`})\n${tail.join('\n')}`));
    });
  });
}

/** Hash of the image sources, the input files (names and bytes) and the settings. */
export function prepareKey(input: string, settings: Record<string, string>): string {
  const hash = createHash('sha256');
  const base = fs.statSync(input).isDirectory() ? input : path.dirname(input);
  const files = fs.statSync(input).isDirectory() ? listFiles(input, new Set()) : [input];
  for (const file of listFiles(TRAINING_IMAGE_DIR, NOT_INPUTS).concat(files)) {
    const name = file.startsWith(TRAINING_IMAGE_DIR) ? path.relative(REPO_ROOT, file) : path.relative(base, file);
    hash.update(name).update('\0').update(fs.readFileSync(file)).update('\0');
  }
  hash.update(JSON.stringify(Object.entries(settings).sort(([a], [b]) => a.localeCompare(b))));
  return hash.digest('hex').slice(0, 16);
}

function listFiles(dir: string, skip: Set<string>): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (skip.has(entry.name) || entry.name.endsWith('.pyc')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(full, skip));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}
