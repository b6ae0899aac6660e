import type { CreateProcessingJobCommandInput } from '@aws-sdk/client-sagemaker';
import { CustomResource, Duration, Stack } from 'aws-cdk-lib';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct, IDependable } from 'constructs';
import { supportsVolumeKms } from '../instance-types';
import { servicePrincipalForThisAccount } from '../private/confused-deputy';
import { acknowledgeWildcardResource } from '../private/nag-acknowledgements';
import { PROCESSING_ATTR, PROCESSING_RESOURCE_TYPE, ProcessingJobResourceProperties } from './runtime/processing-job-contract';
import { acknowledgeSageMakerJob } from './sagemaker-job-acknowledgements';
import { jobLogStatements } from './sagemaker-job-logs';
import { JobProvider, createJobProvider, createJobResources, grantPassRole } from './sagemaker-job-provider';
import { bucketIdentity, defaultPrefix, jobName, sortKeys } from './training-job-rules';

/** SageMaker writes every processing job's logs to this log group, one stream per host: `<job>/algo-<n>-<time>`. */
export const PROCESSING_LOG_GROUP = '/aws/sagemaker/ProcessingJobs';

/**
 * Where the image's Processing entry points read and write (training-image/src/dlplatform/paths.py): input `n`
 * at `/opt/ml/processing/input/<n>`, output `n` at `/opt/ml/processing/output/<n>`.
 */
const PROCESSING_ROOT = '/opt/ml/processing';

/** Data a {@link ProcessingJob} reads. */
export interface ProcessingInput {
  /** Bucket holding the data. */
  readonly bucket: s3.IBucket;
  /**
   * Key of one CSV file, or a key prefix ending in `/` holding CSV files (or train/, validation/ and test/
   * folders, a split the job keeps).
   */
  readonly key: string;
  /** Version label of the data; part of the job's identity. */
  readonly version: string;
  /**
   * What uploads the data when this app does: the job starts after it.
   * @default - the data is already in place
   */
  readonly upload?: IDependable;
}

/** Properties of a {@link ProcessingJob}. */
export interface ProcessingJobProps {
  /** The image; SageMaker runs it with `containerArguments`. */
  readonly image: ecrAssets.DockerImageAsset;
  /** What the job reads, by input name (the container finds input `n` at /opt/ml/processing/input/<n>). */
  readonly inputs: Record<string, ProcessingInput>;
  /** Names of the job's outputs (the container writes output `n` to /opt/ml/processing/output/<n>). */
  readonly outputs: string[];
  /** Bucket the job's outputs go to: output `n` at `<outputPrefix><job name>/<n>/`. */
  readonly outputBucket: s3.IBucket;
  /**
   * Key prefix of the outputs.
   * @default 'prepared/'
   */
  readonly outputPrefix?: string;
  /** Customer-managed key of the outputs and, where the instance type allows, the storage volume. */
  readonly encryptionKey: kms.IKey;
  /**
   * Arguments SageMaker passes the image.
   * @default ['prepare']
   */
  readonly containerArguments?: string[];
  /**
   * Environment of the container (the image's `prepare` reads its PREPARE_* settings here); part of the job's identity.
   * @default - none
   */
  readonly environment?: Record<string, string>;
  /**
   * Instance type of the job.
   * @default 'ml.m5.large'
   */
  readonly instanceType?: string;
  /**
   * Storage volume of the instance, in GB.
   * @default 30
   */
  readonly volumeSizeGb?: number;
  /**
   * Longest the job may run.
   * @default Duration.hours(1)
   */
  readonly maxRuntime?: Duration;
  /**
   * How long the deploy waits for the job before it fails (up to 2 hours).
   * @default - maxRuntime plus 10 minutes for SageMaker to provision and upload, at most 2 hours
   */
  readonly timeout?: Duration;
  /**
   * Time between two checks of the job's status.
   * @default Duration.seconds(30)
   */
  readonly queryInterval?: Duration;
  /**
   * Start of every job name; the rest is a hash of the job's inputs.
   * @default - the stack name, lowercased, and `-` with the first container argument (e.g. `-prepare`)
   */
  readonly jobNamePrefix?: string;
  /**
   * Attempt number, part of the job's identity: raise it to run a job again whose inputs did not change.
   * @default 1
   */
  readonly attempt?: number;
  /**
   * Run the job in these VPC subnets with these security groups.
   * @default - no VPC
   */
  readonly vpcConfig?: { readonly subnetIds: string[]; readonly securityGroupIds: string[] };
  /**
   * Days the handlers' and the provider's logs are kept.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Key that encrypts the handlers' and the provider's log groups.
   * @default - CloudWatch Logs' own encryption
   */
  readonly logEncryptionKey?: kms.IKey;
}

/**
 * A SageMaker Processing job as a CloudFormation resource that waits for the job and fails the deploy with
 * its FailureReason (and the container's ExitMessage), on the same handler and provider as {@link TrainingJob}.
 *
 * Not the native AWS::SageMaker::ProcessingJob: its page says a rollback of a job with a fixed
 * ProcessingJobName can leave the stack stuck on AlreadyExists, and content addressing needs a fixed name;
 * and neither its page nor its schema says the create waits for the job to end or fails when the job fails
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-sagemaker-processingjob.html).
 *
 * The job name is a hash of everything that determines its outputs (image, input location and version,
 * environment, container arguments, attempt): the same inputs never run twice.
 */
export class ProcessingJob extends Construct {
  /** The job's name, `<prefix>-<16 hex digits of the inputs' hash>`. */
  readonly processingJobName: string;
  /** The prefix of every job name this construct runs. */
  readonly jobNamePrefix: string;
  /** The output bucket. */
  readonly outputBucket: s3.IBucket;
  /** Key prefix of every output of the job (`<outputPrefix><job name>/`), known at synth. */
  readonly outputPrefix: string;
  /** The role SageMaker runs the job with. */
  readonly role: iam.Role;
  /** The handler functions, for alarms on their errors. */
  readonly functions: lambda.IFunction[];
  /** The custom resource provider. */
  readonly provider: cr.Provider;
  /** The completed job's resource: a consumer that references it starts after the job succeeded. */
  private readonly finalResource: CustomResource;

  constructor(scope: Construct, id: string, props: ProcessingJobProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const instanceType = props.instanceType ?? 'ml.m5.large';
    const maxRuntime = props.maxRuntime ?? Duration.hours(1);
    const timeout = props.timeout ?? Duration.seconds(Math.min(maxRuntime.toSeconds() + 600, 7200));
    const queryInterval = props.queryInterval ?? Duration.seconds(30);
    const outputPrefix = props.outputPrefix ?? 'prepared/';
    const containerArguments = props.containerArguments ?? ['prepare'];
    const environment = props.environment ?? {};
    validateProps(props, timeout, maxRuntime, outputPrefix);

    const entryPoint = (containerArguments[0] ?? 'job').toLowerCase().replace(/[^a-z0-9]+/g, '-').slice(0, 12).replace(/-+$/, '');
    this.jobNamePrefix = props.jobNamePrefix ?? `${defaultPrefix(stack.stackName).slice(0, 40 - entryPoint.length - 1)}-${entryPoint}`;
    this.processingJobName = jobName(this.jobNamePrefix, {
      image: props.image.assetHash,
      inputs: Object.entries(props.inputs).sort(([a], [b]) => a.localeCompare(b))
        .map(([name, i]) => ({ name, bucket: bucketIdentity(i.bucket), key: i.key, version: i.version })),
      containerArguments,
      environment: sortKeys(environment),
      attempt: props.attempt ?? 1,
    });
    this.outputPrefix = `${outputPrefix}${this.processingJobName}/`;
    this.outputBucket = props.outputBucket;
    const volumeKms = supportsVolumeKms(instanceType);

    this.role = this.createRole(props, outputPrefix, volumeKms);
    const request: CreateProcessingJobCommandInput = {
      ProcessingJobName: this.processingJobName,
      RoleArn: this.role.roleArn,
      AppSpecification: { ImageUri: props.image.imageUri, ContainerArguments: containerArguments },
      Environment: environment,
      ProcessingInputs: Object.entries(props.inputs).map(([name, input]) => ({
        InputName: name,
        S3Input: {
          S3Uri: `s3://${input.bucket.bucketName}/${input.key}`,
          LocalPath: `${PROCESSING_ROOT}/input/${name}`,
          // A key prefix: one file is the prefix that matches only itself; folders keep their layout.
          S3DataType: 'S3Prefix',
          S3InputMode: 'File',
          S3DataDistributionType: 'FullyReplicated',
          S3CompressionType: 'None',
        },
      })),
      ProcessingOutputConfig: {
        Outputs: props.outputs.map((name) => ({
          OutputName: name,
          S3Output: { S3Uri: `s3://${props.outputBucket.bucketName}/${this.outputPrefixOf(name)}`, LocalPath: `${PROCESSING_ROOT}/output/${name}`, S3UploadMode: 'EndOfJob' },
        })),
        KmsKeyId: props.encryptionKey.keyArn,
      },
      ProcessingResources: {
        ClusterConfig: {
          InstanceCount: 1,
          InstanceType: instanceType as never,
          VolumeSizeInGB: props.volumeSizeGb ?? 30,
          // Instance types with NVMe instance storage encrypt it themselves and reject a volume key.
          ...(volumeKms ? { VolumeKmsKeyId: props.encryptionKey.keyArn } : {}),
        },
      },
      StoppingCondition: { MaxRuntimeInSeconds: maxRuntime.toSeconds() },
      NetworkConfig: {
        EnableNetworkIsolation: true,
        EnableInterContainerTrafficEncryption: false,
        ...(props.vpcConfig ? { VpcConfig: { Subnets: props.vpcConfig.subnetIds, SecurityGroupIds: props.vpcConfig.securityGroupIds } } : {}),
      },
    };

    const jobs = createJobProvider(this, {
      kind: 'processing', queryInterval, timeout, logRetention: props.logRetention, logEncryptionKey: props.logEncryptionKey,
    });
    this.functions = [jobs.onEvent, jobs.isComplete];
    this.provider = jobs.provider;
    this.grantHandlers(jobs, request);
    const start: Pick<ProcessingJobResourceProperties, 'CreateProcessingJobRequest' | 'Attempt'> = {
      CreateProcessingJobRequest: stack.toJsonString(request),
      // Only a set attempt: the handler names the next one when it must refuse an earlier deployment's job.
      ...(props.attempt !== undefined ? { Attempt: props.attempt } : {}),
    };
    this.finalResource = createJobResources(this, jobs, {
      resourceType: PROCESSING_RESOURCE_TYPE,
      queryInterval,
      start,
      common: { ProcessingJobName: this.processingJobName },
      after: Object.values(props.inputs).flatMap((i) => (i.upload ? [i.upload] : [])),
    });
    acknowledgeSageMakerJob(this, 'DescribeProcessingJob or CreateProcessingJob');
  }

  /** Key prefix of output `name` (`<outputPrefix><job name>/<name>/`), known at synth. */
  outputPrefixOf(name: string): string {
    return `${this.outputPrefix}${name}/`;
  }

  /**
   * The completed job's name, as a reference: a consumer that uses it (e.g. as its data version) deploys
   * only after the job completed.
   */
  get completedJobName(): string {
    return this.finalResource.getAttString(PROCESSING_ATTR.processingJobName);
  }

  private grantHandlers(jobs: JobProvider, request: CreateProcessingJobCommandInput): void {
    const jobArns = Stack.of(this).formatArn({ service: 'sagemaker', resource: 'processing-job', resourceName: `${this.jobNamePrefix}-*` });
    // The conditions pin the security settings: this role can start no job without them. Keys per action:
    // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html#amazonsagemaker-policy-keys
    const volumeKey = request.ProcessingResources?.ClusterConfig?.VolumeKmsKeyId;
    iam.Grant.addToPrincipal({
      grantee: jobs.onEvent, actions: ['sagemaker:CreateProcessingJob'], resourceArns: [jobArns],
      conditions: {
        Bool: { 'sagemaker:NetworkIsolation': 'true' },
        ArnEquals: { 'sagemaker:OutputKmsKeyArn': request.ProcessingOutputConfig!.KmsKeyId, ...(volumeKey ? { 'sagemaker:VolumeKmsKeyArn': volumeKey } : {}) },
      },
    });
    iam.Grant.addToPrincipal({ grantee: jobs.onEvent, actions: ['sagemaker:DescribeProcessingJob', 'sagemaker:StopProcessingJob'], resourceArns: [jobArns] });
    iam.Grant.addToPrincipal({ grantee: jobs.isComplete, actions: ['sagemaker:DescribeProcessingJob'], resourceArns: [jobArns] });
    grantPassRole(jobs, this.role);
    for (const fn of [jobs.onEvent, jobs.isComplete]) {
      acknowledgeWildcardResource(fn.role!, jobArns,
        'Job names are <prefix>-<hash of the inputs>, fixed at synth: the handler manages only this construct\'s jobs.');
    }
  }

  /** Least privilege: read the input, write this construct's outputs, use the key, pull the image, write its logs and metrics. */
  private createRole(props: ProcessingJobProps, outputPrefix: string, volumeKms: boolean): iam.Role {
    const stack = Stack.of(this);
    const role = new iam.Role(this, 'ExecutionRole', {
      assumedBy: servicePrincipalForThisAccount(this, 'sagemaker.amazonaws.com'),
      description: `Runs the ${this.jobNamePrefix}-* SageMaker processing jobs`,
    });
    const jobs = `${this.jobNamePrefix}-*`;
    const acks: [string, string][] = [];
    const allow = (actions: string[], resources: string[], reason?: string, conditions?: Record<string, Record<string, unknown>>) => {
      iam.Grant.addToPrincipal({ grantee: role, actions, resourceArns: resources, conditions });
      if (reason) resources.forEach((r) => acks.push([r, reason]));
    };
    for (const input of Object.values(props.inputs)) {
      allow(['s3:GetObject'], [input.bucket.arnForObjects(`${input.key}*`)],
        'Read-only access to the job\'s input: one file, or the objects under its prefix, whose keys are not known in advance.');
      allow(['s3:ListBucket'], [input.bucket.bucketArn], undefined, { StringLike: { 's3:prefix': [`${input.key}*`] } });
    }
    allow(['s3:PutObject'], [props.outputBucket.arnForObjects(`${outputPrefix}${jobs}`)],
      'SageMaker writes each job\'s outputs under <output prefix><job name>/; only this construct\'s jobs are writable.');
    props.encryptionKey.grant(role, 'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey');
    if (volumeKms) allow(['kms:CreateGrant'], [props.encryptionKey.keyArn], undefined, { Bool: { 'kms:GrantIsForAWSResource': true } });
    props.image.repository.grantPull(role);
    for (const st of jobLogStatements(stack, PROCESSING_LOG_GROUP, jobs, 'processing')) allow(st.actions, st.resources, st.reason, st.conditions);
    let anyResource = 'ecr:GetAuthorizationToken supports no resource scope; cloudwatch:PutMetricData supports none either and is pinned to the /aws/sagemaker/ProcessingJobs namespace by condition';
    if (props.vpcConfig) {
      const arn = (resource: string) => stack.formatArn({ service: 'ec2', resource, resourceName: '*' });
      allow(['ec2:CreateNetworkInterface', 'ec2:CreateNetworkInterfacePermission', 'ec2:DeleteNetworkInterface', 'ec2:DeleteNetworkInterfacePermission'],
        [arn('network-interface'), arn('subnet'), arn('security-group')],
        'SageMaker creates and deletes the network interfaces of a VPC job; their ids are not known in advance.');
      allow(['ec2:DescribeNetworkInterfaces', 'ec2:DescribeVpcs', 'ec2:DescribeDhcpOptions', 'ec2:DescribeSubnets', 'ec2:DescribeSecurityGroups'], ['*']);
      anyResource += '; the ec2:Describe* calls SageMaker makes for a VPC job support no resource scope';
    }
    acks.push(['*', anyResource]);
    for (const [resource, reason] of acks) acknowledgeWildcardResource(role, resource, reason);
    return role;
  }
}

/** Throws, naming the prop, its value and what is allowed. */
function validateProps(props: ProcessingJobProps, timeout: Duration, maxRuntime: Duration, outputPrefix: string): void {
  const fail = (prop: string, value: unknown, allowed: string): never => {
    throw new Error(`ProcessingJob: invalid ${prop} ${JSON.stringify(value)}; allowed: ${allowed}`);
  };
  if (props.jobNamePrefix !== undefined && (props.jobNamePrefix.length > 40 || !/^[a-z0-9](-*[a-z0-9])*$/.test(props.jobNamePrefix))) {
    fail('jobNamePrefix', props.jobNamePrefix, 'lowercase letters, digits and hyphens (not first or last), at most 40 characters');
  }
  const inputs = Object.entries(props.inputs);
  if (inputs.length === 0 || inputs.length > 10) fail('inputs', Object.keys(props.inputs), 'one to ten inputs');
  for (const [name, input] of inputs) {
    if (!/^[a-z][a-z0-9_-]{0,63}$/.test(name)) fail('inputs', name, 'input names of lowercase letters, digits, _ and -');
    if (!/^([^/\s*]+\/)*([^/\s*]+)?$/.test(input.key)) fail(`inputs.${name}.key`, input.key, 'an object key or a key prefix ending in / (no leading slash)');
  }
  if (props.outputs.length === 0 || props.outputs.length > 10 || props.outputs.some((n) => !/^[a-z][a-z0-9_-]{0,63}$/.test(n))) {
    fail('outputs', props.outputs, 'one to ten output names of lowercase letters, digits, _ and -');
  }
  if (!/^([^/\s*]+\/)+$/.test(outputPrefix)) fail('outputPrefix', outputPrefix, 'a key prefix such as "prepared/" (no leading slash, ending in /)');
  // CreateProcessingJob: MaxRuntimeInSeconds 1 to 777600 (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProcessingStoppingCondition.html).
  if (maxRuntime.toSeconds() < 1 || maxRuntime.toSeconds() > 777600) fail('maxRuntime', `${maxRuntime.toSeconds()}s`, 'from 1 second to 9 days');
  if (timeout.toSeconds() < 60 || timeout.toSeconds() > 7200) fail('timeout', `${timeout.toSeconds()}s`, 'from 1 minute to 2 hours');
  if (maxRuntime.toSeconds() > timeout.toSeconds()) fail('maxRuntime', `${maxRuntime.toSeconds()}s`, `at most timeout (${timeout.toSeconds()}s), or the deploy gives up while the job still runs`);
  const env = Object.entries(props.environment ?? {});
  // Environment: at most 100 entries, keys [a-zA-Z_][a-zA-Z0-9_]* up to 256, values up to 256 (API_CreateProcessingJob.html).
  if (env.length > 100 || env.some(([k, v]) => !/^[a-zA-Z_][a-zA-Z0-9_]{0,255}$/.test(k) || v.length > 256)) {
    fail('environment', props.environment, 'at most 100 variables named [a-zA-Z_][a-zA-Z0-9_]*, each value up to 256 characters');
  }
}
