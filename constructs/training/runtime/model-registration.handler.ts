/**
 * The ModelRegistration custom resource's handler: after training, applies the quality gate (the absolute bar,
 * and no regression against the newest Approved version of the group, both scored on the candidate's test rows by
 * the evaluate job: evaluation-comparison.ts) and registers the model as one model
 * package version per training job: Approved (automatic approval), PendingManualApproval (manual), or
 * Rejected with the reason, in which case the deploy fails with both figures. Returns the newest Approved
 * version, which the platform writes to the serving pointer.
 *
 * Idempotent: the training job name (a hash of everything that determines the model) is in the version's
 * description; a retried or repeated event finds the version and registers no second one.
 */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateModelPackageCommand,
  CreateModelPackageCommandInput,
  DescribeModelPackageCommand,
  ListModelPackagesCommand,
  ModelPackageSummary,
  SageMakerClient,
  UpdateModelPackageCommand,
} from '@aws-sdk/client-sagemaker';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';

import { modelDataUrlOf, newestApprovedVersion } from './approved-model';
import { readComparison } from './evaluation-comparison';
import { Approval, ModelRegistrationProperties, NO_APPROVED_VERSION, REGISTRATION_ATTR } from './model-registration-contract';
import { applyQualityGate, Baseline, GateSettings } from './quality-gate';

export { NO_APPROVED_VERSION };

export interface RegistrationResponse {
  readonly PhysicalResourceId: string;
  readonly Data?: Record<string, string>;
}

/** How the gate's decisions start their ApprovalDescription (a person's need not). */
const GATE_PREFIX = 'Quality gate: ';

/** CustomerMetadataProperties key of a gated metric, e.g. `metric.test_accuracy`. */
export const METRIC_KEY_PREFIX = 'metric.';

let client: SageMakerClient | undefined;
function sagemaker(): SageMakerClient {
  client ??= new SageMakerClient({});
  return client;
}

let s3Client: S3Client | undefined;
function s3(): S3Client {
  s3Client ??= new S3Client({});
  return s3Client;
}

/**
 * A candidate of another problem than the approved model's, refused without a version: no verdict on the model, so
 * the same model is gated again once the schema change is accepted (or it goes to a new group).
 */
export class DifferentProblemError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DifferentProblem';
  }
}

function log(message: string, fields: Record<string, unknown> = {}): void {
  console.info({ message, ...fields });
}

/** The description that ties a version to its training job (and so to its content hash). */
export function descriptionFor(trainingJobName: string): string {
  return `Model trained by SageMaker training job ${trainingJobName}`;
}

export async function onEvent(event: CloudFormationCustomResourceEvent): Promise<RegistrationResponse> {
  if (event.RequestType === 'Delete') {
    // The registry is the record of every model: a version outlives the deploy that registered it.
    log('model package version kept on delete', { physicalResourceId: event.PhysicalResourceId });
    return { PhysicalResourceId: event.PhysicalResourceId };
  }
  const props = parse(event.ResourceProperties);
  const group = props.ModelPackageGroupName;
  const { version, reason, byGate, created } = await gateAndRegister(props);
  if (version.ModelApprovalStatus === 'Rejected') {
    throw new Error(
      `${byGate ? 'Quality gate failed' : 'The model was rejected in the registry'}: ${reason}. The model of training job ` +
        `${props.TrainingJobName} is registered as Rejected (${version.ModelPackageArn}); it was not deployed and the approved model keeps serving.`,
    );
  }
  // A version just created and approved is the newest approved one; otherwise ask the registry.
  const serving = created && version.ModelApprovalStatus === 'Approved' ? version : await newestApproved(group);
  return {
    PhysicalResourceId: version.ModelPackageArn!,
    Data: {
      [REGISTRATION_ATTR.modelPackageArn]: version.ModelPackageArn!,
      [REGISTRATION_ATTR.modelPackageVersion]: String(version.ModelPackageVersion ?? ''),
      [REGISTRATION_ATTR.approvalStatus]: String(version.ModelApprovalStatus),
      [REGISTRATION_ATTR.gateReason]: reason,
      // No approved version yet (the first model awaits manual approval): the pointer says so.
      [REGISTRATION_ATTR.servingModelPackageArn]: serving?.ModelPackageArn ?? NO_APPROVED_VERSION,
    },
  };
}

/** What {@link gateAndRegister} decided. */
export interface Registration {
  /** The version of this training job (new, or registered before). */
  readonly version: ModelPackageSummary;
  /** The gate's sentence, or a person's words when a person decided. */
  readonly reason: string;
  /** Whether the gate made the decision (not a person, afterwards). */
  readonly byGate: boolean;
  /** Whether this call created the version. */
  readonly created: boolean;
}

/**
 * The version of this training job: found when registered before (one version per job), otherwise gated and
 * created. Rejected is a result, not an error: the deploy's resource and the retraining pipeline each say it their way.
 */
export async function gateAndRegister(props: ModelRegistrationProperties): Promise<Registration> {
  const existing = await findVersion(props.ModelPackageGroupName, props.TrainingJobName);
  if (!existing) return { ...(await register(props)), byGate: true, created: true };
  log('model already registered; no new version', {
    trainingJobName: props.TrainingJobName,
    modelPackageArn: existing.ModelPackageArn,
    status: existing.ModelApprovalStatus,
  });
  const described = await sagemaker().send(new DescribeModelPackageCommand({ ModelPackageName: existing.ModelPackageArn }));
  const description = described.ApprovalDescription ?? '';
  // A person may have decided since (update-model-package), with words of their own or none.
  const byGate = description.startsWith(GATE_PREFIX);
  return {
    version: existing,
    reason: byGate ? description.slice(GATE_PREFIX.length) : description || 'no reason given',
    byGate,
    created: false,
  };
}

/** Gates the model against the bar and the newest approved version, then creates its version. */
async function register(props: ModelRegistrationProperties): Promise<{ version: ModelPackageSummary; reason: string }> {
  const gate = JSON.parse(props.QualityGate) as GateSettings;
  const metrics = JSON.parse(props.FinalMetrics) as Record<string, number>;
  const approved = await newestApproved(props.ModelPackageGroupName);
  const compared = approved ? await baselineOf(approved, props) : undefined;
  // Like with like: on the same rows, the candidate's figure is its own from the same evaluate job.
  const result = applyQualityGate(compared?.candidate ?? metrics, gate, compared?.baseline);
  if (!result.passed && compared?.baseline.differences?.length) {
    log('quality gate: a different problem; refused, not registered', { trainingJobName: props.TrainingJobName, reason: result.reason });
    throw new DifferentProblemError(
      `The model of training job ${props.TrainingJobName} is refused: ${result.reason}. It is not registered; the approved model keeps serving.`,
    );
  }
  const status = !result.passed ? 'Rejected' : props.Approval === 'automatic' ? 'Approved' : 'PendingManualApproval';
  log('quality gate', { trainingJobName: props.TrainingJobName, passed: result.passed, reason: result.reason, status });

  const metadata: Record<string, string> = {
    training_job: props.TrainingJobName,
    code_hash: props.CodeHash,
    ...(props.DataIdentity ? { data_identity: props.DataIdentity } : {}),
    ...(props.DataReportUri ? { data_report: props.DataReportUri } : {}),
    ...Object.fromEntries(Object.entries(metrics).map(([name, value]) => [`${METRIC_KEY_PREFIX}${name}`, String(value)])),
  };
  const request: CreateModelPackageCommandInput = {
    ModelPackageGroupName: props.ModelPackageGroupName,
    ModelPackageDescription: descriptionFor(props.TrainingJobName),
    InferenceSpecification: {
      Containers: [{ Image: props.ImageUri, ModelDataUrl: props.ModelDataUrl }],
      SupportedContentTypes: ['application/json', 'text/csv'],
      SupportedResponseMIMETypes: ['application/json'],
    },
    ModelApprovalStatus: status,
    CustomerMetadataProperties: metadata,
    ...(props.EvaluationUri
      ? { ModelMetrics: { ModelQuality: { Statistics: { ContentType: 'application/json', S3Uri: props.EvaluationUri } } } }
      : {}),
    // A retried call within SageMaker's idempotency window returns the same version.
    ClientToken: props.TrainingJobName.slice(-36),
  };
  const created = await sagemaker().send(new CreateModelPackageCommand(request));
  // CreateModelPackage takes no ApprovalDescription: the gate's reason is recorded with the decision it made.
  if (status !== 'PendingManualApproval') {
    await sagemaker().send(
      new UpdateModelPackageCommand({
        ModelPackageArn: created.ModelPackageArn,
        ModelApprovalStatus: status,
        ApprovalDescription: `${GATE_PREFIX}${result.reason}`.slice(0, 1024),
      }),
    );
  }
  // Read back by ARN (a list may not show a version created a moment ago).
  const described = await sagemaker().send(new DescribeModelPackageCommand({ ModelPackageName: created.ModelPackageArn }));
  const version: ModelPackageSummary = {
    ModelPackageArn: described.ModelPackageArn,
    ModelPackageVersion: described.ModelPackageVersion,
    ModelApprovalStatus: described.ModelApprovalStatus,
    ModelPackageGroupName: described.ModelPackageGroupName,
    CreationTime: described.CreationTime,
    ModelPackageStatus: described.ModelPackageStatus,
  };
  return { version, reason: result.reason };
}

/** The newest Approved version of the group, or undefined. */
function newestApproved(group: string): Promise<ModelPackageSummary | undefined> {
  return newestApprovedVersion(sagemaker(), group);
}

/**
 * The approved version as the gate sees it: its figures on the candidate's test rows (and the candidate's own, from
 * the same evaluate job), or how its problem differs; its registered figures only when the evaluate job did not
 * score it, and then the reason says why.
 */
async function baselineOf(
  summary: ModelPackageSummary,
  props: ModelRegistrationProperties,
): Promise<{ baseline: Baseline; candidate?: Record<string, number> }> {
  const described = await sagemaker().send(new DescribeModelPackageCommand({ ModelPackageName: summary.ModelPackageArn }));
  const metadata = described.CustomerMetadataProperties ?? {};
  const name = `version ${summary.ModelPackageVersion} (${metadata.training_job ?? summary.ModelPackageArn})`;
  const registered = Object.fromEntries(
    Object.entries(metadata)
      .filter(([key]) => key.startsWith(METRIC_KEY_PREFIX))
      .map(([key, value]) => [key.slice(METRIC_KEY_PREFIX.length), Number(value)]),
  );
  const unscored = (because: string) => {
    log('quality gate: comparing with registered metrics', { approved: name, because });
    return { baseline: { name, metrics: registered, unscoredBecause: because } };
  };
  const scored = props.ApprovedModelDataUrl && props.ApprovedModelDataUrl !== NO_APPROVED_VERSION ? props.ApprovedModelDataUrl : undefined;
  const url = modelDataUrlOf(described);
  if (!scored) return unscored('the evaluate job scored no approved model');
  if (scored !== url) return unscored(`the evaluate job scored ${scored}, not this version's model ${url ?? '(none)'}`);
  const folder = props.EvaluationUri ? /^s3:\/\/([^/]+)\/(.*\/)[^/]*$/.exec(props.EvaluationUri) : null;
  if (!folder) return unscored(`the evaluation's location ${props.EvaluationUri ?? '(none)'} is not an s3:// URL of a file`);
  const [, bucket, prefix] = folder;
  const comparison = await readComparison((file) => readObject(bucket, `${prefix}${file}`), `s3://${bucket}/${prefix}`);
  if (!comparison) return unscored(`s3://${bucket}/${prefix} holds no comparison.json (the approved model's artifact could not be scored)`);
  if (comparison.differences.length > 0) return { baseline: { name, metrics: registered, differences: comparison.differences } };
  return { baseline: { name, metrics: comparison.sameRows!.approved, sameData: true }, candidate: comparison.sameRows!.candidate };
}

/** An object's text, or undefined when there is none. */
async function readObject(bucket: string, key: string): Promise<string | undefined> {
  try {
    const object = await s3().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await object.Body!.transformToString();
  } catch (e) {
    if (e instanceof Error && (e.name === 'NoSuchKey' || e.name === 'NotFound')) return undefined;
    throw new Error(`Cannot read s3://${bucket}/${key} for the quality gate: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** The group's version registered for this training job, if any (every page; newest first). */
export async function findVersion(group: string, trainingJobName: string): Promise<ModelPackageSummary | undefined> {
  const description = descriptionFor(trainingJobName);
  let NextToken: string | undefined;
  do {
    const page = await sagemaker().send(
      new ListModelPackagesCommand({
        ModelPackageGroupName: group,
        SortBy: 'CreationTime',
        SortOrder: 'Descending',
        MaxResults: 100,
        NextToken,
      }),
    );
    const hit = page.ModelPackageSummaryList?.find((s) => s.ModelPackageDescription === description);
    if (hit) return hit;
    NextToken = page.NextToken;
  } while (NextToken);
  return undefined;
}

export function parse(raw: Record<string, unknown>): ModelRegistrationProperties {
  const p = raw as unknown as ModelRegistrationProperties;
  for (const key of [
    'ModelPackageGroupName',
    'TrainingJobName',
    'ModelDataUrl',
    'ImageUri',
    'FinalMetrics',
    'QualityGate',
    'CodeHash',
  ] as const) {
    if (typeof p[key] !== 'string' || p[key] === '') throw new Error(`ModelRegistration needs ${key}`);
  }
  const approvals: Approval[] = ['automatic', 'manual'];
  if (!approvals.includes(p.Approval)) throw new Error(`Approval must be one of ${approvals.join(', ')}, not ${String(p.Approval)}`);
  return p;
}
