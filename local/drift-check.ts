/**
 * The drift check on this machine: the image's real `monitor` entry point (`python training-image/entrypoint.py
 * monitor`) over captured traffic and a served model, on a temporary /opt/ml-like tree laid out as the Processing
 * job sees it (processing/input/capture/, processing/input/model/, processing/output/drift/; docs/drift.md).
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import { collectLines } from './output-lines';
import { DEFAULT_PYTHON, ENTRY_SCRIPT, REPO_ROOT } from './train-model';

export interface DriftCheckOptions {
  /** Captured traffic (`<endpoint>/<variant>/yyyy/mm/dd/hh/*.jsonl`), read recursively. */
  readonly captureDir: string;
  /** The served model's folder (metadata.json, preprocessing.json, baseline.json). */
  readonly modelDir: string;
  /** Where the run's tree goes: `<outDir>/processing/...`; the report stays there. */
  readonly outDir: string;
  /** MONITOR_MIN_RECORDS. */
  readonly minRecords: number;
  /** MONITOR_DRIFT_THRESHOLD. */
  readonly threshold: number;
  /** First inference time in the window (ISO-8601); unset: no bound. */
  readonly windowStart?: string;
  /** End of the window, exclusive; unset: no bound. */
  readonly windowEnd?: string;
  /** @default DEFAULT_PYTHON */
  readonly python?: string;
}

/** A feature's line of the report. */
export interface FeatureDrift {
  readonly name: string;
  readonly drift: number | null;
  readonly drifted: boolean;
}

export interface DriftCheckResult {
  readonly status: 'ok' | 'drift' | 'not_enough_data';
  readonly records: number;
  readonly invalidRecords: number;
  /** Every feature, worst first (as drift.json lists them). */
  readonly features: FeatureDrift[];
  readonly predictionDrift: number | null;
  readonly metrics: Record<string, number>;
  readonly reportJson: string;
  readonly reportHtml: string;
}

/** A drift check that could not run: the entry point's reason. */
export class DriftCheckError extends Error {}

export async function runDriftCheck(options: DriftCheckOptions): Promise<DriftCheckResult> {
  const input = path.join(options.outDir, 'processing', 'input');
  fs.rmSync(options.outDir, { recursive: true, force: true });
  // Copies, as SageMaker downloads them: the job never writes into the capture or the model.
  fs.cpSync(options.captureDir, path.join(input, 'capture'), { recursive: true });
  fs.cpSync(options.modelDir, path.join(input, 'model'), { recursive: true });
  const env = {
    ...process.env,
    SM_ROOT: options.outDir,
    PYTHONUNBUFFERED: '1',
    MONITOR_MIN_RECORDS: String(options.minRecords),
    MONITOR_DRIFT_THRESHOLD: String(options.threshold),
    MONITOR_WINDOW_START: options.windowStart ?? '',
    MONITOR_WINDOW_END: options.windowEnd ?? '',
  };
  const python = options.python ?? DEFAULT_PYTHON;
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(python, [ENTRY_SCRIPT, 'monitor'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    collectLines([child.stdout, child.stderr]);
    child.on('error', (e) =>
      reject(new DriftCheckError(`cannot run ${python} (create the venv with scripts/ensure-python.sh): ${e.message}`)),
    );
    child.on('close', resolve);
  });
  const message = path.join(options.outDir, 'output', 'message');
  if (code !== 0) {
    const why = fs.existsSync(message) ? fs.readFileSync(message, 'utf8').trim() : `monitor exited ${code}`;
    throw new DriftCheckError(`the drift check failed: ${why}`);
  }
  const reportJson = path.join(options.outDir, 'processing', 'output', 'drift', 'drift.json');
  const report = JSON.parse(fs.readFileSync(reportJson, 'utf8')) as {
    status: DriftCheckResult['status'];
    records: number;
    invalid_records: number;
    features: FeatureDrift[];
    prediction?: { drift: number | null };
    metrics: Record<string, number>;
  };
  return {
    status: report.status,
    records: report.records,
    invalidRecords: report.invalid_records,
    features: report.features.map((f) => ({ name: f.name, drift: f.drift, drifted: f.drifted })),
    predictionDrift: report.prediction?.drift ?? null,
    metrics: report.metrics,
    reportJson,
    reportHtml: path.join(path.dirname(reportJson), 'drift.html'),
  };
}
