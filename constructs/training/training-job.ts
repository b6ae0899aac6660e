import type { CreateTrainingJobCommandInput } from '@aws-sdk/client-sagemaker';
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
import { acknowledgeWildcardResource } from '../private/nag-acknowledgements';
import { JobProvider, createJobProvider, createJobResources, grantPassRole } from './sagemaker-job-provider';
import { SageMakerExecutionRole } from './sagemaker-execution-role';
import { ATTR, QualityGate, RESOURCE_TYPE, TrainingJobResourceProperties, metricAttribute } from './runtime/training-job-contract';
import { MAX_TIMEOUT, bucketIdentity, defaultPrefix, jobName, sortKeys, validate } from './training-job-rules';

export type { QualityGate } from './runtime/training-job-contract';

/** Where a job's training data is: one S3 prefix with a folder per channel. */
export interface TrainingData {
  /** Bucket holding the data. */
  readonly bucket: s3.IBucket;

  /** Key prefix ending in `/`; channel `c` is read from `<prefix><c>/`. */
  readonly prefix: string;

  /** Version label of the data; part of the job's identity, so a new version trains a new model. */
  readonly version: string;

  /**
   * Input channels, each a folder of CSV files under `prefix`.
   * @default ['train', 'validation', 'test']
   */
  readonly channels?: string[];

  /**
   * What uploads the data when this app does (e.g. a BucketDeployment): the job starts after it.
   * @default - the data is already in place
   */
  readonly upload?: IDependable;
}

/** A metric SageMaker reads from the job's log lines. */
export interface MetricDefinition {
  /** Metric name, as shown in SageMaker and in FinalMetricDataList. */
  readonly name: string;
  /** Regular expression whose first group captures the value. */
  readonly regex: string;
}

/** Properties of a {@link TrainingJob}. */
export interface TrainingJobProps {
  /** The training image (SageMaker runs it with the argument `train`). */
  readonly image: ecrAssets.DockerImageAsset;

  /** The training data. */
  readonly data: TrainingData;

  /** Bucket the model artifacts and checkpoints go to. */
  readonly outputBucket: s3.IBucket;

  /**
   * Key prefix of the model artifacts in `outputBucket`; a job's model lands at
   * `<prefix><job name>/output/model.tar.gz`.
   * @default 'models/'
   */
  readonly artifactPrefix?: string;

  /**
   * Key prefix of the checkpoints in `outputBucket`; a job checkpoints to `<prefix><job name>/`.
   * @default 'checkpoints/'
   */
  readonly checkpointPrefix?: string;

  /** Customer-managed key for the model artifacts and, where the instance type allows, the storage volume. */
  readonly encryptionKey: kms.IKey;

  /**
   * Role SageMaker runs the job with. You grant it what the job needs.
   * @default - a new {@link SageMakerExecutionRole} with least privilege for exactly this job's data, output, key and image
   */
  readonly role?: iam.IRole;

  /**
   * Instance type to train on.
   * @default 'ml.p3.2xlarge'
   */
  readonly instanceType?: string;

  /**
   * Number of instances; more than one trains with multi-host DistributedDataParallel.
   * @default 1
   */
  readonly instanceCount?: number;

  /**
   * Size of each instance's storage volume, in GB.
   * @default 30
   */
  readonly volumeSizeGb?: number;

  /**
   * Whether to use managed spot training (the image checkpoints to S3 and resumes after an interruption).
   * @default true
   */
  readonly useSpot?: boolean;

  /**
   * Longest the training may run.
   * @default Duration.hours(1)
   */
  readonly maxRuntime?: Duration;

  /**
   * Spot only: longest to wait for spot capacity plus run; at least `maxRuntime`.
   * @default Duration.minutes(90)
   */
  readonly maxWait?: Duration;

  /**
   * Hyperparameters passed to the image (SageMaker delivers every value as a string).
   * @default - none: the image's defaults
   */
  readonly hyperparameters?: Record<string, string>;

  /**
   * Metrics SageMaker reads from the job's log lines.
   * @default - none
   */
  readonly metricDefinitions?: MetricDefinition[];

  /**
   * The bar the final value of a metric must reach; a model below it fails the deploy.
   * @default - no quality gate
   */
  readonly qualityGate?: QualityGate;

  /**
   * Run the job in these VPC subnets with these security groups.
   * @default - no VPC
   */
  readonly vpcConfig?: { readonly subnetIds: string[]; readonly securityGroupIds: string[] };

  /**
   * Whether the container is cut off from the network (SageMaker still fetches data and stores artifacts).
   * @default true
   */
  readonly networkIsolation?: boolean;

  /**
   * Whether traffic between the instances of a multi-instance job is encrypted.
   * @default - true when `instanceCount` is more than 1
   */
  readonly interContainerTrafficEncryption?: boolean;

  /**
   * How long the deploy waits for the job before it fails (up to 2 hours; CloudFormation gives one custom
   * resource at most 1 hour, so a longer wait is split across chained resources).
   * @default Duration.hours(2)
   */
  readonly timeout?: Duration;

  /**
   * Time between two checks of the job's status.
   * @default Duration.seconds(30)
   */
  readonly queryInterval?: Duration;

  /**
   * Start of every job name; the rest is a hash of the job's inputs. Letters, digits and hyphens, at most 40.
   * @default - the stack name, lowercased
   */
  readonly jobNamePrefix?: string;

  /**
   * Attempt number, part of the job's identity: raise it to run a job again whose inputs did not change
   * (SageMaker never reuses a job name, e.g. after a spot capacity failure).
   * @default 1
   */
  readonly attempt?: number;

  /**
   * Days the handlers' and the provider's logs are kept.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Key that encrypts the handlers' and the provider's log groups (its policy must let CloudWatch Logs use it).
   * @default - CloudWatch Logs' own encryption
   */
  readonly logEncryptionKey?: kms.IKey;
}

const DEFAULT_CHANNELS = ['train', 'validation', 'test'];

/**
 * A SageMaker training job as a CloudFormation resource, which CloudFormation itself lacks: a custom
 * resource on the Provider framework that starts the job, waits for it, applies the quality gate and returns
 * the model artifact and the final metrics.
 *
 * The job name is a hash of everything that determines the model (image, data location and version,
 * hyperparameters, instance type and count, attempt), fixed at synth: an unchanged deploy starts no job, any
 * change starts exactly one, and `cdk diff` shows when a deploy will train.
 *
 * CloudFormation waits at most an hour for one custom resource, so a longer `timeout` is covered by a chain
 * of resources: the first starts the job, each next one waits on where the previous handed over.
 */
export class TrainingJob extends Construct {
  /** The job's name, `<prefix>-<16 hex digits of the inputs' hash>`. */
  readonly trainingJobName: string;

  /**
   * Key of the model artifact in `outputBucket` (`<artifactPrefix><job name>/output/model.tar.gz`), known at
   * synth: for scoping a consumer's read permission to exactly this object.
   */
  readonly modelArtifactKey: string;

  /** The prefix of every job name this construct runs (for IAM and for EventBridge rules). */
  readonly jobNamePrefix: string;

  /** The role SageMaker runs the job with. */
  readonly role: iam.IRole;

  /**
   * The handler functions (onEvent, isComplete), for alarms on their errors and throttles: they fail only when
   * the deploy fails (rejected request, failed job, quality gate). The provider framework's own functions are
   * left out, since its waiter reports every "not yet" poll as a function error.
   */
  readonly functions: lambda.IFunction[];

  /** The custom resource provider. */
  readonly provider: cr.Provider;

  /** The resource whose attributes are the completed job's. */
  private readonly finalResource: CustomResource;

  constructor(scope: Construct, id: string, props: TrainingJobProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const instanceType = props.instanceType ?? 'ml.p3.2xlarge';
    const instanceCount = props.instanceCount ?? 1;
    const useSpot = props.useSpot ?? true;
    const maxRuntime = props.maxRuntime ?? Duration.hours(1);
    const maxWait = props.maxWait ?? Duration.minutes(90);
    const timeout = props.timeout ?? MAX_TIMEOUT;
    const queryInterval = props.queryInterval ?? Duration.seconds(30);
    const channels = props.data.channels ?? DEFAULT_CHANNELS;
    const hyperparameters = props.hyperparameters ?? {};
    const metricDefinitions = props.metricDefinitions ?? [];
    const artifactPrefix = props.artifactPrefix ?? 'models/';
    const checkpointPrefix = props.checkpointPrefix ?? 'checkpoints/';
    const volumeKms = supportsVolumeKms(instanceType);
    validate(props, { instanceType, instanceCount, useSpot, maxRuntime, maxWait, timeout, queryInterval, channels, metricDefinitions });

    this.jobNamePrefix = props.jobNamePrefix ?? defaultPrefix(stack.stackName);
    this.trainingJobName = jobName(this.jobNamePrefix, {
      image: props.image.assetHash,
      data: { bucket: bucketIdentity(props.data.bucket), prefix: props.data.prefix, version: props.data.version, channels },
      hyperparameters: sortKeys(hyperparameters),
      instanceType,
      instanceCount,
      attempt: props.attempt ?? 1,
    });
    const outputPath = `s3://${props.outputBucket.bucketName}/${artifactPrefix}`;
    this.modelArtifactKey = `${artifactPrefix}${this.trainingJobName}/output/model.tar.gz`;

    this.role = props.role ?? new SageMakerExecutionRole(this, 'ExecutionRole', {
      dataBucket: props.data.bucket,
      dataPrefix: props.data.prefix,
      outputBucket: props.outputBucket,
      artifactPrefix,
      checkpointPrefix,
      encryptionKey: props.encryptionKey,
      volumeEncryption: volumeKms,
      repository: props.image.repository,
      jobNamePrefix: this.jobNamePrefix,
      vpc: props.vpcConfig !== undefined,
    });

    const request: CreateTrainingJobCommandInput = {
      TrainingJobName: this.trainingJobName,
      RoleArn: this.role.roleArn,
      AlgorithmSpecification: {
        TrainingImage: props.image.imageUri,
        TrainingInputMode: 'File',
        MetricDefinitions: metricDefinitions.map((m) => ({ Name: m.name, Regex: m.regex })),
      },
      HyperParameters: hyperparameters,
      InputDataConfig: channels.map((channel) => ({
        ChannelName: channel,
        ContentType: 'text/csv',
        CompressionType: 'None',
        DataSource: {
          S3DataSource: {
            S3DataType: 'S3Prefix',
            S3Uri: `s3://${props.data.bucket.bucketName}/${props.data.prefix}${channel}/`,
            // Every host gets all the data; the image's DistributedSampler shards it per process.
            S3DataDistributionType: 'FullyReplicated',
          },
        },
      })),
      OutputDataConfig: { S3OutputPath: outputPath, KmsKeyId: props.encryptionKey.keyArn },
      ResourceConfig: {
        InstanceType: instanceType as never,
        InstanceCount: instanceCount,
        VolumeSizeInGB: props.volumeSizeGb ?? 30,
        // Instance types with NVMe instance storage encrypt it themselves and reject a volume key.
        ...(volumeKms ? { VolumeKmsKeyId: props.encryptionKey.keyArn } : {}),
      },
      StoppingCondition: {
        MaxRuntimeInSeconds: maxRuntime.toSeconds(),
        ...(useSpot ? { MaxWaitTimeInSeconds: maxWait.toSeconds() } : {}),
      },
      EnableManagedSpotTraining: useSpot,
      CheckpointConfig: {
        S3Uri: `s3://${props.outputBucket.bucketName}/${checkpointPrefix}${this.trainingJobName}/`,
        LocalPath: '/opt/ml/checkpoints',
      },
      EnableNetworkIsolation: props.networkIsolation ?? true,
      EnableInterContainerTrafficEncryption: props.interContainerTrafficEncryption ?? instanceCount > 1,
      ...(props.vpcConfig ? { VpcConfig: { Subnets: props.vpcConfig.subnetIds, SecurityGroupIds: props.vpcConfig.securityGroupIds } } : {}),
    };

    const jobs = createJobProvider(this, {
      kind: 'training', queryInterval, timeout, logRetention: props.logRetention, logEncryptionKey: props.logEncryptionKey,
    });
    this.functions = [jobs.onEvent, jobs.isComplete];
    this.provider = jobs.provider;
    this.grantHandlers(jobs, request);
    const start: Pick<TrainingJobResourceProperties, 'CreateTrainingJobRequest'> = { CreateTrainingJobRequest: stack.toJsonString(request) };
    this.finalResource = createJobResources(this, jobs, {
      resourceType: RESOURCE_TYPE,
      queryInterval,
      start,
      common: {
        TrainingJobName: this.trainingJobName,
        ...(props.qualityGate ? { QualityGate: JSON.stringify(props.qualityGate) } : {}),
      },
      after: props.data.upload ? [props.data.upload] : [],
    });
  }

  /** The final value of a metric the job reported (an attribute of the completed job). */
  metric(name: string): string {
    return this.finalResource.getAttString(metricAttribute(name));
  }

  /** The final test accuracy (the `test_accuracy` metric). */
  get testAccuracy(): string {
    return this.metric('test_accuracy');
  }

  /**
   * The model artifact's S3 URL, as SageMaker reported it for the completed job that passed the quality
   * gate. A consumer in another stack depends on this one through it, so a failed job or gate stops that
   * consumer's deploy; it changes with every retrain, which weak cross-stack references
   * (`@aws-cdk/core:defaultCrossStackReferences: weak`) allow and a strong export would not.
   */
  get modelDataUrl(): string {
    return this.finalResource.getAttString(ATTR.modelDataUrl);
  }

  /** JSON object of every final metric of the completed job, name to value. */
  get finalMetrics(): string {
    return this.finalResource.getAttString(ATTR.finalMetrics);
  }

  /** The completed job's name, as a reference: a consumer that uses it deploys only after the job completed. */
  get completedJobName(): string {
    return this.finalResource.getAttString(ATTR.trainingJobName);
  }

  /** The completed job's ARN. */
  get trainingJobArn(): string {
    return this.finalResource.getAttString(ATTR.trainingJobArn);
  }

  private grantHandlers(jobs: JobProvider, request: CreateTrainingJobCommandInput): void {
    const { onEvent, isComplete } = jobs;
    const jobArns = Stack.of(this).formatArn({ service: 'sagemaker', resource: 'training-job', resourceName: `${this.jobNamePrefix}-*` });
    // The conditions pin the security settings: this role can start no job without them. Keys and the actions
    // they apply to: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html#amazonsagemaker-policy-keys
    // (sagemaker:OutputKmsKey is deprecated and applies to no action; a volume key is pinned only when the
    // request carries one, since an absent key would fail the condition).
    const volumeKey = request.ResourceConfig?.VolumeKmsKeyId;
    iam.Grant.addToPrincipal({
      grantee: onEvent, actions: ['sagemaker:CreateTrainingJob'], resourceArns: [jobArns],
      conditions: {
        ...(request.EnableNetworkIsolation ? { Bool: { 'sagemaker:NetworkIsolation': 'true' } } : {}),
        ArnEquals: { 'sagemaker:OutputKmsKeyArn': request.OutputDataConfig!.KmsKeyId, ...(volumeKey ? { 'sagemaker:VolumeKmsKeyArn': volumeKey } : {}) },
      },
    });
    iam.Grant.addToPrincipal({ grantee: onEvent, actions: ['sagemaker:DescribeTrainingJob', 'sagemaker:StopTrainingJob'], resourceArns: [jobArns] });
    iam.Grant.addToPrincipal({ grantee: isComplete, actions: ['sagemaker:DescribeTrainingJob'], resourceArns: [jobArns] });
    grantPassRole(jobs, this.role);
    for (const fn of [onEvent, isComplete]) {
      acknowledgeWildcardResource(fn.role!.node.findChild('DefaultPolicy'), jobArns,
        'Job names are <prefix>-<hash of the inputs>, fixed at synth: the handler manages only this construct\'s jobs.');
    }
  }
}
