/**
 * The one place a SageMaker job request of this platform is written: the deploy's custom resources
 * (TrainingJob, ProcessingJob, at synth) and the retraining pipeline's plan step (RetrainingPipeline, at run
 * time) both build their Create requests and content-addressed names here, so the two paths cannot drift apart.
 *
 * A spec holds everything fixed at synth (role, image, buckets, key, instance, settings); a run adds what one
 * run decides (the job name and where its inputs are). Pure: no aws-cdk-lib, so the Lambda bundle stays small;
 * at synth the strings may be CDK tokens, which the constructs resolve with `stack.toJsonString`.
 */
import type { CreateProcessingJobCommandInput, CreateTrainingJobCommandInput } from '@aws-sdk/client-sagemaker';
import { createHash } from 'crypto';

import { JOB_NAME_PATTERN } from './sagemaker-job-contract';

/**
 * Where the image's Processing entry points read and write (training-image/src/dlplatform/paths.py): input `n`
 * at `/opt/ml/processing/input/<n>`, output `n` at `/opt/ml/processing/output/<n>`.
 */
export const PROCESSING_ROOT = '/opt/ml/processing';

/** Everything about a training job that is fixed at synth. */
export interface TrainingJobSpec {
  readonly roleArn: string;
  readonly imageUri: string;
  readonly metricDefinitions: { readonly Name: string; readonly Regex: string }[];
  readonly hyperparameters: Record<string, string>;
  readonly channels: string[];
  readonly dataBucketName: string;
  readonly outputBucketName: string;
  /** Key prefix of the model artifacts (`models/`). */
  readonly artifactPrefix: string;
  /** Key prefix of the checkpoints (`checkpoints/`). */
  readonly checkpointPrefix: string;
  readonly keyArn: string;
  readonly instanceType: string;
  readonly instanceCount: number;
  readonly volumeSizeGb: number;
  /** Whether the instance type takes a volume key (instance storage is encrypted by itself). */
  readonly volumeKms: boolean;
  readonly maxRuntimeSeconds: number;
  readonly useSpot: boolean;
  readonly maxWaitSeconds: number;
  readonly networkIsolation: boolean;
  readonly interContainerTrafficEncryption: boolean;
  readonly vpc?: { readonly subnetIds: string[]; readonly securityGroupIds: string[] };
}

/** What one training run decides. */
export interface TrainingRun {
  readonly jobName: string;
  /** Key prefix holding one folder per channel (`prepared/<prepare job>/data/`). */
  readonly dataPrefix: string;
}

/** The CreateTrainingJob request of one run. */
export function trainingJobRequest(spec: TrainingJobSpec, run: TrainingRun): CreateTrainingJobCommandInput {
  return {
    TrainingJobName: run.jobName,
    RoleArn: spec.roleArn,
    AlgorithmSpecification: {
      TrainingImage: spec.imageUri,
      TrainingInputMode: 'File',
      MetricDefinitions: spec.metricDefinitions.map((m) => ({ Name: m.Name, Regex: m.Regex })),
    },
    HyperParameters: spec.hyperparameters,
    InputDataConfig: spec.channels.map((channel) => ({
      ChannelName: channel,
      ContentType: 'text/csv',
      CompressionType: 'None',
      DataSource: {
        S3DataSource: {
          S3DataType: 'S3Prefix',
          S3Uri: `s3://${spec.dataBucketName}/${run.dataPrefix}${channel}/`,
          // Every host gets all the data; the image's DistributedSampler shards it per process.
          S3DataDistributionType: 'FullyReplicated',
        },
      },
    })),
    OutputDataConfig: { S3OutputPath: `s3://${spec.outputBucketName}/${spec.artifactPrefix}`, KmsKeyId: spec.keyArn },
    ResourceConfig: {
      InstanceType: spec.instanceType as never,
      InstanceCount: spec.instanceCount,
      VolumeSizeInGB: spec.volumeSizeGb,
      // Instance types with NVMe instance storage encrypt it themselves and reject a volume key.
      ...(spec.volumeKms ? { VolumeKmsKeyId: spec.keyArn } : {}),
    },
    StoppingCondition: {
      MaxRuntimeInSeconds: spec.maxRuntimeSeconds,
      ...(spec.useSpot ? { MaxWaitTimeInSeconds: spec.maxWaitSeconds } : {}),
    },
    EnableManagedSpotTraining: spec.useSpot,
    CheckpointConfig: {
      S3Uri: `s3://${spec.outputBucketName}/${spec.checkpointPrefix}${run.jobName}/`,
      LocalPath: '/opt/ml/checkpoints',
    },
    EnableNetworkIsolation: spec.networkIsolation,
    EnableInterContainerTrafficEncryption: spec.interContainerTrafficEncryption,
    ...(spec.vpc ? { VpcConfig: { Subnets: spec.vpc.subnetIds, SecurityGroupIds: spec.vpc.securityGroupIds } } : {}),
  };
}

/** Key of a training job's model artifact in the output bucket. */
export function modelArtifactKey(spec: Pick<TrainingJobSpec, 'artifactPrefix'>, jobName: string): string {
  return `${spec.artifactPrefix}${jobName}/output/model.tar.gz`;
}

/** Everything about a processing job that is fixed at synth. */
export interface ProcessingJobSpec {
  readonly roleArn: string;
  readonly imageUri: string;
  readonly containerArguments: string[];
  readonly environment: Record<string, string>;
  /** Input name to the bucket it reads from (the key is the run's). */
  readonly inputBuckets: Record<string, string>;
  readonly outputs: string[];
  readonly outputBucketName: string;
  /** Key prefix under which each job writes `<job name>/<output>/`. */
  readonly outputPrefix: string;
  readonly keyArn: string;
  readonly instanceType: string;
  readonly volumeSizeGb: number;
  readonly volumeKms: boolean;
  readonly maxRuntimeSeconds: number;
  readonly vpc?: { readonly subnetIds: string[]; readonly securityGroupIds: string[] };
  /**
   * For `evaluate`: whose approved model each run also scores (the newest Approved version of the group, looked up
   * when the run starts), and where the role may read one.
   * @default - the job scores no approved model
   */
  readonly approvedModels?: ApprovedModelSource;
}

/** Where the approved model of an evaluate run comes from. */
export interface ApprovedModelSource {
  /** The Model Package Group. */
  readonly groupName: string;
  /** The bucket and key prefix of the artifacts the job's role may read: an approved model elsewhere is not scored. */
  readonly bucketName: string;
  readonly keyPrefix: string;
}

/** What one processing run decides. */
export interface ProcessingRun {
  readonly jobName: string;
  /** Input name to the key (a prefix, or one file) it reads. */
  readonly inputKeys: Record<string, string>;
  /**
   * The approved model's artifact (`s3://.../model.tar.gz`), which `evaluate` scores on the same test rows for the
   * quality gate: input {@link APPROVED_MODEL_INPUT}. Absent: no approved model, no such input.
   */
  readonly approvedModel?: string;
}

/** The input `evaluate` reads the approved model from (training-image paths.py's evaluate_approved_model_dir). */
export const APPROVED_MODEL_INPUT = 'approved-model';

/**
 * What the deploy's start phase needs to build and name, when the job starts, a run that scores the approved model
 * (the ProcessingJob resource's `ApprovedModelLookup` property): its spec, input keys and identity.
 */
export interface ApprovedModelLookup {
  readonly spec: ProcessingJobSpec;
  readonly inputKeys: Record<string, string>;
  readonly identity: { readonly prefix: string; readonly inputs: ProcessingIdentity; readonly attempt?: number };
}

/** Key prefix of output `name` of job `jobName`. */
export function processingOutputPrefix(spec: Pick<ProcessingJobSpec, 'outputPrefix'>, jobName: string, name: string): string {
  return `${spec.outputPrefix}${jobName}/${name}/`;
}

/** The CreateProcessingJob request of one run. */
export function processingJobRequest(spec: ProcessingJobSpec, run: ProcessingRun): CreateProcessingJobCommandInput {
  return {
    ProcessingJobName: run.jobName,
    RoleArn: spec.roleArn,
    AppSpecification: { ImageUri: spec.imageUri, ContainerArguments: spec.containerArguments },
    Environment: spec.environment,
    ProcessingInputs: [
      ...Object.entries(spec.inputBuckets).map(([name, bucket]) => s3Input(name, `s3://${bucket}/${run.inputKeys[name]}`)),
      ...(run.approvedModel ? [s3Input(APPROVED_MODEL_INPUT, run.approvedModel)] : []),
    ],
    ProcessingOutputConfig: {
      Outputs: spec.outputs.map((name) => ({
        OutputName: name,
        S3Output: {
          S3Uri: `s3://${spec.outputBucketName}/${processingOutputPrefix(spec, run.jobName, name)}`,
          LocalPath: `${PROCESSING_ROOT}/output/${name}`,
          S3UploadMode: 'EndOfJob',
        },
      })),
      KmsKeyId: spec.keyArn,
    },
    ProcessingResources: {
      ClusterConfig: {
        InstanceCount: 1,
        InstanceType: spec.instanceType as never,
        VolumeSizeInGB: spec.volumeSizeGb,
        // Instance types with NVMe instance storage encrypt it themselves and reject a volume key.
        ...(spec.volumeKms ? { VolumeKmsKeyId: spec.keyArn } : {}),
      },
    },
    StoppingCondition: { MaxRuntimeInSeconds: spec.maxRuntimeSeconds },
    NetworkConfig: {
      EnableNetworkIsolation: true,
      EnableInterContainerTrafficEncryption: false,
      ...(spec.vpc ? { VpcConfig: { Subnets: spec.vpc.subnetIds, SecurityGroupIds: spec.vpc.securityGroupIds } } : {}),
    },
  };
}

/** Input `name` of a processing job, read from `uri`. */
function s3Input(name: string, uri: string): NonNullable<CreateProcessingJobCommandInput['ProcessingInputs']>[number] {
  return {
    InputName: name,
    S3Input: {
      S3Uri: uri,
      LocalPath: `${PROCESSING_ROOT}/input/${name}`,
      // A key prefix: one file is the prefix that matches only itself; folders keep their layout.
      S3DataType: 'S3Prefix',
      S3InputMode: 'File',
      S3DataDistributionType: 'FullyReplicated',
      S3CompressionType: 'None',
    },
  };
}

/** The job name: the prefix and 16 hex digits of a hash of the identity (see job-identity.ts). */
export function contentAddressedJobName(prefix: string, identity: unknown): string {
  const digest = createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 16);
  const name = `${prefix}-${digest}`;
  if (!JOB_NAME_PATTERN.test(name)) throw new Error(`SageMaker job name ${name} does not match ${JOB_NAME_PATTERN}`);
  return name;
}

/** What names a training job: everything that determines the model. */
export interface TrainingIdentity {
  readonly image: string;
  readonly data: { readonly bucket: string; readonly prefix: string; readonly version: string; readonly channels: string[] };
  readonly hyperparameters: Record<string, string>;
  readonly instanceType: string;
  readonly instanceCount: number;
}

/** What names a processing job: everything that determines its outputs. */
export interface ProcessingIdentity {
  readonly image: string;
  readonly inputs: { readonly name: string; readonly bucket: string; readonly key: string; readonly version: string }[];
  readonly containerArguments: string[];
  readonly environment: Record<string, string>;
  /** The approved model `evaluate` also scores (its artifact's URL), looked up when the job starts: a new one, a new job. */
  readonly approvedModel?: string;
}

/** The name of a job with this identity; `attempt` unset counts as 1. */
export function jobNameOf(prefix: string, identity: TrainingIdentity | ProcessingIdentity, attempt?: number): string {
  return contentAddressedJobName(prefix, { ...identity, attempt: attempt ?? 1 });
}
