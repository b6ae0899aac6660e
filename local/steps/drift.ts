/**
 * `npm run local -- --drift`: the drift check over the traffic local mode captured (`<work dir>/capture/`, written by
 * the SageMaker Runtime stand-in as an endpoint with data capture writes it) against the served model: the newest
 * approved model of the local registry, or --model-dir. Prints the report's path and the most drifted features.
 */
import * as fs from 'fs';
import * as path from 'path';

import { DriftCheckError, DriftCheckResult, runDriftCheck } from '../drift-check';
import { LocalModelRegistry } from '../model-registry';
import { setUpPython } from './python-env';
import { LocalModeError, LocalRun } from './run';

/** Where the stand-in captures, under the work dir. */
export function captureDirOf(workDir: string): string {
  return path.join(workDir, 'capture');
}

/** How many of the most drifted features the summary names. */
const TOP = 5;

export async function checkDrift(run: LocalRun): Promise<number> {
  const {
    options,
    local: { config },
    progress,
    signal,
  } = run;
  progress.step('Setting up the Python environment...');
  await setUpPython(run);
  progress.done('ready');
  if (signal.aborted) return 130;

  progress.step('Checking the captured traffic for drift (training-image `monitor`)...');
  const captureDir = captureDirOf(options.workDir);
  if (!fs.existsSync(captureDir) || (fs.readdirSync(captureDir, { recursive: true }) as string[]).every((f) => !f.endsWith('.jsonl'))) {
    throw new LocalModeError(`no captured traffic in ${captureDir}: serve with \`npm run local\` and send requests to the API first`);
  }
  const modelDir = options.modelDir ?? new LocalModelRegistry(path.join(options.workDir, 'registry')).newestApproved()?.modelDir;
  if (!modelDir)
    throw new LocalModeError(
      `no approved model in ${path.join(options.workDir, 'registry')}: run \`npm run local\` to train one, or pass --model-dir`,
    );
  progress.detail(`capture: ${captureDir}`);
  progress.detail(`model: ${modelDir}`);
  let result: DriftCheckResult;
  try {
    result = await runDriftCheck({
      captureDir,
      modelDir,
      outDir: path.join(options.workDir, 'drift'),
      minRecords: config.driftMinRecords,
      threshold: config.driftThreshold,
      windowStart: options.driftSince,
      windowEnd: options.driftUntil,
    });
  } catch (e) {
    if (e instanceof DriftCheckError) throw new LocalModeError(e.message);
    throw e;
  }
  for (const line of summary(result, config.driftThreshold)) progress.detail(line);
  progress.done(result.status);
  console.log(
    `DRIFT ${JSON.stringify({ status: result.status, records: result.records, drifted: result.features.filter((f) => f.drifted).map((f) => f.name), report: result.reportHtml })}`,
  );
  console.log(`Drift report: ${result.reportHtml}`);
  return 0;
}

/** The lines the step shows: the status, the counts, the most drifted features and the predicted class. */
export function summary(result: DriftCheckResult, threshold: number): string[] {
  const lines = [`${result.records} records (${result.invalidRecords} invalid): ${result.status}`];
  if (result.status === 'not_enough_data') return [...lines, 'fewer valid records than driftMinRecords: no drift figures'];
  const top = result.features.filter((f) => f.drift !== null).slice(0, TOP);
  lines.push(`most drifted features (PSI; drifted at ${threshold} or more):`);
  for (const f of top) lines.push(`  ${f.name}: ${(f.drift as number).toFixed(3)}${f.drifted ? '  DRIFTED' : ''}`);
  if (result.predictionDrift !== null) lines.push(`predicted class: PSI ${result.predictionDrift.toFixed(3)}`);
  return lines;
}
