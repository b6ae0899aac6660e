import { Stack } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { servicePrincipalForThisAccount } from '../private/confused-deputy';
import { acknowledgeWildcardResource } from '../private/nag-acknowledgements';
import { jobLogStatements } from './sagemaker-job-logs';

/** SageMaker writes every training job's logs to this log group, one stream per host: `<job>/algo-<n>-<time>`. */
export const TRAINING_LOG_GROUP = '/aws/sagemaker/TrainingJobs';

/** Properties of a {@link SageMakerExecutionRole}. */
export interface SageMakerExecutionRoleProps {
  /** Bucket the jobs read their training data from. */
  readonly dataBucket: s3.IBucket;

  /** Key prefix of the training data in `dataBucket` (ending in `/`); nothing outside it is readable. */
  readonly dataPrefix: string;

  /** Bucket the jobs write model artifacts and checkpoints to. */
  readonly outputBucket: s3.IBucket;

  /** Key prefix of the model artifacts in `outputBucket` (ending in `/`). */
  readonly artifactPrefix: string;

  /** Key prefix of the checkpoints in `outputBucket` (ending in `/`). */
  readonly checkpointPrefix: string;

  /** Customer-managed key of the data, the artifacts and (with `volumeEncryption`) the storage volume. */
  readonly encryptionKey: kms.IKey;

  /**
   * Whether the jobs encrypt their storage volume with `encryptionKey`, which needs `kms:CreateGrant` (for
   * AWS resources only).
   * @default true
   */
  readonly volumeEncryption?: boolean;

  /** Repository holding the training image. */
  readonly repository: ecr.IRepository;

  /**
   * Prefix of the names of the jobs this role runs (no trailing hyphen): artifacts, checkpoints and log
   * streams are writable only under `<prefix>-*`.
   */
  readonly jobNamePrefix: string;

  /**
   * Whether the jobs run in a VPC, which needs permission to manage their network interfaces.
   * @default false
   */
  readonly vpc?: boolean;

}

/**
 * The role SageMaker assumes to run training jobs, with least privilege and no managed policy: read the
 * data prefix, write the artifact and checkpoint prefixes of its own jobs, use the key, pull the image,
 * write its own jobs' logs and the SageMaker metrics namespace. No action wildcards.
 */
export class SageMakerExecutionRole extends iam.Role {
  constructor(scope: Construct, id: string, props: SageMakerExecutionRoleProps) {
    super(scope, id, {
      // Only SageMaker acting for this account may assume it (the confused-deputy guard).
      assumedBy: servicePrincipalForThisAccount(scope, 'sagemaker.amazonaws.com'),
      description: `Runs the ${props.jobNamePrefix}-* SageMaker training jobs`,
    });
    const stack = Stack.of(this);
    const jobs = `${props.jobNamePrefix}-*`;
    const acks: [resource: string, reason: string][] = [];
    const allow = (actions: string[], resources: string[], reason?: string, conditions?: Record<string, Record<string, unknown>>) => {
      iam.Grant.addToPrincipal({ grantee: this, actions, resourceArns: resources, conditions });
      if (reason) resources.forEach((r) => acks.push([r, reason]));
    };

    // Training data: read-only, its prefix only.
    allow(['s3:GetObject'], [props.dataBucket.arnForObjects(`${props.dataPrefix}*`)],
      'Read-only access to the objects under the training data prefix; their keys are not known in advance.');
    allow(['s3:ListBucket'], [props.dataBucket.bucketArn], undefined, { StringLike: { 's3:prefix': [`${props.dataPrefix}*`] } });

    // Artifacts: write-only. Checkpoints: written, and read back to resume after a spot interruption. Nothing
    // may delete: a retrain never destroys an earlier model.
    allow(['s3:PutObject'], [props.outputBucket.arnForObjects(`${props.artifactPrefix}${jobs}`)],
      'SageMaker writes each job\'s artifacts under <artifact prefix><job name>/; only this role\'s jobs are writable.');
    allow(['s3:GetObject', 's3:PutObject'], [props.outputBucket.arnForObjects(`${props.checkpointPrefix}${jobs}`)],
      'Checkpoints of this role\'s jobs only (<checkpoint prefix><job name>/), read back after a spot interruption.');
    allow(['s3:ListBucket'], [props.outputBucket.bucketArn], undefined, { StringLike: { 's3:prefix': [`${props.checkpointPrefix}${jobs}`] } });

    // S3 SSE-KMS reads (Decrypt) and writes (GenerateDataKey); OutputDataConfig.KmsKeyId needs Encrypt.
    props.encryptionKey.grant(this, 'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey');
    if (props.volumeEncryption ?? true) {
      // SageMaker encrypts the EBS volume through a grant it creates with this role.
      allow(['kms:CreateGrant'], [props.encryptionKey.keyArn], undefined, { Bool: { 'kms:GrantIsForAWSResource': true } });
    }

    props.repository.grantPull(this);

    for (const st of jobLogStatements(stack, TRAINING_LOG_GROUP, jobs, 'training')) allow(st.actions, st.resources, st.reason, st.conditions);
    // ecr:GetAuthorizationToken (from grantPull) and PutMetricData have no resource scope; a condition pins the namespace.
    let anyResourceReason = 'ecr:GetAuthorizationToken supports no resource scope; cloudwatch:PutMetricData supports none either and is pinned to the /aws/sagemaker/TrainingJobs namespace by condition';

    if (props.vpc) {
      // SageMaker attaches a network interface per instance in the job's subnets, and removes it after.
      const arn = (resource: string) => stack.formatArn({ service: 'ec2', resource, resourceName: '*' });
      allow(['ec2:CreateNetworkInterface', 'ec2:CreateNetworkInterfacePermission', 'ec2:DeleteNetworkInterface', 'ec2:DeleteNetworkInterfacePermission'],
        [arn('network-interface'), arn('subnet'), arn('security-group')],
        'SageMaker creates and deletes the network interfaces of a VPC job; their ids are not known in advance.');
      allow(['ec2:DescribeNetworkInterfaces', 'ec2:DescribeVpcs', 'ec2:DescribeDhcpOptions', 'ec2:DescribeSubnets', 'ec2:DescribeSecurityGroups'], ['*']);
      anyResourceReason += '; the ec2:Describe* calls SageMaker makes for a VPC job support no resource scope';
    }
    acks.push(['*', anyResourceReason]);

    for (const [resource, reason] of acks) acknowledgeWildcardResource(this, resource, reason);
  }
}
