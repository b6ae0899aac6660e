import { CfnOutput, Duration, IgnoreMode, Stack, StackProps } from 'aws-cdk-lib';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import * as path from 'path';

import { LogsKey } from '../constructs/storage/logs-key';
import { GateSettings, modelPackageGroupNames, ModelRegistry } from '../constructs/training/model-registry';
import { ProcessingJob } from '../constructs/training/processing-job';
import { RetrainingPipeline } from '../constructs/training/retraining-pipeline';
import { IMAGE_METRICS } from '../constructs/training/runtime/metric-definitions';
import { TEST_ROWS_FILE } from '../constructs/training/runtime/retraining-contract';
import { trainingDataSource } from '../constructs/training/training-data-source';
import { TrainingJob } from '../constructs/training/training-job';
import { TrainingLogGroup } from '../constructs/training/training-log-group';
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
  /**
   * The prepare job's PREPARE_* settings (training-image/src/dlplatform/prepare/config.py), from the prepare* settings
   * (lib/image-settings.ts).
   */
  readonly prepareEnvironment: Record<string, string>;
  /** @see {@link SETTINGS.prepareInstanceType} */
  readonly prepareInstanceType: PlatformConfig['prepareInstanceType'];
  /** @see {@link SETTINGS.prepareMaxRuntimeSeconds} */
  readonly prepareMaxRuntime: Duration;
  /** @see {@link SETTINGS.prepareAttempt} */
  readonly prepareAttempt: PlatformConfig['prepareAttempt'];
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
  /** @see {@link SETTINGS.hyperparameters}, with the label column of {@link SETTINGS.prepareLabelColumn} (lib/image-settings.ts) */
  readonly hyperparameters: PlatformConfig['hyperparameters'];
  /**
   * The quality gate the registration applies: {@link SETTINGS.qualityGateMetric}, {@link SETTINGS.qualityGateBar},
   * {@link SETTINGS.qualityGateMaxRegression}.
   */
  readonly gate: GateSettings;
  /** @see {@link SETTINGS.modelApproval} */
  readonly approval: PlatformConfig['modelApproval'];
  /** Start of the Model Package Group's name (`<stackPrefix>-models`; the group adds the stack instance's suffix). */
  readonly modelPackageGroupNamePrefix: string;
  /** The SSM parameter naming the approved model package the endpoint serves (`/<stackPrefix>/serving/model-package-arn`). */
  readonly servingPointerParameterName: string;
  /** @see {@link SETTINGS.trainingSubnetIds} */
  readonly subnetIds: PlatformConfig['trainingSubnetIds'];
  /** @see {@link SETTINGS.trainingSecurityGroupIds} */
  readonly securityGroupIds: PlatformConfig['trainingSecurityGroupIds'];
  /** @see {@link SETTINGS.trainingAttempt} */
  readonly attempt: PlatformConfig['trainingAttempt'];
  /** @see {@link SETTINGS.manageTrainingLogGroup} */
  readonly manageTrainingLogGroup: PlatformConfig['manageTrainingLogGroup'];
  /** @see {@link SETTINGS.retrainOnNewData} */
  readonly retrainOnNewData: PlatformConfig['retrainOnNewData'];
  /** @see {@link SETTINGS.retrainSchedule} */
  readonly retrainSchedule: PlatformConfig['retrainSchedule'];
}

/**
 * Training: the image (built and pushed by `cdk deploy`), the data (the bundled sample uploaded under a
 * versioned prefix, or the user's), and the GPU training job that turns them into a model.
 */
export class TrainingStack extends Stack {
  /** The training and serving image. */
  readonly image: ecrAssets.DockerImageAsset;
  /** The prepare Processing job. */
  readonly prepareJob: ProcessingJob;
  /** The evaluate Processing job (the test split through the trained model). */
  readonly evaluateJob: ProcessingJob;
  /** The model registry: gate, versions and the serving pointer. */
  readonly registry: ModelRegistry;
  /** The training job. */
  readonly trainingJob: TrainingJob;
  /** The content-addressed job name. */
  readonly trainingJobName: string;
  /** Start of every training job name of this platform (for EventBridge rules on job state). */
  readonly jobNamePrefix: string;
  /** The retraining pipeline: the same jobs and gate as this deploy's, run again on new data, a schedule or by hand. */
  readonly retraining: RetrainingPipeline;
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
    this.logsKey = new LogsKey(this, 'LogsKey', { description: "Encrypts the training stack's log groups" });

    // The user's raw data when configured, otherwise the bundled digits sample uploaded by this app.
    const raw = trainingDataSource(this, {
      sourceUri: props.dataSourceUri,
      version: props.dataVersion,
      channels: CHANNELS,
      sample: {
        bucket: props.dataBucket,
        directory: path.join(IMAGE_DIR, 'sample-data'),
        prefix: 'datasets/digits/',
        logEncryptionKey: this.logsKey,
      },
    });

    // prepare: raw CSV in, cleaned and split channels plus the fitted preprocessing and a data report out.
    this.prepareJob = new ProcessingJob(this, 'PrepareJob', {
      image: this.image,
      inputs: { data: { bucket: raw.bucket, key: raw.prefix, version: raw.version, upload: raw.upload } },
      outputs: ['data', 'report'],
      outputBucket: props.dataBucket,
      encryptionKey: props.key,
      environment: props.prepareEnvironment,
      instanceType: props.prepareInstanceType,
      maxRuntime: props.prepareMaxRuntime,
      attempt: props.prepareAttempt,
      vpcConfig: props.subnetIds.length > 0 ? { subnetIds: props.subnetIds, securityGroupIds: props.securityGroupIds } : undefined,
      logEncryptionKey: this.logsKey,
    });

    const trainingLogs = props.manageTrainingLogGroup
      ? new TrainingLogGroup(this, 'TrainingLogs', { encryptionKey: this.logsKey })
      : undefined;

    this.trainingJob = new TrainingJob(this, 'TrainingJob', {
      image: this.image,
      data: {
        bucket: props.dataBucket,
        prefix: this.prepareJob.outputPrefixOf('data'),
        // The prepared data's identity: a hash of the image, the raw data and the cleaning and split settings.
        version: this.prepareJob.processingJobName,
        channels: [...CHANNELS, 'preprocessing'],
        upload: this.prepareJob,
      },
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
      metricDefinitions: IMAGE_METRICS.map((m) => ({ name: m.Name, regex: m.Regex })),
      // No gate here: the registry gates, so that a model below the bar is recorded as Rejected.
      vpcConfig: props.subnetIds.length > 0 ? { subnetIds: props.subnetIds, securityGroupIds: props.securityGroupIds } : undefined,
      attempt: props.attempt,
      logEncryptionKey: this.logsKey,
    });
    if (trainingLogs) this.trainingJob.node.addDependency(trainingLogs);

    // evaluate: the test split through the trained model, as its own job, so the report (evaluation.json and
    // evaluation.html) lands in S3 as plain files that the model package's ModelMetrics and a person can read. It
    // also scores the group's approved model on the same raw test rows (each model's own preprocessing reads them),
    // so the gate compares like with like.
    const groupNames = modelPackageGroupNames(this, props.modelPackageGroupNamePrefix);
    this.evaluateJob = new ProcessingJob(this, 'EvaluateJob', {
      image: this.image,
      containerArguments: ['evaluate'],
      inputs: {
        model: {
          bucket: props.modelBucket,
          key: this.trainingJob.modelArtifactKey,
          version: this.trainingJob.trainingJobName,
          upload: this.trainingJob,
        },
        test: {
          bucket: props.dataBucket,
          key: `${this.prepareJob.outputPrefixOf('report')}${TEST_ROWS_FILE}`,
          version: this.prepareJob.processingJobName,
        },
      },
      outputs: ['evaluation'],
      outputBucket: props.modelBucket,
      outputPrefix: 'evaluations/',
      encryptionKey: props.key,
      instanceType: props.prepareInstanceType,
      maxRuntime: Duration.minutes(30),
      vpcConfig: props.subnetIds.length > 0 ? { subnetIds: props.subnetIds, securityGroupIds: props.securityGroupIds } : undefined,
      logEncryptionKey: this.logsKey,
      // The platform's models only: those its training jobs wrote (models/<training job prefix>-*).
      approvedModels: {
        ...groupNames,
        bucket: props.modelBucket,
        keyPrefix: `${this.trainingJob.spec.artifactPrefix}${this.trainingJob.jobNamePrefix}-`,
      },
    });
    // The completed job's name: with an approved model, the job is named when it starts.
    const evaluationPrefix = this.evaluateJob.completedOutputPrefixOf('evaluation');
    const evaluation = `s3://${props.modelBucket.bucketName}/${evaluationPrefix}`;

    this.registry = new ModelRegistry(this, 'ModelRegistry', {
      groupNamePrefix: props.modelPackageGroupNamePrefix,
      model: {
        trainingJobName: this.trainingJob.completedJobName,
        modelDataUrl: this.trainingJob.modelDataUrl,
        finalMetrics: this.trainingJob.finalMetrics,
        imageUri: this.image.imageUri,
        codeHash: this.image.assetHash,
        data: {
          identity: this.prepareJob.processingJobName,
          reportUri: `s3://${props.dataBucket.bucketName}/${this.prepareJob.outputPrefixOf('report')}data-report.json`,
        },
        evaluationUri: `${evaluation}evaluation.json`,
        approvedModelDataUrl: this.evaluateJob.approvedModelDataUrl,
      },
      after: [this.evaluateJob],
      gate: props.gate,
      approval: props.approval,
      pointerParameterName: props.servingPointerParameterName,
      logEncryptionKey: this.logsKey,
    });
    // The evaluate job's name is known when it starts: the gate may read every evaluate job's evaluation folder.
    this.registry.grantEvaluationReads(
      props.modelBucket,
      `${this.evaluateJob.spec.outputPrefix}${this.evaluateJob.jobNamePrefix}-*/evaluation/`,
      props.key,
    );
    // The lookup finds the group (none on the first deploy until it exists).
    this.evaluateJob.node.addDependency(this.registry.group);

    // The same jobs, roles and gate, run again by a Step Functions workflow when new data lands, on a schedule,
    // on an alarm or by hand (npm run retrain): docs/retraining.md.
    this.retraining = new RetrainingPipeline(this, 'Retraining', {
      prepareJob: this.prepareJob,
      trainingJob: this.trainingJob,
      evaluateJob: this.evaluateJob,
      registry: this.registry,
      rawData: { bucket: raw.bucket, key: raw.prefix },
      encryptionKey: props.key,
      image: { uri: this.image.imageUri, codeHash: this.image.assetHash },
      gate: props.gate,
      approval: props.approval,
      onNewData: props.retrainOnNewData,
      schedule: props.retrainSchedule,
      logEncryptionKey: this.logsKey,
    });

    this.trainingJobName = this.trainingJob.trainingJobName;
    this.jobNamePrefix = this.trainingJob.jobNamePrefix;
    this.functions = [
      ...this.prepareJob.functions,
      ...this.trainingJob.functions,
      ...this.evaluateJob.functions,
      ...this.registry.functions,
      ...this.retraining.functions,
    ];

    new CfnOutput(this, 'TrainingJobName', {
      value: this.trainingJobName,
      description: 'The SageMaker training job that produced the model',
    });
    new CfnOutput(this, 'ModelDataUrl', { value: this.trainingJob.modelDataUrl, description: 'S3 URL of the trained model artifact' });
    new CfnOutput(this, 'TestAccuracy', { value: this.trainingJob.testAccuracy, description: 'Final test accuracy of the trained model' });
    new CfnOutput(this, 'ModelPackageArn', {
      value: this.registry.modelPackageArn,
      description: 'The model package version registered for this model',
    });
    new CfnOutput(this, 'ModelPackageGroupName', {
      value: this.registry.groupName,
      description: 'The model registry: list its versions with aws sagemaker list-model-packages --model-package-group-name <this>',
    });
    new CfnOutput(this, 'ModelApprovalStatus', {
      value: this.registry.approvalStatus,
      description: 'Approved, or PendingManualApproval (approve with aws sagemaker update-model-package)',
    });
    new CfnOutput(this, 'RetrainingPipelineArn', {
      value: this.retraining.stateMachine.stateMachineArn,
      description: 'Start a retraining run: npm run retrain (or aws stepfunctions start-execution --state-machine-arn <this>)',
    });
    new CfnOutput(this, 'DataReport', {
      value: `s3://${props.dataBucket.bucketName}/${this.prepareJob.outputPrefixOf('report')}data-report.html`,
      description: "The prepared data's report",
    });
    new CfnOutput(this, 'EvaluationReport', { value: `${evaluation}evaluation.html`, description: "The model's evaluation report" });
  }
}
