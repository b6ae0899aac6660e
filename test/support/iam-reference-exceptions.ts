/**
 * Statements AWS itself prescribes that the reference check (test/support/iam-reference.ts) would report: each
 * names the page that prescribes it and why the gap it reports does no harm. test/iam-reference.test.ts fails
 * when one no longer matches anything, so none outlives the statement it excuses.
 */
import type { ReferenceException } from './iam-reference';

export const REFERENCE_EXCEPTIONS: readonly ReferenceException[] = [
  {
    // constructs/storage/logs-key.ts: CloudWatch Logs' key-policy statement, actions kms:Encrypt*, Decrypt*, ReEncrypt*,
    // GenerateDataKey* and Describe*, all under the encryption-context condition.
    kind: 'condition-key-not-applicable',
    conditionKey: 'kms:EncryptionContext:aws:logs:arn',
    actions: ['kms:DescribeKey'],
    effect: 'Allow',
    principal: { servicePrefix: 'logs.' },
    url: 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html',
    reason:
      'The key policy CloudWatch Logs documents for encrypting log groups puts kms:Describe* under the kms:EncryptionContext:aws:logs:arn condition, ' +
      'and log-group encryption works with it; a DescribeKey without that context is simply not granted.',
  },
  {
    // constructs/storage/secure-bucket.ts (minimumTLSVersion): Deny s3:* when s3:TlsVersion < 1.2, for every principal.
    kind: 'condition-key-not-applicable',
    conditionKey: 's3:TlsVersion',
    actions: ['s3:AllowVendedLogDeliveryForResource', 's3:InitiateReplication', 's3:PutAccessPointPublicAccessBlock'],
    effect: 'Deny',
    principal: '*',
    url: 'https://repost.aws/knowledge-center/s3-enforce-modern-tls',
    reason:
      'AWS prescribes Deny "s3:*" under NumericLessThan s3:TlsVersion 1.2. The three actions it cannot cover are no client request to this bucket: ' +
      "a permission-only check for vended log delivery, S3's own replication, and an account-level access-point setting.",
  },
];
