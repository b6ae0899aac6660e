/**
 * Step: the deploy's quality gate (constructs/training/runtime/quality-gate.ts, with the qualityGate* settings)
 * and the local model registry. A model already registered (same content hash) is not gated again; a model that
 * is not Approved fails the run, as it fails a deploy.
 */
import * as path from 'path';
import { applyQualityGate } from '../../constructs/training/runtime/quality-gate';
import { LocalModelRegistry, ModelRecord } from '../model-registry';
import type { PreparedData } from '../prepare-data';
import type { EvaluatedModel } from './evaluate';
import { LocalModeError, LocalRun } from './run';
import type { LocalModel } from './train';

/** The approved model's registry record, and the file that holds it. */
export interface RegisteredModel {
  readonly record: ModelRecord;
  readonly registryFile: string;
}

export function register(run: LocalRun, model: LocalModel, evaluation: EvaluatedModel, prepared: PreparedData): RegisteredModel {
  const { options, local: { config }, progress } = run;
  progress.step('Quality gate and local model registry...');
  const registry = new LocalModelRegistry(path.join(options.workDir, 'registry'));
  let registered = registry.find(model.modelVersion);
  if (!registered) {
    const approved = registry.newestApproved();
    const baseline = approved && { name: `version ${approved.version} (${approved.modelVersion})`, metrics: approved.metrics };
    const gate = applyQualityGate(evaluation.metrics, { metric: config.qualityGateMetric, bar: config.qualityGateBar, maxRegression: config.qualityGateMaxRegression }, baseline);
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
  if (registered.approvalStatus !== 'Approved') {
    throw new LocalModeError(`quality gate: model ${registered.modelVersion} was ${registered.approvalStatus}: ${registered.statusReason}; it is not served (record: ${registryFile}). Train longer or fix the data; to compare against a fresh registry, pass another --work-dir`);
  }
  progress.done(`registered as version ${registered.version}, Approved: serving the newest approved version`);
  return { record: registered, registryFile };
}
