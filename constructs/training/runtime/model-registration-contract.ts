/**
 * The contract between the {@link ModelRegistry} construct and its registration handler. Pure (no
 * aws-cdk-lib), so the handler bundle stays small.
 */
import type { GateSettings } from './quality-gate';

export const REGISTRATION_RESOURCE_TYPE = 'Custom::ModelRegistration';

export type Approval = 'automatic' | 'manual';

/**
 * The serving pointer's value while the group has no Approved version (SSM refuses an empty value). The Serving
 * stack creates no endpoint while the pointer reads it.
 */
export const NO_APPROVED_VERSION = 'none';

/** The resource properties as the handler receives them (scalars as strings, structures as JSON strings). */
export interface ModelRegistrationProperties {
  /** The Model Package Group the version joins. */
  readonly ModelPackageGroupName: string;
  /** The training job: the model's content-addressed identity (one version per job). */
  readonly TrainingJobName: string;
  /** The model artifact (model.tar.gz, holding the model, its preprocessing and its evaluation report). */
  readonly ModelDataUrl: string;
  /** The serving image. */
  readonly ImageUri: string;
  /** JSON object of the training job's final metrics (the evaluation's key metrics), name to value. */
  readonly FinalMetrics: string;
  /** JSON of the {@link GateSettings}. */
  readonly QualityGate: string;
  readonly Approval: Approval;
  /**
   * The evaluation report in S3 (`s3://.../evaluation.json`), for the version's ModelMetrics; absent: none. The gate
   * reads the comparison with the approved model beside it (comparison.json, approved/evaluation.json).
   */
  readonly EvaluationUri?: string;
  /**
   * The approved model's artifact the evaluate job scored on the candidate's test rows; absent or
   * {@link NO_APPROVED_VERSION}: none. The gate compares on the same rows only when it is still the approved one.
   */
  readonly ApprovedModelDataUrl?: string;
  /** The prepared data's report (`s3://.../data-report.json`); absent when the data was not prepared here. */
  readonly DataReportUri?: string;
  /** The prepared data's identity (the prepare job's content-addressed name). */
  readonly DataIdentity?: string;
  /** The image's content hash (the code identity). */
  readonly CodeHash: string;
}

/** Attributes the resource returns. */
export const REGISTRATION_ATTR = {
  modelPackageArn: 'ModelPackageArn',
  modelPackageVersion: 'ModelPackageVersion',
  approvalStatus: 'ModelApprovalStatus',
  gateReason: 'GateReason',
  /** The newest Approved version of the group after this registration: what the serving pointer names. */
  servingModelPackageArn: 'ServingModelPackageArn',
} as const;

export type { GateSettings };
