import { Stack } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

import { servicePrincipalForThisAccount } from '../private/confused-deputy';
import { acknowledgeWildcardResource } from '../private/nag-acknowledgements';
import { jobLogStatements } from './sagemaker-job-logs';

/** The kinds of SageMaker job an execution role runs. */
export type SageMakerJobKind = 'training' | 'processing';

/**
 * SageMaker writes every job's logs to its kind's log group, one stream per host: `<job>/algo-<n>-<time>`
 * (https://docs.aws.amazon.com/sagemaker/latest/dg/logging-cloudwatch.html).
 */
export const JOB_LOG_GROUPS: Record<SageMakerJobKind, string> = {
  training: '/aws/sagemaker/TrainingJobs',
  processing: '/aws/sagemaker/ProcessingJobs',
};

/** SageMaker's training log group. */
export const TRAINING_LOG_GROUP = JOB_LOG_GROUPS.training;

/** A place in S3: a bucket and a key prefix (ending in `/`), or the key of one object. */
export interface S3Location {
  readonly bucket: s3.IBucket;
  readonly prefix: string;
}

/** Properties of a {@link SageMakerExecutionRole}. */
export interface SageMakerExecutionRoleProps {
  /** Which jobs the role runs: names its log group and its description. */
  readonly jobKind: SageMakerJobKind;

  /**
   * Prefix of the names of the jobs this role runs (no trailing hyphen): outputs, checkpoints and log streams
   * are writable only under `<prefix>-*`.
   */
  readonly jobNamePrefix: string;

  /** What the jobs read, read-only: every object under each prefix, or the one object a key names. */
  readonly inputs: S3Location[];

  /** Where the jobs write, write-only: SageMaker writes each job's outputs under `<prefix><job name>/`. */
  readonly outputs: S3Location[];

  /**
   * Where the jobs checkpoint, `<prefix><job name>/`: written, and read back to resume after a spot interruption.
   * @default - the jobs keep no checkpoints
   */
  readonly checkpoints?: S3Location;

  /** Customer-managed key of the data, the outputs and (with `volumeEncryption`) the storage volume. */
  readonly encryptionKey: kms.IKey;

  /**
   * Whether the jobs encrypt their storage volume with `encryptionKey`, which needs `kms:CreateGrant` (for
   * AWS resources only).
   * @default true
   */
  readonly volumeEncryption?: boolean;

  /** Repository holding the jobs' image. */
  readonly repository: ecr.IRepository;

  /**
   * The subnets and security groups the jobs run in, when they run in a VPC: SageMaker then creates, and later
   * deletes, one network interface per instance in them.
   * @default - the jobs run in no VPC
   */
  readonly vpc?: { readonly subnetIds: string[]; readonly securityGroupIds: string[] };
}

/**
 * The role SageMaker assumes to run the training or processing jobs of one construct, with least privilege and
 * no managed policy: read the inputs, write its own jobs' outputs and checkpoints, use the key, pull the image,
 * write its own jobs' logs (and metrics, where they publish any). No action wildcards; nothing may delete, so
 * a rerun never destroys an earlier job's output.
 */
export class SageMakerExecutionRole extends iam.Role {
  constructor(scope: Construct, id: string, props: SageMakerExecutionRoleProps) {
    super(scope, id, {
      // Only SageMaker acting for this account may assume it (the confused-deputy guard).
      assumedBy: servicePrincipalForThisAccount(scope, 'sagemaker.amazonaws.com'),
      description: `Runs the ${props.jobNamePrefix}-* SageMaker ${props.jobKind} jobs`,
    });
    const stack = Stack.of(this);
    const jobs = `${props.jobNamePrefix}-*`;
    const acks: [resource: string, reason: string][] = [];
    const allow = (actions: string[], resources: string[], reason?: string, conditions?: Record<string, Record<string, unknown>>) => {
      iam.Grant.addToPrincipal({ grantee: this, actions, resourceArns: resources, conditions });
      if (reason) resources.forEach((r) => acks.push([r, reason]));
    };

    for (const input of props.inputs) {
      allow(
        ['s3:GetObject'],
        [input.bucket.arnForObjects(`${input.prefix}*`)],
        "Read-only access to the job's input: one file, or the objects under its prefix, whose keys are not known in advance.",
      );
      allow(['s3:ListBucket'], [input.bucket.bucketArn], undefined, { StringLike: { 's3:prefix': [`${input.prefix}*`] } });
    }
    for (const output of props.outputs) {
      allow(
        ['s3:PutObject'],
        [output.bucket.arnForObjects(`${output.prefix}${jobs}`)],
        "SageMaker writes each job's outputs under <output prefix><job name>/; only this role's jobs are writable.",
      );
    }
    if (props.checkpoints) {
      const { bucket, prefix } = props.checkpoints;
      allow(
        ['s3:GetObject', 's3:PutObject'],
        [bucket.arnForObjects(`${prefix}${jobs}`)],
        "Checkpoints of this role's jobs only (<checkpoint prefix><job name>/), read back after a spot interruption.",
      );
      allow(['s3:ListBucket'], [bucket.bucketArn], undefined, { StringLike: { 's3:prefix': [`${prefix}${jobs}`] } });
    }

    // S3 SSE-KMS reads (Decrypt) and writes (GenerateDataKey); the output config's KmsKeyId needs Encrypt.
    props.encryptionKey.grant(this, 'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey');
    if (props.volumeEncryption ?? true) {
      // SageMaker encrypts the EBS volume through a grant it creates with this role.
      allow(['kms:CreateGrant'], [props.encryptionKey.keyArn], undefined, { Bool: { 'kms:GrantIsForAWSResource': true } });
    }

    props.repository.grantPull(this);

    // Logs to the kind's own log group and its instance metrics, pinned to that namespace (sagemaker-job-logs.ts).
    for (const st of jobLogStatements(stack, JOB_LOG_GROUPS[props.jobKind], jobs, props.jobKind))
      allow(st.actions, st.resources, st.reason, st.conditions);
    // ecr:GetAuthorizationToken (from grantPull) and PutMetricData have no resource scope; a condition pins the namespace.
    let anyResourceReason = `ecr:GetAuthorizationToken supports no resource scope; cloudwatch:PutMetricData supports none either and is pinned to the ${JOB_LOG_GROUPS[props.jobKind]} namespace by condition`;

    if (props.vpc) {
      // SageMaker attaches a network interface per instance in the job's subnets, and removes it after
      // (https://docs.aws.amazon.com/sagemaker/latest/dg/train-vpc.html). A new interface has no id yet, so
      // CreateNetworkInterface names every interface, but also the configured subnets and security groups, which
      // it needs too; the calls on existing interfaces are held to those in the configured subnets (ec2:Subnet).
      const arn = (resource: string, name: string) => stack.formatArn({ service: 'ec2', resource, resourceName: name });
      const interfaces = arn('network-interface', '*');
      const subnets = props.vpc.subnetIds.map((id) => arn('subnet', id));
      allow(['ec2:CreateNetworkInterface'], [interfaces, ...subnets, ...props.vpc.securityGroupIds.map((id) => arn('security-group', id))]);
      acks.push([
        interfaces,
        'SageMaker creates the network interfaces of a VPC job in the configured subnets and security groups; a new interface has no id yet.',
      ]);
      allow(
        ['ec2:CreateNetworkInterfacePermission', 'ec2:DeleteNetworkInterface', 'ec2:DeleteNetworkInterfacePermission'],
        [interfaces],
        undefined,
        { ArnEquals: { 'ec2:Subnet': subnets } },
      );
      allow(
        [
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeVpcs',
          'ec2:DescribeDhcpOptions',
          'ec2:DescribeSubnets',
          'ec2:DescribeSecurityGroups',
        ],
        ['*'],
      );
      anyResourceReason += '; the ec2:Describe* calls SageMaker makes for a VPC job support no resource scope';
    }
    acks.push(['*', anyResourceReason]);

    for (const [resource, reason] of acks) acknowledgeWildcardResource(this, resource, reason);
  }
}
