/**
 * What a SageMaker job's role must be allowed for the job to run, read from its Create request, and the requests
 * whose role (found in the evaluated deployment: role-policies.ts) does not allow it (iam-policy-evaluator.ts).
 *
 * SageMaker reads inputs and writes outputs, checkpoints and model artifacts with the job's role
 * (https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html#sagemaker-roles-createtrainingjob-perms,
 * ...#sagemaker-roles-createprocessingjob-perms): for an S3Prefix input `s3://b/p` it lists `b` under `p`
 * (s3:ListBucket with s3:prefix, https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html) and gets
 * each object; it puts each output object; with a KmsKeyId it encrypts with the key (kms:GenerateDataKey, and
 * kms:Decrypt to read SSE-KMS objects back), and with a VolumeKmsKeyId it creates a grant for the volume
 * (kms:CreateGrant with kms:GrantIsForAWSResource). Image pulls and logs are not checked here.
 */
import type { CfnDeployment } from '../../local/state-machine/cfn-evaluator';
import { AccessRequest, evaluateAccess } from './iam-policy-evaluator';
import { rolePolicies } from './role-policies';

/** One permission the job needs, with why. */
export interface AccessNeed extends AccessRequest {
  readonly why: string;
}

/** A Create{Training,Processing}Job request, as plain JSON. */
export type JobRequest = Record<string, unknown>;

const S3_URI = /^s3:\/\/([^/]+)\/(.*)$/;
/** The last part of a key that names a file (`test-rows.csv`, `model.tar.gz`), not a folder. */
const FILE_NAME = /(^|\/)[^/]+\.[A-Za-z0-9]+$/;

function s3(uri: string): { bucket: string; key: string } {
  const m = S3_URI.exec(uri);
  if (!m) throw new Error(`not an S3 URI: ${uri}`);
  return { bucket: m[1], key: m[2] };
}

const object = (bucket: string, key: string) => `arn:aws:s3:::${bucket}/${key}`;

/** Reading an S3Prefix input: the listing under the prefix, and an object it lists (the key itself when it names a file). */
function readNeeds(uri: string, what: string): AccessNeed[] {
  const { bucket, key } = s3(uri);
  const sample = FILE_NAME.test(key) ? key : `${key}${key === '' || key.endsWith('/') ? '' : '/'}part-00000.csv`;
  return [
    { action: 's3:ListBucket', resource: `arn:aws:s3:::${bucket}`, context: { 's3:prefix': key }, why: `list ${what} (${uri})` },
    { action: 's3:GetObject', resource: object(bucket, sample), why: `read ${what} (s3://${bucket}/${sample})` },
  ];
}

function writeNeed(bucket: string, key: string, what: string): AccessNeed {
  return { action: 's3:PutObject', resource: object(bucket, key), why: `write ${what} (s3://${bucket}/${key})` };
}

function keyNeeds(keyArn: unknown, volumeKeyArn: unknown): AccessNeed[] {
  const needs: AccessNeed[] = [];
  if (typeof keyArn === 'string') {
    needs.push({ action: 'kms:GenerateDataKey', resource: keyArn, why: 'encrypt the outputs with KmsKeyId' });
    needs.push({ action: 'kms:Decrypt', resource: keyArn, why: 'read objects encrypted with KmsKeyId' });
  }
  if (typeof volumeKeyArn === 'string') {
    needs.push({
      action: 'kms:CreateGrant',
      resource: volumeKeyArn,
      context: { 'kms:GrantIsForAWSResource': 'true' },
      why: 'encrypt the storage volume with VolumeKmsKeyId',
    });
  }
  return needs;
}

/** What a CreateTrainingJob request needs of its role. */
export function trainingJobNeeds(request: JobRequest): AccessNeed[] {
  const name = request.TrainingJobName as string;
  const channels = request.InputDataConfig as { ChannelName: string; DataSource: { S3DataSource: { S3Uri: string } } }[];
  const needs = channels.flatMap((c) => readNeeds(c.DataSource.S3DataSource.S3Uri, `channel ${c.ChannelName}`));
  const output = request.OutputDataConfig as { S3OutputPath: string; KmsKeyId?: string };
  const out = s3(output.S3OutputPath);
  needs.push(writeNeed(out.bucket, `${out.key}${out.key.endsWith('/') ? '' : '/'}${name}/output/model.tar.gz`, 'the model artifact'));
  const checkpoints = request.CheckpointConfig as { S3Uri: string } | undefined;
  if (checkpoints) {
    const c = s3(checkpoints.S3Uri);
    const sample = `${c.key}${c.key.endsWith('/') ? '' : '/'}checkpoint.pt`;
    needs.push(writeNeed(c.bucket, sample, 'a checkpoint'));
    needs.push(...readNeeds(checkpoints.S3Uri, 'the checkpoints, to resume'));
  }
  const resources = request.ResourceConfig as { VolumeKmsKeyId?: string };
  return [...needs, ...keyNeeds(output.KmsKeyId, resources.VolumeKmsKeyId)];
}

/** What a CreateProcessingJob request needs of its role. */
export function processingJobNeeds(request: JobRequest): AccessNeed[] {
  const inputs = (request.ProcessingInputs ?? []) as { InputName: string; S3Input: { S3Uri: string } }[];
  const needs = inputs.flatMap((i) => readNeeds(i.S3Input.S3Uri, `input ${i.InputName}`));
  const config = request.ProcessingOutputConfig as { Outputs: { OutputName: string; S3Output: { S3Uri: string } }[]; KmsKeyId?: string };
  for (const o of config.Outputs) {
    const { bucket, key } = s3(o.S3Output.S3Uri);
    needs.push(writeNeed(bucket, `${key}${key.endsWith('/') ? '' : '/'}output.json`, `output ${o.OutputName}`));
  }
  const cluster = (request.ProcessingResources as { ClusterConfig: { VolumeKmsKeyId?: string } }).ClusterConfig;
  return [...needs, ...keyNeeds(config.KmsKeyId, cluster.VolumeKmsKeyId)];
}

/** What the request needs that its role does not allow, one line each (empty when the role allows all of it). */
export function deniedNeeds(deployment: CfnDeployment, request: JobRequest): string[] {
  const name = (request.TrainingJobName ?? request.ProcessingJobName) as string;
  const needs = request.TrainingJobName !== undefined ? trainingJobNeeds(request) : processingJobNeeds(request);
  const { role, policies } = rolePolicies(deployment, request.RoleArn as string);
  return needs
    .map((need) => ({ need, decision: evaluateAccess(policies, need) }))
    .filter(({ decision }) => !decision.allowed)
    .map(
      ({ need, decision }) =>
        `${name}: ${role} may not ${need.action} on ${need.resource}` +
        `${need.context ? ` with ${JSON.stringify(need.context)}` : ''} (${decision.decision}) to ${need.why}`,
    );
}
