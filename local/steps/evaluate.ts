/** Step: the evaluation `train` ends with (evaluation.json and evaluation.html in the model folder), shown. */
import * as fs from 'fs';
import * as path from 'path';

import { evaluationMetrics } from '../../constructs/training/runtime/metric-definitions';
import type { TrainedModel } from '../train-model';
import { LocalRun } from './run';

/** The parts of evaluation.json the summary shows. */
interface Evaluation {
  readonly rows: number;
  readonly accuracy: number;
  readonly macro_avg: { precision: number; recall: number; f1: number };
  readonly log_loss: number;
  readonly calibration: { expected_calibration_error: number };
  readonly latency: { single_row_ms: { p50: number; p99: number }; batch_ms_per_row: number };
  readonly seconds: number;
}

/** The model's evaluation: its metrics by name (training-image/metric-definitions.json) and its report. */
export interface EvaluatedModel {
  readonly metrics: Record<string, number>;
  readonly report: string;
}

export function evaluate(run: LocalRun, model: TrainedModel): EvaluatedModel {
  const { progress } = run;
  progress.step('Evaluation on the test split...');
  const evaluation = JSON.parse(fs.readFileSync(path.join(model.modelDir, 'evaluation.json'), 'utf8')) as Evaluation;
  for (const line of summary(evaluation)) progress.detail(line);
  const report = path.join(model.modelDir, 'evaluation.html');
  progress.detail(`report: ${report}`);
  progress.done('evaluated at the end of `train`, as in the training job', evaluation.seconds * 1000);
  return { metrics: evaluationMetrics(evaluation), report };
}

function summary(e: Evaluation): string[] {
  return [
    `${e.rows} test rows: accuracy ${e.accuracy.toFixed(4)}, macro precision ${e.macro_avg.precision.toFixed(4)}, recall ${e.macro_avg.recall.toFixed(4)}, F1 ${e.macro_avg.f1.toFixed(4)}`,
    `calibration: expected calibration error ${e.calibration.expected_calibration_error.toFixed(4)}, log loss ${e.log_loss.toFixed(4)}`,
    `latency (CPU): ${e.latency.single_row_ms.p50.toFixed(3)} ms p50 / ${e.latency.single_row_ms.p99.toFixed(3)} ms p99 per one-row call, ${e.latency.batch_ms_per_row.toFixed(4)} ms per row in a batch`,
  ];
}
