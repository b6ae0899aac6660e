/**
 * The ModelRegistration custom resource's handler: after training, applies the quality gate (the absolute bar,
 * and no regression against the newest Approved version of the group) and registers the model as one model
 * package version per training job: Approved (automatic approval), PendingManualApproval (manual), or
 * Rejected with the reason, in which case the deploy fails with both figures. Returns the newest Approved
 * version, which the platform writes to the serving pointer.
 *
 * Idempotent: the training job name (a hash of everything that determines the model) is in the version's
 * description; a retried or repeated event finds the version and registers no second one.
 */
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

import { Approval, ModelRegistrationProperties, NO_APPROVED_VERSION, REGISTRATION_ATTR } from './model-registration-contract';

export { NO_APPROVED_VERSION };
import { applyQualityGate, Baseline, GateSettings } from './quality-gate';

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
  const baseline = approved ? await baselineOf(approved) : undefined;
  const result = applyQualityGate(metrics, gate, baseline);
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

/** The newest version of the group with that approval status, or undefined. */
async function newestApproved(group: string): Promise<ModelPackageSummary | undefined> {
  const page = await sagemaker().send(
    new ListModelPackagesCommand({
      ModelPackageGroupName: group,
      ModelApprovalStatus: 'Approved',
      SortBy: 'CreationTime',
      SortOrder: 'Descending',
      MaxResults: 1,
    }),
  );
  return page.ModelPackageSummaryList?.[0];
}

/** The approved version's gated metrics, from its CustomerMetadataProperties. */
async function baselineOf(summary: ModelPackageSummary): Promise<Baseline> {
  const described = await sagemaker().send(new DescribeModelPackageCommand({ ModelPackageName: summary.ModelPackageArn }));
  const metadata = described.CustomerMetadataProperties ?? {};
  const metrics = Object.fromEntries(
    Object.entries(metadata)
      .filter(([key]) => key.startsWith(METRIC_KEY_PREFIX))
      .map(([key, value]) => [key.slice(METRIC_KEY_PREFIX.length), Number(value)]),
  );
  return { name: `version ${summary.ModelPackageVersion} (${metadata.training_job ?? summary.ModelPackageArn})`, metrics };
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
