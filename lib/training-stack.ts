import * as path from 'path';
import { CfnOutput, Duration, IgnoreMode, Stack, StackProps } from 'aws-cdk-lib';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { LogsKey } from '../constructs/storage/logs-key';
import { SampleDataUpload } from '../constructs/training/training-job-sample-data';
import { TrainingData, TrainingJob } from '../constructs/training/training-job';
import { TrainingLogGroup } from '../constructs/training/training-log-group';
import metricDefinitions from '../training-image/metric-definitions.json';

const IMAGE_DIR = path.join(__dirname, '..', 'training-image');
const CHANNELS = ['train', 'validation', 'test'];

export interface TrainingStackProps extends StackProps {
  /** Bucket the bundled sample data is uploaded to. */
  readonly dataBucket: s3.IBucket;
  /** Bucket the model artifacts and checkpoints go to. */
  readonly modelBucket: s3.IBucket;
  /** The platform key: data, artifacts and training volumes. */
  readonly key: kms.IKey;
  /** The user's data (S3 prefix with train/, validation/ and test/ folders); unset: the bundled sample. */
  readonly dataSourceUri?: string;
  /** Version label of the data: part of its S3 prefix and of the job's identity. */
  readonly dataVersion: string;
  /** Training instance type. */
  readonly instanceType: string;
  /** Training instances. */
  readonly instanceCount: number;
  /** Storage volume per instance, GB. */
  readonly volumeSizeGb: number;
  /** Managed spot training. */
  readonly useSpot: boolean;
  /** Longest the training may run, seconds. */
  readonly maxRuntimeSeconds: number;
  /** Spot: longest to wait for capacity plus run, seconds. */
  readonly maxWaitSeconds: number;
  /** How long the deploy waits for the job, minutes. */
  readonly timeoutMinutes: number;
  /** Hyperparameters for the image. */
  readonly hyperparameters: Record<string, string>;
  /** Quality gate on the final test accuracy. */
  readonly minTestAccuracy: number;
  /** VPC subnets to train in (empty: no VPC). */
  readonly subnetIds: string[];
  /** Security groups for training in a VPC. */
  readonly securityGroupIds: string[];
  /** Attempt number, part of the job's identity. */
  readonly attempt: number;
  /** Create SageMaker's account-wide training log group (encrypted, with retention) instead of letting SageMaker create it. */
  readonly manageTrainingLogGroup: boolean;
}

/**
 * Training: the image (built and pushed by `cdk deploy`), the data (the bundled sample uploaded under a
 * versioned prefix, or the user's), and the GPU training job that turns them into a model.
 */
export class TrainingStack extends Stack {
  /** The training and serving image. */
  readonly image: ecrAssets.DockerImageAsset;
  /** The training job; its `modelDataUrl` is what the serving stack deploys. */
  readonly trainingJob: TrainingJob;
  /** The content-addressed job name. */
  readonly trainingJobName: string;
  /** Start of every training job name of this platform (for EventBridge rules on job state). */
  readonly jobNamePrefix: string;
  /** Every Lambda function this stack creates (for error and throttle alarms). */
  readonly functions: lambda.IFunction[];
  /** Key of this stack's log groups. */
  readonly logsKey: kms.Key;

  constructor(scope: Construct, id: string, props: TrainingStackProps) {
    super(scope, id, props);

    this.image = new ecrAssets.DockerImageAsset(this, 'Image', {
      directory: IMAGE_DIR,
      platform: ecrAssets.Platform.LINUX_AMD64,
      // training-image/.dockerignore keeps the context to what the Dockerfile copies; these stay out whatever
      // it says, so tests, environments and caches never change the image (and so the job name).
      ignoreMode: IgnoreMode.DOCKER,
      exclude: ['tests', 'bench', 'scripts', 'sample-data', '.venv', '**/__pycache__', '**/*.pyc', '**/.pytest_cache', '**/.ruff_cache'],
    });
    this.logsKey = new LogsKey(this, 'LogsKey', { description: 'Encrypts the training stack\'s log groups' });

    const data = props.dataSourceUri ? userData(this, props.dataSourceUri, props.dataVersion) : undefined;
    const sample = data ? undefined : new SampleDataUpload(this, 'SampleData', {
      bucket: props.dataBucket,
      prefix: `datasets/digits/${props.dataVersion}/`,
      files: Object.fromEntries(CHANNELS.map((c) => [`${c}/${c}.csv`, path.join(IMAGE_DIR, 'sample-data', `${c}.csv`)])),
      logEncryptionKey: this.logsKey,
    });

    const trainingLogs = props.manageTrainingLogGroup ? new TrainingLogGroup(this, 'TrainingLogs', { encryptionKey: this.logsKey }) : undefined;

    this.trainingJob = new TrainingJob(this, 'TrainingJob', {
      image: this.image,
      data: data ?? {
        bucket: props.dataBucket,
        prefix: sample!.prefix,
        // The sample's content digest makes an edited sample train a new model even under the same version.
        version: `${props.dataVersion}+${sample!.digest}`,
        channels: CHANNELS,
        upload: sample!.deployment,
      },
      outputBucket: props.modelBucket,
      encryptionKey: props.key,
      instanceType: props.instanceType,
      instanceCount: props.instanceCount,
      volumeSizeGb: props.volumeSizeGb,
      useSpot: props.useSpot,
      maxRuntime: Duration.seconds(props.maxRuntimeSeconds),
      maxWait: Duration.seconds(props.maxWaitSeconds),
      timeout: Duration.minutes(props.timeoutMinutes),
      hyperparameters: props.hyperparameters,
      metricDefinitions: metricDefinitions.map((m) => ({ name: m.Name, regex: m.Regex })),
      qualityGate: { metric: 'test_accuracy', minimum: props.minTestAccuracy },
      vpcConfig: props.subnetIds.length > 0 ? { subnetIds: props.subnetIds, securityGroupIds: props.securityGroupIds } : undefined,
      attempt: props.attempt,
      logEncryptionKey: this.logsKey,
      trainingLogGroupExists: trainingLogs !== undefined,
    });
    if (trainingLogs) this.trainingJob.node.addDependency(trainingLogs);

    this.trainingJobName = this.trainingJob.trainingJobName;
    this.jobNamePrefix = this.trainingJob.jobNamePrefix;
    this.functions = [...this.trainingJob.functions];

    new CfnOutput(this, 'TrainingJobName', { value: this.trainingJobName, description: 'The SageMaker training job that produced the model' });
    new CfnOutput(this, 'ModelDataUrl', { value: this.trainingJob.modelDataUrl, description: 'S3 URL of the trained model artifact' });
    new CfnOutput(this, 'TestAccuracy', { value: this.trainingJob.testAccuracy, description: 'Final test accuracy of the trained model' });
  }
}

/** The user's data: bucket and prefix from the S3 URI. */
function userData(scope: Construct, uri: string, version: string): TrainingData {
  const [, bucketName, key = ''] = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri)!;
  const prefix = key === '' || key.endsWith('/') ? key : `${key}/`;
  return { bucket: s3.Bucket.fromBucketName(scope, 'SourceData', bucketName), prefix, version, channels: CHANNELS };
}
