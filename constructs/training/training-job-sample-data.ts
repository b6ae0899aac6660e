import { Aws, DefaultStackSynthesizer, Fn, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { createHash } from 'crypto';
import * as fs from 'fs';

import { lambdaRole } from '../private/lambda-role';
import { acknowledgeWildcardAction, acknowledgeWildcardResource } from '../private/nag-acknowledgements';
import { acknowledgeSampleDataUpload } from './training-job-sample-data-acknowledgements';

/** Properties of a {@link SampleDataUpload}. */
export interface SampleDataUploadProps {
  /** Bucket the files go to. */
  readonly bucket: s3.IBucket;

  /** Key prefix (ending in `/`) the files go under; version it, since the upload replaces what is there. */
  readonly prefix: string;

  /** Files to upload: object key under `prefix` to local path. */
  readonly files: Record<string, string>;

  /**
   * Days the upload function's logs are kept.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Key that encrypts the upload function's log group (its policy must let CloudWatch Logs use it).
   * @default - CloudWatch Logs' own encryption
   */
  readonly logEncryptionKey?: kms.IKey;
}

/**
 * Uploads local files (the bundled training sample) to S3 under a prefix at deploy time, through a
 * BucketDeployment whose role has no managed policy; the objects stay when the stack is deleted.
 */
export class SampleDataUpload extends Construct {
  /** The prefix the files are under. */
  readonly prefix: string;

  /** 12 hex digits of a hash of the files' keys and contents: changes whenever the data does. */
  readonly digest: string;

  /** The deployment. */
  readonly deployment: s3deploy.BucketDeployment;

  constructor(scope: Construct, id: string, props: SampleDataUploadProps) {
    super(scope, id);
    this.prefix = props.prefix;
    const hash = createHash('sha256');
    const sources = Object.entries(props.files)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, file]) => {
        const content = fs.readFileSync(file, 'utf8');
        hash.update(key).update('\0').update(content).update('\0');
        return s3deploy.Source.data(key, content);
      });
    this.digest = hash.digest('hex').slice(0, 12);

    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      encryptionKey: props.logEncryptionKey,
    });
    const role = lambdaRole(this, 'Role', logGroup);
    // The staged sample zip is read from the CDK bootstrap asset bucket, whose object keys are asset hashes.
    const stack = Stack.of(this);
    const qualifier = stack.synthesizer.bootstrapQualifier ?? DefaultStackSynthesizer.DEFAULT_QUALIFIER;
    const assetBucket = Fn.sub(DefaultStackSynthesizer.DEFAULT_FILE_ASSETS_BUCKET_NAME.replace('${Qualifier}', qualifier));
    const stagedAssets = `arn:${Aws.PARTITION}:s3:::${assetBucket}/*`;
    confineToPrefix(role, props.bucket, props.prefix, stagedAssets);

    this.deployment = new s3deploy.BucketDeployment(this, 'Deployment', {
      sources,
      destinationBucket: props.bucket,
      destinationKeyPrefix: props.prefix,
      retainOnDelete: true,
      role,
      logGroup,
      memoryLimit: 256,
    });

    acknowledgeWildcardResource(
      role,
      props.bucket.arnForObjects('*'),
      "BucketDeployment's own grant covers every object of the destination bucket (not configurable); an explicit deny in the same role limits writes and deletes to the sample prefix and denies deleting any object version.",
    );
    acknowledgeWildcardResource(
      role,
      stagedAssets,
      "Read access to the staged sample in the CDK asset bucket (BucketDeployment's own grant).",
    );
    // BucketDeployment's handler is a singleton function at the stack's root that the deployment does not expose:
    // found by its runtime (the only Python function this construct adds), not by aws-cdk-lib's construct id.
    const handler = stack.node.findAll().find((c) => c instanceof lambda.Function && c.runtime.family === lambda.RuntimeFamily.PYTHON);
    if (handler) acknowledgeSampleDataUpload(this, handler);
    for (const action of [
      's3:GetObject*',
      's3:GetBucket*',
      's3:List*',
      's3:DeleteObject*',
      's3:Abort*',
      'kms:ReEncrypt*',
      'kms:GenerateDataKey*',
    ]) {
      acknowledgeWildcardAction(
        role,
        action,
        "BucketDeployment's own grants (read the staged asset, sync the destination prefix through SSE-KMS); not configurable.",
      );
    }
  }
}

/**
 * Object writes and deletes BucketDeployment's grant allows on the whole destination bucket (test/security-gaps.test.ts
 * expands its wildcards against the IAM reference).
 */
export const OBJECT_WRITE_ACTIONS = [
  's3:PutObject',
  's3:PutObjectLegalHold',
  's3:PutObjectRetention',
  's3:PutObjectTagging',
  's3:PutObjectVersionTagging',
  's3:DeleteObject',
  's3:DeleteObjectAnnotation',
  's3:DeleteObjectTagging',
  's3:DeleteObjectVersion',
  's3:DeleteObjectVersionAnnotation',
  's3:DeleteObjectVersionTagging',
  's3:AbortMultipartUpload',
];

/**
 * BucketDeployment grants its role read and write on every object of the destination bucket and takes no
 * narrower grant. Explicit denies, which no allow overrides
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html), confine it:
 * no read, write or delete outside `prefix` (reads also from the staged assets, `stagedAssets`), no listing
 * but of `prefix`, and no version delete anywhere, so an upload (which replaces the objects under its prefix,
 * leaving the old ones as noncurrent versions) can never destroy data for good, nor read the rest of the bucket.
 */
function confineToPrefix(role: iam.IRole, bucket: s3.IBucket, prefix: string, stagedAssets: string): void {
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'ReadOnlyTheSampleAndItsStagedAsset',
      effect: iam.Effect.DENY,
      actions: ['s3:GetObject*'],
      notResources: [bucket.arnForObjects(`${prefix}*`), stagedAssets],
    }),
  );
  // s3:prefix is absent from a list request without a prefix, and StringNotLike then matches: denied too
  // (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html).
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'ListOnlyTheSamplePrefix',
      effect: iam.Effect.DENY,
      actions: ['s3:ListBucket', 's3:ListBucketVersions'],
      resources: [bucket.bucketArn],
      conditions: { StringNotLike: { 's3:prefix': [`${prefix}*`] } },
    }),
  );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'WriteOnlyUnderTheSamplePrefix',
      effect: iam.Effect.DENY,
      actions: OBJECT_WRITE_ACTIONS,
      notResources: [bucket.arnForObjects(`${prefix}*`)],
    }),
  );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'NeverDeleteAnObjectVersion',
      effect: iam.Effect.DENY,
      actions: ['s3:DeleteObjectVersion'],
      resources: [bucket.arnForObjects('*')],
    }),
  );
}
