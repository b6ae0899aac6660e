import { Duration, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

import { SecureBucket } from '../constructs/storage/secure-bucket';

export interface DataStackProps extends StackProps {
  /** Days replaced or deleted object versions are kept. */
  readonly noncurrentVersionExpirationDays: number;
  /** Days captured endpoint traffic is kept (SETTINGS.captureRetentionDays). */
  readonly captureRetentionDays: number;
}

/**
 * Where data lives: one customer-managed key, and buckets for training data, model artifacts, captured endpoint
 * traffic and access logs.
 */
export class DataStack extends Stack {
  readonly key: kms.Key;
  readonly dataBucket: s3.Bucket;
  readonly modelBucket: s3.Bucket;
  readonly accessLogsBucket: s3.Bucket;
  /**
   * The endpoint's captured requests and answers (customer data) and the drift reports made from them: kept
   * `captureRetentionDays`, and replaced or deleted versions one day more.
   */
  readonly captureBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, props);
    const noncurrentVersionExpiration = Duration.days(props.noncurrentVersionExpirationDays);

    this.key = new kms.Key(this, 'Key', {
      description: "Encrypts the deep-learning platform's data, model artifacts, logs and messages",
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // S3 server access logs can only be delivered to an SSE-S3 bucket, so this one does not use the key.
    this.accessLogsBucket = new SecureBucket(this, 'AccessLogsBucket', { noncurrentVersionExpiration });

    const common = { encryptionKey: this.key, serverAccessLogsBucket: this.accessLogsBucket, noncurrentVersionExpiration };
    this.dataBucket = new SecureBucket(this, 'DataBucket', common);
    // Object events go to EventBridge, where the retraining pipeline's new-data rule waits for a completion marker.
    // The native property, not `eventBridgeEnabled` (which adds a custom resource and its function):
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-s3-bucket-notificationconfiguration.html
    (this.dataBucket.node.defaultChild as s3.CfnBucket).notificationConfiguration = {
      eventBridgeConfiguration: { eventBridgeEnabled: true },
    };
    this.modelBucket = new SecureBucket(this, 'ModelBucket', common);
    this.captureBucket = new SecureBucket(this, 'CaptureBucket', { ...common, noncurrentVersionExpiration: Duration.days(1) });
    // https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-expire-general-considerations.html: on a
    // versioned bucket, expiry makes the current version noncurrent; the rule above deletes it a day later.
    this.captureBucket.addLifecycleRule({ id: 'expire-captured-data', expiration: Duration.days(props.captureRetentionDays) });
  }
}
