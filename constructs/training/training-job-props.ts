/**
 * The props of a `TrainingJob` (training-job.ts), apart from the construct so that its rules (sagemaker-job-rules.ts) can
 * read them without importing the construct that imports the rules.
 */
import { Duration } from 'aws-cdk-lib';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { IDependable } from 'constructs';

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

/** Properties of a `TrainingJob`. */
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
   * @default - a new `SageMakerExecutionRole` with least privilege for exactly this job's data, output, key and image
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
