import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

import { acknowledgeSecureBucket } from './secure-bucket-acknowledgements';

/** Properties of a {@link SecureBucket}. */
export interface SecureBucketProps {
  /**
   * Customer-managed key that encrypts every object (SSE-KMS with an S3 Bucket Key).
   * @default - S3-managed encryption (SSE-S3): what AWS requires of a server-access-log target bucket
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * Bucket that receives this bucket's server access logs.
   * @default - no server access logging: only right for the access-log bucket itself
   */
  readonly serverAccessLogsBucket?: s3.IBucket;

  /**
   * Prefix of this bucket's access logs in the log bucket.
   * @default - the construct's id followed by a slash
   */
  readonly serverAccessLogsPrefix?: string;

  /**
   * How long replaced and deleted object versions are kept before S3 expires them.
   * @default Duration.days(90)
   */
  readonly noncurrentVersionExpiration?: Duration;

  /**
   * What happens to the bucket when it leaves the stack.
   * @default RemovalPolicy.RETAIN - `cdk destroy` never deletes data
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * An S3 bucket with this platform's security defaults: TLS 1.2+ only, all public access blocked,
 * bucket-owner-enforced ownership, versioning with expiry of old versions, encryption at rest,
 * server access logging and retention on stack deletion.
 */
export class SecureBucket extends s3.Bucket {
  constructor(scope: Construct, id: string, props: SecureBucketProps = {}) {
    super(scope, id, {
      encryption: props.encryptionKey ? s3.BucketEncryption.KMS : s3.BucketEncryption.S3_MANAGED,
      encryptionKey: props.encryptionKey,
      bucketKeyEnabled: props.encryptionKey ? true : undefined,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      serverAccessLogsBucket: props.serverAccessLogsBucket,
      serverAccessLogsPrefix: props.serverAccessLogsBucket ? (props.serverAccessLogsPrefix ?? `${id}/`) : undefined,
      lifecycleRules: [
        {
          id: 'expire-noncurrent-versions',
          noncurrentVersionExpiration: props.noncurrentVersionExpiration ?? Duration.days(90),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      autoDeleteObjects: false,
    });
    acknowledgeSecureBucket(this, {
      customerKey: props.encryptionKey !== undefined,
      accessLogs: props.serverAccessLogsBucket !== undefined,
    });
  }
}
