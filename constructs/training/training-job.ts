import { CustomResource, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';

import { supportsVolumeKms } from '../instance-types';
import { validateProps } from '../private/validation';
import { bucketIdentity, defaultJobNamePrefix, jobIdentity, sortKeys } from './job-identity';
import { ModelArtifact } from './model-artifact';
import { modelArtifactKey, TrainingIdentity, trainingJobRequest, TrainingJobSpec } from './runtime/job-requests';
import { ATTR, metricAttribute, RESOURCE_TYPE, TrainingJobResourceProperties } from './runtime/sagemaker-job-contract';
import { SageMakerExecutionRole } from './sagemaker-execution-role';
import { acknowledgeSageMakerJob } from './sagemaker-job-acknowledgements';
import { createJobProvider, createJobResources, grantJobHandlers, MAX_TIMEOUT } from './sagemaker-job-provider';
import { trainingJobProblems } from './sagemaker-job-rules';
import type { TrainingJobProps } from './training-job-props';

export type { MetricDefinition, TrainingData, TrainingJobProps } from './training-job-props';

const DEFAULT_CHANNELS = ['train', 'validation', 'test'];

/**
 * A SageMaker training job as a CloudFormation resource, which CloudFormation itself lacks: a custom
 * resource on the Provider framework that starts the job, waits for it and returns the model artifact and the
 * final metrics (the model registry gates them: ModelRegistry).
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

  /**
   * The trained model, for a SageMaker Model to serve: binding it grants read on exactly the artifact object
   * and decrypt on its key, and gives the URI SageMaker reported for the completed job.
   */
  readonly modelArtifact: ModelArtifact;

  /** The prefix of every job name this construct runs (for IAM and for EventBridge rules). */
  readonly jobNamePrefix: string;

  /** The role SageMaker runs the job with. */
  readonly role: iam.IRole;

  /** What the job's request is built from (runtime/job-requests.ts), for another run of the same job (RetrainingPipeline). */
  readonly spec: TrainingJobSpec;

  /** What the job's name is a hash of, for naming another run's job the same way (RetrainingPipeline). */
  readonly identity: { readonly prefix: string; readonly inputs: TrainingIdentity; readonly attempt?: number };

  /**
   * The handler functions (onEvent, isComplete), for alarms on their errors and throttles: they fail only when
   * the deploy fails (rejected request, failed job). The provider framework's own functions are
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
    validateProps(
      this,
      trainingJobProblems(props, {
        instanceType,
        instanceCount,
        useSpot,
        maxRuntime,
        maxWait,
        timeout,
        queryInterval,
        channels,
        metricDefinitions,
      }),
    );

    const identityInputs: TrainingIdentity = {
      image: props.image.assetHash,
      data: { bucket: bucketIdentity(props.data.bucket), prefix: props.data.prefix, version: props.data.version, channels },
      hyperparameters: sortKeys(hyperparameters),
      instanceType,
      instanceCount,
    };
    const identity = jobIdentity(props.jobNamePrefix ?? defaultJobNamePrefix(stack.stackName), { ...identityInputs }, props.attempt);
    this.identity = { prefix: identity.prefix, inputs: identityInputs, attempt: props.attempt };
    this.jobNamePrefix = identity.prefix;
    this.trainingJobName = identity.name;
    this.modelArtifactKey = modelArtifactKey({ artifactPrefix }, this.trainingJobName);

    this.role =
      props.role ??
      new SageMakerExecutionRole(this, 'ExecutionRole', {
        jobKind: 'training',
        jobNamePrefix: this.jobNamePrefix,
        inputs: [{ bucket: props.data.bucket, prefix: props.data.prefix }],
        outputs: [{ bucket: props.outputBucket, prefix: artifactPrefix }],
        checkpoints: { bucket: props.outputBucket, prefix: checkpointPrefix },
        encryptionKey: props.encryptionKey,
        volumeEncryption: volumeKms,
        repository: props.image.repository,
        vpc: props.vpcConfig,
      });

    this.spec = {
      roleArn: this.role.roleArn,
      imageUri: props.image.imageUri,
      metricDefinitions: metricDefinitions.map((m) => ({ Name: m.name, Regex: m.regex })),
      hyperparameters,
      channels,
      dataBucketName: props.data.bucket.bucketName,
      outputBucketName: props.outputBucket.bucketName,
      artifactPrefix,
      checkpointPrefix,
      keyArn: props.encryptionKey.keyArn,
      instanceType,
      instanceCount,
      volumeSizeGb: props.volumeSizeGb ?? 30,
      volumeKms,
      maxRuntimeSeconds: maxRuntime.toSeconds(),
      useSpot,
      maxWaitSeconds: maxWait.toSeconds(),
      networkIsolation: props.networkIsolation ?? true,
      interContainerTrafficEncryption: props.interContainerTrafficEncryption ?? instanceCount > 1,
      vpc: props.vpcConfig,
    };
    const request = trainingJobRequest(this.spec, { jobName: this.trainingJobName, dataPrefix: props.data.prefix });

    const jobs = createJobProvider(this, {
      kind: 'training',
      queryInterval,
      timeout,
      logRetention: props.logRetention,
      logEncryptionKey: props.logEncryptionKey,
    });
    this.functions = [jobs.onEvent, jobs.isComplete];
    this.provider = jobs.provider;
    grantJobHandlers(jobs, {
      jobNamePrefix: this.jobNamePrefix,
      role: this.role,
      networkIsolation: request.EnableNetworkIsolation === true,
      outputKey: props.encryptionKey.keyArn,
      volumeKey: request.ResourceConfig?.VolumeKmsKeyId,
    });
    const start: Pick<TrainingJobResourceProperties, 'CreateTrainingJobRequest' | 'Attempt'> = {
      CreateTrainingJobRequest: stack.toJsonString(request),
      ...identity.startProperties,
    };
    this.finalResource = createJobResources(this, jobs, {
      resourceType: RESOURCE_TYPE,
      queryInterval,
      start,
      common: { TrainingJobName: this.trainingJobName },
      after: props.data.upload ? [props.data.upload] : [],
    });
    this.modelArtifact = new ModelArtifact({
      bucket: props.outputBucket,
      key: this.modelArtifactKey,
      encryptionKey: props.encryptionKey,
      uri: this.modelDataUrl,
    });
    acknowledgeSageMakerJob(this, 'DescribeTrainingJob or CreateTrainingJob');
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
   * The model artifact's S3 URL, as SageMaker reported it for the completed job. A consumer in another stack
   * depends on this one through it, so a failed job stops that consumer's deploy; it changes with every retrain, which
   * weak cross-stack references
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
}
