/**
 * The drift check's last step: reads the window's drift.json and publishes its metrics to CloudWatch
 * (drift-metrics.ts). Environment: NAMESPACE (the metrics' namespace; the role may publish to it only),
 * REPORT_BUCKET and REPORT_PREFIX (the only place it reads reports from).
 */
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';

import { metricData, PublishDriftRequest, PublishDriftResult, readDriftReport } from './drift-metrics';

const s3 = new S3Client({});
const cloudwatch = new CloudWatchClient({});

export async function handler(event: PublishDriftRequest): Promise<PublishDriftResult> {
  const namespace = required('NAMESPACE');
  const bucket = required('REPORT_BUCKET');
  const prefix = required('REPORT_PREFIX');
  if (event.bucket !== bucket || typeof event.key !== 'string' || !event.key.startsWith(prefix) || !event.key.endsWith('/drift.json')) {
    throw new Error(`reads drift reports from s3://${bucket}/${prefix}.../drift.json only, not s3://${event.bucket}/${event.key}`);
  }
  if (
    typeof event.endpointName !== 'string' ||
    event.endpointName === '' ||
    typeof event.variantName !== 'string' ||
    event.variantName === ''
  ) {
    throw new Error('endpointName and variantName are required');
  }
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: event.key }));
  const result = readDriftReport(await object.Body!.transformToString('utf-8'));
  const data = metricData(result, event.endpointName, event.variantName, new Date());
  // PutMetricData takes up to 1,000 metrics per call; a report has at most seven.
  if (data.length > 0) await cloudwatch.send(new PutMetricDataCommand({ Namespace: namespace, MetricData: data }));
  console.log(JSON.stringify({ message: 'drift metrics published', key: event.key, status: result.status, metrics: result.metrics }));
  return result;
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}
