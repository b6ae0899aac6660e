import { IConstruct } from 'constructs';

import { acknowledge, HIPAA, inPacks, NIST, skipCheckov } from '../private/compliance';

/** The cdk-nag findings and checkov checks a {@link SecureBucket} accepts, with why. */
export function acknowledgeSecureBucket(bucket: IConstruct, opts: { customerKey: boolean; accessLogs: boolean }): void {
  acknowledge(
    bucket,
    inPacks('S3BucketReplicationEnabled', NIST, HIPAA),
    'The platform lives in one region by design: objects are versioned (old versions expire after the configured days), ' +
      'the bucket is kept when the stack is deleted, and S3 stores them across availability zones. Cross-region ' +
      'replication is a disaster-recovery choice with its own cost, left to the operator.',
  );
  if (!opts.customerKey) {
    // Server access logs can be delivered only to a bucket encrypted with SSE-S3
    // (https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html).
    acknowledge(
      bucket,
      inPacks('S3DefaultEncryptionKMS', NIST, HIPAA),
      'S3 delivers server access logs only to a bucket with SSE-S3 default encryption, not SSE-KMS; this bucket holds those logs.',
    );
  }
  if (!opts.accessLogs) {
    skipCheckov(
      bucket,
      'CKV_AWS_18',
      'This is the access-log bucket the other buckets log to; logging it into itself would log every log delivery, without end.',
    );
  }
}
