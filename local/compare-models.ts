/**
 * The quality gate's like-with-like comparison in local mode: the real training-image `evaluate`
 * (`python training-image/entrypoint.py evaluate`) with the candidate, the approved model and the candidate's raw
 * test rows (prepare's report/test-rows.csv) on a Processing-job tree, as the image documents it
 * (training-image/src/dlplatform/evaluate/job.py). It answers whether both models solve the same problem and, when
 * they do, the approved model's metrics on those same rows.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import { readComparison } from '../constructs/training/runtime/evaluation-comparison';
import { collectLines } from './output-lines';
import { DEFAULT_PYTHON, ENTRY_SCRIPT, REPO_ROOT } from './train-model';

export interface ModelComparison {
  /** How the candidate's problem differs from the approved model's; empty: the same problem. */
  readonly differences: string[];
  /** The approved model's metrics on the candidate's test rows (absent for a different problem). */
  readonly approvedMetrics?: Record<string, number>;
}

export interface CompareOptions {
  readonly candidateDir: string;
  readonly approvedDir: string;
  /** prepare's raw test rows of the candidate's data. */
  readonly testRows: string;
  /** A scratch folder for the job tree (emptied first). */
  readonly scratchDir: string;
  /** @default DEFAULT_PYTHON */
  readonly python?: string;
}

export async function compareWithApproved(options: CompareOptions): Promise<ModelComparison> {
  const root = options.scratchDir;
  fs.rmSync(root, { recursive: true, force: true });
  const input = path.join(root, 'processing', 'input');
  fs.mkdirSync(path.join(input, 'test'), { recursive: true });
  fs.symlinkSync(options.candidateDir, path.join(input, 'model'), 'dir');
  fs.symlinkSync(options.approvedDir, path.join(input, 'approved-model'), 'dir');
  fs.copyFileSync(options.testRows, path.join(input, 'test', 'test.csv'));
  await runEvaluate(root, options.python ?? DEFAULT_PYTHON);
  const out = path.join(root, 'processing', 'output', 'evaluation');
  const read = async (file: string) => (fs.existsSync(path.join(out, file)) ? fs.readFileSync(path.join(out, file), 'utf8') : undefined);
  const comparison = await readComparison(read, `${out}${path.sep}`);
  if (!comparison) throw new Error(`evaluate wrote no comparison.json to ${out}`);
  return { differences: comparison.differences, approvedMetrics: comparison.sameRows?.approved };
}

function runEvaluate(smRoot: string, python: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, [ENTRY_SCRIPT, 'evaluate'], {
      cwd: REPO_ROOT,
      env: { ...process.env, SM_ROOT: smRoot, PYTHONUNBUFFERED: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const tail = collectLines([child.stdout, child.stderr]);
    child.on('error', (e) => reject(new Error(`Cannot run ${python} (create the venv with scripts/ensure-python.sh): ${e.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) return resolve();
      const messageFile = path.join(smRoot, 'output', 'message');
      const message = fs.existsSync(messageFile) ? fs.readFileSync(messageFile, 'utf8').trim() : undefined;
      reject(new Error(message ?? `evaluate failed (${signal ?? `exit code ${code}`})\n${tail.join('\n')}`));
    });
  });
}
