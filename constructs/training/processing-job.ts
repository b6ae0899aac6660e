import { CustomResource, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';

import { supportsVolumeKms } from '../instance-types';
import { validateProps } from '../private/validation';
import { grantApprovedModelLookup } from './approved-model-lookup';
import { bucketIdentity, defaultJobNamePrefix, jobIdentity, sortKeys } from './job-identity';
import type { ProcessingJobProps } from './processing-job-props';
import { ApprovedModelLookup, ProcessingIdentity, processingJobRequest, ProcessingJobSpec } from './runtime/job-requests';
import { PROCESSING_ATTR, PROCESSING_RESOURCE_TYPE, ProcessingJobResourceProperties } from './runtime/sagemaker-job-contract';
import { SageMakerExecutionRole } from './sagemaker-execution-role';
import { acknowledgeSageMakerJob } from './sagemaker-job-acknowledgements';
import { createJobProvider, createJobResources, grantJobHandlers } from './sagemaker-job-provider';
import { processingJobProblems } from './sagemaker-job-rules';

export type { ApprovedModels, ProcessingInput, ProcessingJobProps } from './processing-job-props';

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
  /**
   * The job's name, `<prefix>-<16 hex digits of the inputs' hash>`. With `approvedModels`, the name of a run that
   * scores no approved model: the job's own name is {@link completedJobName}.
   */
  readonly processingJobName: string;
  /** The prefix of every job name this construct runs. */
  readonly jobNamePrefix: string;
  /** The output bucket. */
  readonly outputBucket: s3.IBucket;
  /**
   * Key prefix of every output of the job (`<outputPrefix><job name>/`), known at synth; with `approvedModels`, that
   * of a run that scores no approved model (see {@link completedOutputPrefixOf}).
   */
  readonly outputPrefix: string;
  /** The role SageMaker runs the job with. */
  readonly role: iam.Role;
  /** What the job's request is built from (runtime/job-requests.ts), for another run of the same job (RetrainingPipeline). */
  readonly spec: ProcessingJobSpec;
  /** What the job's name is a hash of, for naming another run's job the same way (RetrainingPipeline). */
  readonly identity: { readonly prefix: string; readonly inputs: ProcessingIdentity; readonly attempt?: number };
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
    validateProps(this, processingJobProblems(props, { maxRuntime, timeout, queryInterval, outputPrefix }));

    const identityInputs: ProcessingIdentity = {
      image: props.image.assetHash,
      inputs: Object.entries(props.inputs)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, i]) => ({ name, bucket: bucketIdentity(i.bucket), key: i.key, version: i.version })),
      containerArguments,
      environment: sortKeys(environment),
    };
    const identity = jobIdentity(
      props.jobNamePrefix ?? defaultJobNamePrefix(stack.stackName, containerArguments[0] ?? 'job'),
      { ...identityInputs },
      props.attempt,
    );
    this.identity = { prefix: identity.prefix, inputs: identityInputs, attempt: props.attempt };
    this.jobNamePrefix = identity.prefix;
    this.processingJobName = identity.name;
    this.outputPrefix = `${outputPrefix}${this.processingJobName}/`;
    this.outputBucket = props.outputBucket;
    const volumeKms = supportsVolumeKms(instanceType);

    this.role = new SageMakerExecutionRole(this, 'ExecutionRole', {
      jobKind: 'processing',
      jobNamePrefix: this.jobNamePrefix,
      inputs: [
        ...Object.values(props.inputs).map((input) => ({ bucket: input.bucket, prefix: input.key })),
        // The approved model's artifact (approved-model.ts scores none outside this prefix).
        ...(props.approvedModels ? [{ bucket: props.approvedModels.bucket, prefix: props.approvedModels.keyPrefix }] : []),
      ],
      outputs: [{ bucket: props.outputBucket, prefix: outputPrefix }],
      encryptionKey: props.encryptionKey,
      volumeEncryption: volumeKms,
      repository: props.image.repository,
      vpc: props.vpcConfig,
    });
    this.spec = {
      roleArn: this.role.roleArn,
      imageUri: props.image.imageUri,
      containerArguments,
      environment,
      inputBuckets: Object.fromEntries(Object.entries(props.inputs).map(([name, input]) => [name, input.bucket.bucketName])),
      outputs: props.outputs,
      outputBucketName: props.outputBucket.bucketName,
      outputPrefix,
      keyArn: props.encryptionKey.keyArn,
      instanceType,
      volumeSizeGb: props.volumeSizeGb ?? 30,
      volumeKms,
      maxRuntimeSeconds: maxRuntime.toSeconds(),
      vpc: props.vpcConfig,
      ...(props.approvedModels
        ? {
            approvedModels: {
              groupName: props.approvedModels.groupName,
              bucketName: props.approvedModels.bucket.bucketName,
              keyPrefix: props.approvedModels.keyPrefix,
            },
          }
        : {}),
    };
    const inputKeys = Object.fromEntries(Object.entries(props.inputs).map(([name, input]) => [name, input.key]));
    const request = processingJobRequest(this.spec, { jobName: this.processingJobName, inputKeys });

    const jobs = createJobProvider(this, {
      kind: 'processing',
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
      networkIsolation: true,
      outputKey: props.encryptionKey.keyArn,
      volumeKey: request.ProcessingResources?.ClusterConfig?.VolumeKmsKeyId,
    });
    if (props.approvedModels) grantApprovedModelLookup(jobs.onEvent, props.approvedModels);
    const lookup: ApprovedModelLookup | undefined = props.approvedModels
      ? { spec: this.spec, inputKeys, identity: this.identity }
      : undefined;
    const start: Pick<ProcessingJobResourceProperties, 'CreateProcessingJobRequest' | 'Attempt' | 'ApprovedModelLookup'> = {
      CreateProcessingJobRequest: stack.toJsonString(request),
      ...(lookup ? { ApprovedModelLookup: stack.toJsonString(lookup) } : {}),
      ...identity.startProperties,
    };
    this.finalResource = createJobResources(this, jobs, {
      resourceType: PROCESSING_RESOURCE_TYPE,
      queryInterval,
      start,
      common: { ProcessingJobName: this.processingJobName },
      after: Object.values(props.inputs).flatMap((i) => (i.upload ? [i.upload] : [])),
      nameAtRunTime: lookup ? PROCESSING_ATTR.processingJobName : undefined,
    });
    acknowledgeSageMakerJob(this, 'DescribeProcessingJob or CreateProcessingJob');
  }

  /** Key prefix of output `name` (`<outputPrefix><job name>/<name>/`), known at synth (see {@link outputPrefix}). */
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

  /** Key prefix of output `name` of the completed job (`<outputPrefix><completed job name>/<name>/`), as a reference. */
  completedOutputPrefixOf(name: string): string {
    return `${this.spec.outputPrefix}${this.completedJobName}/${name}/`;
  }

  /** The approved model's artifact the completed job scored, or `none` (runtime/sagemaker-job-contract.ts). */
  get approvedModelDataUrl(): string {
    return this.finalResource.getAttString(PROCESSING_ATTR.approvedModelDataUrl);
  }
}
