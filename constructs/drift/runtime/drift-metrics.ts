/**
 * What the drift check publishes: drift.json's `metrics` (written by the image's `monitor`,
 * training-image/src/dlplatform/monitor/report.py; docs/drift.md lists them), as CloudWatch metrics of the
 * endpoint's variant. The Processing job has no network (EnableNetworkIsolation), so it cannot call CloudWatch
 * itself: it writes drift.json to S3 and this step publishes it.
 */
import type { MetricDatum } from '@aws-sdk/client-cloudwatch';

/** The metrics drift.json may carry, and their CloudWatch unit. */
export const DRIFT_METRICS = {
  Records: 'Count',
  InvalidInputRate: 'None',
  DriftedFeatures: 'Count',
  MaxFeatureDrift: 'None',
  PredictionDrift: 'None',
  MaxMissingRate: 'None',
  MaxOutOfRangeRate: 'None',
} as const;
export type DriftMetricName = keyof typeof DRIFT_METRICS;

/** What the state machine passes the publishing function. */
export interface PublishDriftRequest {
  /** Bucket and key of the window's drift.json. */
  readonly bucket: string;
  readonly key: string;
  /** The metrics' dimensions: the endpoint and its variant. */
  readonly endpointName: string;
  readonly variantName: string;
}

/** What was published. */
export interface PublishDriftResult {
  readonly status: string;
  readonly metrics: Partial<Record<DriftMetricName, number>>;
}

/** drift.json is not what `monitor` writes: the run fails, naming what is wrong. */
export class DriftReportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DriftReportError';
  }
}

/** The report's status and the metrics to publish, checked: schema_version 1, every metric a known name and a finite number. */
export function readDriftReport(text: string): PublishDriftResult {
  let report: unknown;
  try {
    report = JSON.parse(text);
  } catch {
    throw new DriftReportError('drift.json is not JSON');
  }
  const r = report as { schema_version?: unknown; status?: unknown; metrics?: unknown };
  if (typeof report !== 'object' || report === null || r.schema_version !== 1) {
    throw new DriftReportError(`drift.json has schema_version ${JSON.stringify(r?.schema_version)}; this step reads schema_version 1`);
  }
  if (typeof r.status !== 'string') throw new DriftReportError('drift.json has no status');
  if (typeof r.metrics !== 'object' || r.metrics === null || Array.isArray(r.metrics))
    throw new DriftReportError('drift.json has no metrics object');
  const metrics: Partial<Record<DriftMetricName, number>> = {};
  for (const [name, value] of Object.entries(r.metrics)) {
    if (!(name in DRIFT_METRICS))
      throw new DriftReportError(`drift.json has metric ${JSON.stringify(name)}; known: ${Object.keys(DRIFT_METRICS).join(', ')}`);
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw new DriftReportError(`drift.json metric ${name} is ${JSON.stringify(value)}, not a finite number`);
    metrics[name as DriftMetricName] = value;
  }
  return { status: r.status, metrics };
}

/** The metric data of one report, dimensioned by endpoint and variant. */
export function metricData(result: PublishDriftResult, endpointName: string, variantName: string, timestamp: Date): MetricDatum[] {
  return Object.entries(result.metrics).map(([name, value]) => ({
    MetricName: name,
    Value: value,
    Unit: DRIFT_METRICS[name as DriftMetricName],
    Timestamp: timestamp,
    Dimensions: [
      { Name: 'EndpointName', Value: endpointName },
      { Name: 'VariantName', Value: variantName },
    ],
  }));
}
