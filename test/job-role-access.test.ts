/**
 * Every SageMaker job the platform starts, the deploy's and the retraining pipeline's, runs with a role that allows
 * what its request makes SageMaker do: list and read each S3 input, write each output, the model artifact and the
 * checkpoints, and use the key (test/support/job-role-access.ts). The role and its policies are those of the
 * evaluated deployment (local/state-machine/cfn-evaluator.ts), decided by IAM's evaluation logic
 * (test/support/iam-policy-evaluator.ts). The SageMaker stand-in does not check IAM: without this, a role that
 * reads only the deploy's own inputs would pass every run here and fail each pipeline run in AWS with AccessDenied.
 *
 * The pipeline's requests are the ones an executed run built (test/support/retraining-runs.ts: its own steps'
 * code, against moto and the stand-in): a first run (no approved model yet) and a second that also scores the
 * approved model.
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateStateMachineCommand, SFNClient } from '@aws-sdk/client-sfn';
import { Template } from 'aws-cdk-lib/assertions';

import { APPROVED_MODEL_INPUT, ApprovedModelLookup, processingJobRequest } from '../constructs/training/runtime/job-requests';
import { PipelineConfig } from '../constructs/training/runtime/retraining-contract';
import { PROCESSING_RESOURCE_TYPE, RESOURCE_TYPE } from '../constructs/training/runtime/sagemaker-job-contract';
import { CfnDeployment } from '../local/state-machine/cfn-evaluator';
import { Definition, definitionOf, deploymentOf } from '../local/state-machine/state-machine-runner';
import { deniedNeeds, JobRequest } from './support/job-role-access';
import { buildTestPlatform, EVERY_OPTION, stacksOf } from './support/platform';
import { PipelineStandins, RetrainingRuns, startPipelineStandins } from './support/retraining-runs';
import { COMPLETES, SageMakerStandin } from './support/sagemaker-api-standin';

jest.setTimeout(120_000);

interface Deployed {
  readonly deployment: CfnDeployment;
  readonly definition: Definition;
  readonly config: PipelineConfig;
  /** The deploy's job requests, as its custom resources carry them (an evaluate run with an approved model included). */
  readonly deployRequests: JobRequest[];
}

function deploy(overrides: Record<string, unknown> = {}): Deployed {
  const { platform } = buildTestPlatform(overrides);
  // A pinned environment (account, region) is the deployment's; otherwise the evaluator's default one.
  const pinned = overrides.account ? { account: String(overrides.account), region: String(overrides.region) } : undefined;
  const deployment = deploymentOf(stacksOf(platform), pinned);
  const stack = deployment.stack(platform.training.stackName);
  const definition = definitionOf(stack, 'Fingerprint');
  const config = (definition.States.Configure.Parameters as { config: PipelineConfig }).config;
  const resources = Template.fromStack(platform.training).toJSON().Resources as Record<
    string,
    { Type: string; Properties: Record<string, unknown> }
  >;
  const deployRequests: JobRequest[] = [];
  for (const [id, r] of Object.entries(resources)) {
    const property =
      r.Type === RESOURCE_TYPE
        ? 'CreateTrainingJobRequest'
        : r.Type === PROCESSING_RESOURCE_TYPE
          ? 'CreateProcessingJobRequest'
          : undefined;
    if (!property || r.Properties[property] === undefined) continue;
    deployRequests.push(JSON.parse(stack.evaluate(r.Properties[property], `Resources.${id}.Properties.${property}`) as string));
    if (r.Properties.ApprovedModelLookup === undefined) continue;
    // The start phase's request when the group has an approved model (sagemaker-job.handler.ts): one the role may read.
    const lookup = JSON.parse(
      stack.evaluate(r.Properties.ApprovedModelLookup, `Resources.${id}.Properties.ApprovedModelLookup`) as string,
    ) as ApprovedModelLookup;
    const source = lookup.spec.approvedModels!;
    const approvedModel = `s3://${source.bucketName}/${source.keyPrefix}0123456789abcdef/output/model.tar.gz`;
    deployRequests.push(
      JSON.parse(
        JSON.stringify(
          processingJobRequest(lookup.spec, { jobName: `${lookup.identity.prefix}-approved`, inputKeys: lookup.inputKeys, approvedModel }),
        ),
      ),
    );
  }
  return { deployment, definition, config, deployRequests };
}

const kinds = (requests: JobRequest[]) =>
  requests.map((r) =>
    r.TrainingJobName ? 'training' : r.ProcessingInputs && (r.ProcessingInputs as unknown[]).length > 1 ? 'evaluate' : 'prepare',
  );

describe("the deploy's jobs' roles", () => {
  test.each([
    ['the defaults', {}],
    ["every option (VPC jobs, the user's data bucket)", EVERY_OPTION],
  ])('allow what each job request needs: %s', (_name, overrides) => {
    const { deployment, deployRequests } = deploy(overrides);
    // Prepare, training, evaluate, and evaluate with an approved model.
    expect(kinds(deployRequests).sort()).toEqual(['evaluate', 'evaluate', 'prepare', 'training']);
    expect(deployRequests.flatMap((r) => deniedNeeds(deployment, r))).toEqual([]);
  });

  test("a request that reads or writes beyond its role's reach is reported, naming the role, the action and the object", () => {
    const { deployment, deployRequests } = deploy();
    const training = JSON.parse(JSON.stringify(deployRequests.find((r) => r.TrainingJobName)!));
    const channel = training.InputDataConfig[0].DataSource.S3DataSource;
    channel.S3Uri = channel.S3Uri.replace(/\/data\/train\/$/, '/report/');
    training.OutputDataConfig.S3OutputPath = training.OutputDataConfig.S3OutputPath.replace(/models\/$/, 'elsewhere/');
    const denied = deniedNeeds(deployment, training);
    expect(denied).toEqual([
      expect.stringMatching(
        /TrainingJobExecutionRole\w+ may not s3:ListBucket on arn:aws:s3:::\S+ with \{"s3:prefix":"prepared\/\S+\/report\/"\} \(ImplicitDeny\)/,
      ),
      expect.stringMatching(
        /TrainingJobExecutionRole\w+ may not s3:GetObject on arn:aws:s3:::\S+\/prepared\/\S+\/report\/part-00000\.csv \(ImplicitDeny\)/,
      ),
      expect.stringMatching(
        /may not s3:PutObject on arn:aws:s3:::\S+\/elsewhere\/\S+\/output\/model\.tar\.gz \(ImplicitDeny\) to write the model artifact/,
      ),
    ]);
  });
});

describe("the retraining pipeline's jobs' roles, in executed runs", () => {
  const standin = new SageMakerStandin();
  let aws: PipelineStandins;
  let deployed: Deployed;
  let s3: S3Client;
  let runs: RetrainingRuns;
  let machine: string;

  beforeAll(async () => {
    deployed = deploy();
    aws = await startPipelineStandins(standin, deployed.config);
    ({ s3, runs } = aws);
    const { config } = deployed;
    standin.addModelPackageGroup(config.registration.ModelPackageGroupName);
    const created = await new SFNClient({}).send(
      new CreateStateMachineCommand({
        name: 'retraining-access',
        roleArn: 'arn:aws:iam::123456789012:role/retraining-pipeline',
        definition: JSON.stringify({ StartAt: 'A', States: { A: { Type: 'Pass', End: true } } }),
      }),
    );
    machine = created.stateMachineArn!;
  });

  afterAll(async () => {
    await aws?.stop();
  });

  async function upload(name: string, rows: string): Promise<void> {
    const { raw } = deployed.config;
    await s3.send(new PutObjectCommand({ Bucket: raw.bucket, Key: `${raw.key}${name}`, Body: Buffer.from(`label,a,b,c\n${rows}`) }));
  }

  /** The requests of the jobs the latest run created, as the stand-in received them. */
  function createdRequests(): JobRequest[] {
    return [
      ...runs.created.processing.map((name) => standin.processingJob(name).request),
      ...runs.created.training.map((name) => standin.job(name).request),
    ];
  }

  test('a run on new data: prepare, training and evaluate may read their inputs and write their outputs', async () => {
    await upload('part-1.csv', '0,1,2,3\n1,4,5,6');
    standin.nextScript = COMPLETES;
    const result = await runs.run(deployed.definition, machine, { trigger: 'manual' });
    expect(result.output).toMatchObject({ result: 'Approved' });
    const requests = createdRequests();
    expect(kinds(requests)).toEqual(['prepare', 'evaluate', 'training']);
    // Not the deploy's jobs: the run's own, on the data as it is now.
    const deployNames = deployed.deployRequests.map((r) => r.TrainingJobName ?? r.ProcessingJobName);
    for (const r of requests) expect(deployNames).not.toContain(r.TrainingJobName ?? r.ProcessingJobName);
    expect(requests.flatMap((r) => deniedNeeds(deployed.deployment, r))).toEqual([]);
  });

  test('a run that also scores the approved model: the evaluate job may read it', async () => {
    await upload('part-2.csv', '0,2,2,2\n1,6,6,7');
    standin.nextScript = COMPLETES;
    const result = await runs.run(deployed.definition, machine, { trigger: 'manual' }, { sameRows: { candidate: 0.98, approved: 0.97 } });
    expect(result.output).toMatchObject({ result: 'Approved' });
    const requests = createdRequests();
    const evaluate = requests.find((r) =>
      (r.ProcessingInputs as { InputName: string }[] | undefined)?.some((i) => i.InputName === APPROVED_MODEL_INPUT),
    );
    expect(evaluate).toBeDefined();
    expect(requests.flatMap((r) => deniedNeeds(deployed.deployment, r))).toEqual([]);
  });
});
