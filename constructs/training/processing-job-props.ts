/**
 * The props of a `ProcessingJob` (processing-job.ts), apart from the construct so that its rules
 * (sagemaker-job-rules.ts) can read them without importing the construct that imports the rules.
 */
import { Duration } from 'aws-cdk-lib';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { IDependable } from 'constructs';

/** Data a `ProcessingJob` reads. */
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

/** The approved models an evaluate job also scores: the newest Approved version of a Model Package Group. */
export interface ApprovedModels {
  /** The group's name, as created. */
  readonly groupName: string;
  /** The group's name as SageMaker writes it in ARNs (lowercased), for IAM. */
  readonly groupNameInArns: string;
  /** The bucket of the approved models' artifacts. */
  readonly bucket: s3.IBucket;
  /** The key prefix the job's role may read artifacts under (e.g. `models/<training job prefix>-`); elsewhere: not scored. */
  readonly keyPrefix: string;
}

/** Properties of a `ProcessingJob`. */
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
   * For `evaluate`: also score the group's newest Approved model on the same test rows, for the quality gate. It is
   * looked up when the job starts (an approval moves it without a deploy) and is part of the job's name.
   * @default - no approved model
   */
  readonly approvedModels?: ApprovedModels;
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
