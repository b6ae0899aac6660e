/** A completed training job's final metrics, name to value, as SageMaker's FinalMetricDataList reports them. */
export function finalMetricsOf(list: readonly { MetricName?: string; Value?: number }[] | undefined): Record<string, number> {
  const metrics: Record<string, number> = {};
  for (const m of list ?? []) {
    if (m.MetricName !== undefined && m.Value !== undefined) metrics[m.MetricName] = m.Value;
  }
  return metrics;
}
