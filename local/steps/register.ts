/**
 * Step: the deploy's quality gate (constructs/training/runtime/quality-gate.ts, with the qualityGate* settings)
 * and the local model registry. A model already registered (same content hash) is not gated again; a model that
 * is not Approved fails the run, as it fails a deploy. The approved model is compared like with like: scored on
 * the candidate's test rows by the image's `evaluate` (local/compare-models.ts), or, when it solves another
 * problem (other columns or labels), not compared at all.
 */
import * as fs from 'fs';
import * as path from 'path';

import { applyQualityGate, Baseline } from '../../constructs/training/runtime/quality-gate';
import { compareWithApproved } from '../compare-models';
import { LocalModelRegistry, ModelRecord } from '../model-registry';
import type { PreparedData } from '../prepare-data';
import type { EvaluatedModel } from './evaluate';
import { LocalModeError, LocalRun } from './run';
import type { LocalModel } from './train';

/** The approved model's registry record, and the file that holds it. */
export interface RegisteredModel {
  readonly record: ModelRecord;
  readonly registryFile: string;
  /** Whether this run registered it (false: the same model was registered before). */
  readonly created: boolean;
}

/** Gates and registers the model; a model that is not Approved fails the run. */
export async function register(
  run: LocalRun,
  model: LocalModel,
  evaluation: EvaluatedModel,
  prepared: PreparedData,
): Promise<RegisteredModel> {
  const registered = await gateAndRecord(run, model, evaluation, prepared);
  if (registered.record.approvalStatus !== 'Approved') throw notApprovedError(registered);
  run.progress.done(`registered as version ${registered.record.version}, Approved: serving the newest approved version`);
  return registered;
}

/** The failure of a model the gate did not approve: it is not served. */
export function notApprovedError({ record, registryFile }: RegisteredModel): LocalModeError {
  return new LocalModeError(
    `quality gate: model ${record.modelVersion} was ${record.approvalStatus}: ${record.statusReason}; it is not served (record: ${registryFile}). Train longer or fix the data; to compare against a fresh registry, pass another --work-dir`,
  );
}

/**
 * Starts the step, gates the model and records it with the gate's verdict, whatever it is (a retrain reports a
 * Rejected version as its outcome); a different problem that is not accepted is refused unrecorded.
 */
export async function gateAndRecord(
  run: LocalRun,
  model: LocalModel,
  evaluation: EvaluatedModel,
  prepared: PreparedData,
): Promise<RegisteredModel> {
  const {
    options,
    local: { config },
    progress,
  } = run;
  progress.step('Quality gate and local model registry...');
  const registry = new LocalModelRegistry(path.join(options.workDir, 'registry'));
  let registered = registry.find(model.modelVersion);
  const created = !registered;
  if (!registered) {
    const approved = registry.newestApproved();
    const baseline = approved && (await baselineOf(run, approved, model, prepared));
    const gate = applyQualityGate(
      evaluation.metrics,
      {
        metric: config.qualityGateMetric,
        bar: config.qualityGateBar,
        maxRegression: config.qualityGateMaxRegression,
        schemaChange: config.qualityGateSchemaChange,
      },
      baseline,
    );
    if (!gate.passed && baseline?.differences?.length) {
      // Not recorded: a different problem is no verdict on this model, and once the schema change is accepted
      // (or the work dir changed) the same model is gated again.
      throw new LocalModeError(`quality gate: model ${model.modelVersion} is refused: ${gate.reason}; it is not registered or served`);
    }
    registered = registry.register({
      modelVersion: model.modelVersion,
      dataHash: prepared.dataHash,
      codeHash: model.key,
      approvalStatus: gate.passed ? 'Approved' : 'Rejected',
      statusReason: gate.reason,
      metrics: evaluation.metrics,
      modelDir: model.modelDir,
      evaluationReport: evaluation.report,
      dataReport: path.join(prepared.reportDir, 'data-report.html'),
    }).record;
  } else {
    progress.detail(`model ${model.modelVersion} is already registered (same content hash): not gated again`);
  }
  const registryFile = registry.recordFile(registered.modelVersion);
  progress.detail(`version ${registered.version}: ${registered.approvalStatus} (${registered.statusReason})`);
  progress.detail(`record: ${registryFile}`);
  return { record: registered, registryFile, created };
}

/**
 * The approved model as the gate sees it: its metrics on the candidate's test rows, or how its problem differs.
 * A record whose model folder is gone (a cleaned cache) falls back to its registered metrics, and says so.
 */
async function baselineOf(run: LocalRun, approved: ModelRecord, model: LocalModel, prepared: PreparedData): Promise<Baseline> {
  const name = `version ${approved.version} (${approved.modelVersion})`;
  const testRows = path.join(prepared.reportDir, 'test-rows.csv');
  if (!fs.existsSync(path.join(approved.modelDir, 'metadata.json')) || !fs.existsSync(testRows)) {
    run.progress.detail(`approved ${name}: its model folder or the raw test rows are gone; comparing with its registered metrics`);
    return { name, metrics: approved.metrics };
  }
  let comparison;
  try {
    comparison = await compareWithApproved({
      candidateDir: model.modelDir,
      approvedDir: approved.modelDir,
      testRows,
      scratchDir: path.join(run.options.workDir, 'gate'),
    });
  } catch (e) {
    throw new LocalModeError(
      `quality gate: scoring the approved model ${name} on this model's test rows failed: ${(e as Error).message.split('\n')[0]}`,
    );
  }
  if (comparison.approvedMetrics)
    run.progress.detail(`approved ${name} scored on this model's test rows: ${JSON.stringify(comparison.approvedMetrics)}`);
  return {
    name,
    metrics: comparison.approvedMetrics ?? approved.metrics,
    sameData: comparison.approvedMetrics !== undefined,
    differences: comparison.differences,
  };
}
