import * as path from 'path';
import { CfnOutput, Duration, IgnoreMode, Stack, StackProps } from 'aws-cdk-lib';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { LogsKey } from '../constructs/storage/logs-key';
import { trainingDataSource } from '../constructs/training/training-data-source';
import { TrainingJob } from '../constructs/training/training-job';
import { TrainingLogGroup } from '../constructs/training/training-log-group';
import metricDefinitions from '../training-image/metric-definitions.json';
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- SETTINGS is what the props' {@link}s point to
import type { PlatformConfig, SETTINGS } from './config';

const IMAGE_DIR = path.join(__dirname, '..', 'training-image');
const CHANNELS = ['train', 'validation', 'test'];

/**
 * What the training stack needs. Settings are described once, in lib/config.ts's SETTINGS (linked from each
 * prop); durations arrive as Durations, converted from the settings' units in lib/platform.ts.
 */
export interface TrainingStackProps extends StackProps {
  /** Bucket the bundled sample data is uploaded to. */
  readonly dataBucket: s3.IBucket;
  /** Bucket the model artifacts and checkpoints go to. */
  readonly modelBucket: s3.IBucket;
  /** The platform key: data, artifacts and training volumes. */
  readonly key: kms.IKey;
  /** @see {@link SETTINGS.dataSourceUri} */
  readonly dataSourceUri?: PlatformConfig['dataSourceUri'];
  /** @see {@link SETTINGS.dataVersion} */
  readonly dataVersion: PlatformConfig['dataVersion'];
  /** @see {@link SETTINGS.trainingInstanceType} */
  readonly instanceType: PlatformConfig['trainingInstanceType'];
  /** @see {@link SETTINGS.trainingInstanceCount} */
  readonly instanceCount: PlatformConfig['trainingInstanceCount'];
  /** @see {@link SETTINGS.trainingVolumeSizeGb} */
  readonly volumeSizeGb: PlatformConfig['trainingVolumeSizeGb'];
  /** @see {@link SETTINGS.trainingUseSpot} */
  readonly useSpot: PlatformConfig['trainingUseSpot'];
  /** @see {@link SETTINGS.trainingMaxRuntimeSeconds} */
  readonly maxRuntime: Duration;
  /** @see {@link SETTINGS.trainingMaxWaitSeconds} */
  readonly maxWait: Duration;
  /** @see {@link SETTINGS.trainingTimeoutMinutes} */
  readonly timeout: Duration;
  /** @see {@link SETTINGS.hyperparameters} */
  readonly hyperparameters: PlatformConfig['hyperparameters'];
  /** @see {@link SETTINGS.minTestAccuracy} */
  readonly minTestAccuracy: PlatformConfig['minTestAccuracy'];
  /** @see {@link SETTINGS.trainingSubnetIds} */
  readonly subnetIds: PlatformConfig['trainingSubnetIds'];
  /** @see {@link SETTINGS.trainingSecurityGroupIds} */
  readonly securityGroupIds: PlatformConfig['trainingSecurityGroupIds'];
  /** @see {@link SETTINGS.trainingAttempt} */
  readonly attempt: PlatformConfig['trainingAttempt'];
  /** @see {@link SETTINGS.manageTrainingLogGroup} */
  readonly manageTrainingLogGroup: PlatformConfig['manageTrainingLogGroup'];
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

    // The user's data when configured, otherwise the bundled digits sample uploaded by this app.
    const data = trainingDataSource(this, {
      sourceUri: props.dataSourceUri,
      version: props.dataVersion,
      channels: CHANNELS,
      sample: { bucket: props.dataBucket, directory: path.join(IMAGE_DIR, 'sample-data'), prefix: 'datasets/digits/', logEncryptionKey: this.logsKey },
    });

    const trainingLogs = props.manageTrainingLogGroup ? new TrainingLogGroup(this, 'TrainingLogs', { encryptionKey: this.logsKey }) : undefined;

    this.trainingJob = new TrainingJob(this, 'TrainingJob', {
      image: this.image,
      data,
      outputBucket: props.modelBucket,
      encryptionKey: props.key,
      instanceType: props.instanceType,
      instanceCount: props.instanceCount,
      volumeSizeGb: props.volumeSizeGb,
      useSpot: props.useSpot,
      maxRuntime: props.maxRuntime,
      maxWait: props.maxWait,
      timeout: props.timeout,
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
