/**
 * The model the quality gate compares a candidate with: the newest Approved version of the model package group.
 * Looked up when a run starts, never at synth: a person's approval (or a retraining run) moves it without a deploy.
 * The evaluate job's start (the deploy's custom resource and the retraining pipeline's fingerprint step) and the
 * registration read it here, so they agree on which version that is.
 */
import {
  DescribeModelPackageCommand,
  DescribeModelPackageCommandOutput,
  ListModelPackagesCommand,
  ModelPackageSummary,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';

import type { ApprovedModelSource } from './job-requests';

/** The newest Approved version of the group, or undefined (none yet, or no group yet: the first deploy). */
export async function newestApprovedVersion(client: SageMakerClient, group: string): Promise<ModelPackageSummary | undefined> {
  try {
    const page = await client.send(
      new ListModelPackagesCommand({
        ModelPackageGroupName: group,
        ModelApprovalStatus: 'Approved',
        SortBy: 'CreationTime',
        SortOrder: 'Descending',
        MaxResults: 1,
      }),
    );
    return page.ModelPackageSummaryList?.[0];
  } catch (e) {
    // A group not created yet: the API reference names no error for it, so its message is read (the stand-in
    // answers ValidationException "... does not exist."). The deploy creates the group before the evaluate job.
    if (e instanceof Error && /does not exist|not found/i.test(e.message)) return undefined;
    throw e;
  }
}

/**
 * A version's model artifact, as registered (InferenceSpecification.Containers[0].ModelDataUrl, the S3 path of the
 * model.tar.gz: https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ModelPackageContainerDefinition.html).
 */
export function modelDataUrlOf(described: DescribeModelPackageCommandOutput): string | undefined {
  return described.InferenceSpecification?.Containers?.[0]?.ModelDataUrl;
}

/** The approved version and its artifact, when the evaluate job may read it. */
export interface ApprovedArtifact {
  readonly modelPackageArn: string;
  /** `s3://<bucket>/<key>` of its model.tar.gz. */
  readonly modelDataUrl: string;
}

/**
 * The approved model a run of an evaluate job scores: the newest Approved version's artifact, when it lies where the
 * job's role may read (`source`). Otherwise none, with the reason: the gate then compares with registered metrics.
 */
export async function approvedArtifactFor(
  client: SageMakerClient,
  source: ApprovedModelSource,
): Promise<{ readonly artifact?: ApprovedArtifact; readonly reason: string }> {
  const summary = await newestApprovedVersion(client, source.groupName);
  if (!summary) return { reason: `${source.groupName} has no Approved version` };
  const described = await client.send(new DescribeModelPackageCommand({ ModelPackageName: summary.ModelPackageArn }));
  const url = modelDataUrlOf(described);
  const readable = `s3://${source.bucketName}/${source.keyPrefix}`;
  if (!url || !url.startsWith(readable) || !url.endsWith('.tar.gz')) {
    return { reason: `the approved ${summary.ModelPackageArn} has its model at ${url ?? 'no URL'}, not under ${readable}` };
  }
  return { artifact: { modelPackageArn: summary.ModelPackageArn!, modelDataUrl: url }, reason: `scoring ${summary.ModelPackageArn}` };
}
