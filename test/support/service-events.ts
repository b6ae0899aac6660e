/**
 * Events AWS services put on an account's default event bus, in the shapes their documentation shows: S3's
 * "Object Created" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html) and SageMaker's
 * "SageMaker Model Package State Change"
 * (https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html#eventbridge-model-package).
 */

/** Where an event comes from. */
export interface EventOrigin {
  readonly account: string;
  readonly region: string;
  /** @default '2026-12-05T08:00:00Z' */
  readonly time?: string;
}

/** A model package version as SageMaker reports it in the event. */
export interface ModelPackageVersion {
  readonly groupName: string;
  readonly version: number;
  readonly arn: string;
  readonly status: string;
}

/** SageMaker's event for a version's new approval status (a rule's target without an input mapping gets it whole). */
export function modelPackageStateChange(pkg: ModelPackageVersion, origin: EventOrigin) {
  return {
    version: '0',
    id: `event-${pkg.version}`,
    'detail-type': 'SageMaker Model Package State Change',
    source: 'aws.sagemaker',
    account: origin.account,
    time: origin.time ?? '2026-12-05T08:00:00Z',
    region: origin.region,
    resources: [pkg.arn],
    detail: {
      ModelPackageGroupName: pkg.groupName,
      ModelPackageVersion: pkg.version,
      ModelPackageArn: pkg.arn,
      ModelApprovalStatus: pkg.status,
    },
  };
}

/** An object S3 stored, with what PutObject answered. */
export interface CreatedObject {
  readonly bucket: string;
  readonly key: string;
  readonly size: number;
  readonly etag: string;
  readonly versionId?: string;
}

/** S3's event for a new object, from a bucket with EventBridge notifications on. */
export function s3ObjectCreated(object: CreatedObject, origin: EventOrigin) {
  return {
    version: '0',
    id: `event-${object.key}`,
    'detail-type': 'Object Created',
    source: 'aws.s3',
    account: origin.account,
    time: origin.time ?? '2026-12-05T08:00:00Z',
    region: origin.region,
    resources: [`arn:aws:s3:::${object.bucket}`],
    detail: {
      version: '0',
      bucket: { name: object.bucket },
      object: {
        key: object.key,
        size: object.size,
        etag: object.etag.replace(/"/g, ''),
        ...(object.versionId ? { 'version-id': object.versionId } : {}),
        sequencer: '00617F08299329D189',
      },
      'request-id': 'N4N7GDK58NMKJ12R',
      requester: origin.account,
      'source-ip-address': '203.0.113.1',
      reason: 'PutObject',
    },
  };
}
