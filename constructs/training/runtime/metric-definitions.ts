/**
 * The metric contract between the app and the training image, read from its one source,
 * training-image/metric-definitions.json (the image reads the same file: dlplatform/metric_definitions.py).
 * Each entry is a SageMaker MetricDefinition (`Name`, `Regex`, which the training job passes on) plus what the
 * rest of the platform needs to know about the metric:
 * - `Direction`: `Maximize` or `Minimize` (SageMaker's words for a tuning objective), the quality gate's sense;
 * - `LogLine`: which of the image's log lines prints it (`epoch`, `test` or `evaluation`);
 * - `Evaluation`: where the evaluation report (evaluation.json) holds its value, as a dotted path, for the
 *   metrics the evaluation reports.
 * Pure, so the Lambda bundles that gate models can use it.
 */
import definitions from '../../../training-image/metric-definitions.json';

/** One entry of metric-definitions.json. */
export interface ImageMetric {
  readonly Name: string;
  readonly Regex: string;
  readonly Direction: 'Maximize' | 'Minimize';
  readonly LogLine: 'epoch' | 'test' | 'evaluation';
  readonly Evaluation?: string;
}

/** Every metric the image reports, in the file's order. */
export const IMAGE_METRICS: readonly ImageMetric[] = definitions as ImageMetric[];

/** Metrics where a smaller value is the better model (the rest: larger is better). */
export const LOWER_IS_BETTER: ReadonlySet<string> = new Set(IMAGE_METRICS.filter((m) => m.Direction === 'Minimize').map((m) => m.Name));

/** Metrics of the evaluation report, which the quality gate may compare. */
export const EVALUATION_METRICS: readonly string[] = IMAGE_METRICS.filter((m) => m.Evaluation !== undefined).map((m) => m.Name);

/**
 * The evaluation report's metrics by name, read where metric-definitions.json says each is.
 * @throws when the report lacks one (an image and an app out of step)
 */
export function evaluationMetrics(evaluation: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  for (const metric of IMAGE_METRICS) {
    if (metric.Evaluation === undefined) continue;
    const value = metric.Evaluation.split('.').reduce<unknown>(
      (node, key) => (node as Record<string, unknown> | undefined)?.[key],
      evaluation,
    );
    if (typeof value !== 'number')
      throw new Error(`The evaluation has no number at ${metric.Evaluation} (${metric.Name}, training-image/metric-definitions.json)`);
    out[metric.Name] = value;
  }
  return out;
}
