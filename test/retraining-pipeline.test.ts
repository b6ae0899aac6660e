/**
 * The retraining pipeline's state machine, as synthesized and as CloudFormation would create it: valid ASL
 * (asl-validator), then executed on this machine (aws-local-stepfunctions) with its own steps' handler code
 * (retraining-steps.handler.ts) against moto (S3, Step Functions) and the SageMaker API stand-in (every request
 * checked against SageMaker's API model, jobs scripted), and the .sync jobs run by a stand-in that creates the job
 * through the SageMaker API, waits for it as Step Functions does, and writes what the image writes (prepare's
 * data.sha256, evaluate's evaluation.json): test/support/retraining-runs.ts, shared with retraining-loop.test.ts.
 */
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateTrainingJobCommand, DescribeTrainingJobCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { CreateStateMachineCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { Template } from 'aws-cdk-lib/assertions';
import { createHash } from 'crypto';

import { OUTCOME_EVENT } from '../constructs/training/retraining-pipeline';
import { APPROVED_MODEL_INPUT, trainingJobRequest } from '../constructs/training/runtime/job-requests';
import { gateAndRegister } from '../constructs/training/runtime/model-registration.handler';
import { PipelineConfig } from '../constructs/training/runtime/retraining-contract';
import { aslProblems, copyOf, Definition, definitionOf, deploymentOf, ExecutionOutcome } from '../local/state-machine/state-machine-runner';
import { buildTestPlatform, stacksOf } from './support/platform';
import { PipelineStandins, RetrainingRuns, startPipelineStandins, waitFor } from './support/retraining-runs';
import { COMPLETES, completesWith, SageMakerStandin } from './support/sagemaker-api-standin';

jest.setTimeout(120_000);

const standin = new SageMakerStandin();
let aws: PipelineStandins;
let s3: S3Client;
let sagemaker: SageMakerClient;
let sfn: SFNClient;
let roleArn: string;
let runs: RetrainingRuns;

interface Synthesized {
  readonly definition: Definition;
  readonly config: PipelineConfig;
  /** The deploy's own CreateTrainingJob request (the training custom resource's property), as deployed. */
  readonly deployTrainingRequest: Record<string, unknown>;
}
let automatic: Synthesized;

function synthesize(overrides: Record<string, unknown> = {}): Synthesized {
  const { platform } = buildTestPlatform(overrides);
  const deployment = deploymentOf(stacksOf(platform));
  const definition = definitionOf(deployment.stack(platform.training.stackName), 'Fingerprint');
  const config = (definition.States.Configure.Parameters as { config: PipelineConfig }).config;
  // The training job's start phase carries the deploy's request: evaluated in the same deployment, for comparison.
  const template = Template.fromStack(platform.training).toJSON() as {
    Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
  };
  const [id, start] = Object.entries(template.Resources).find(
    ([, r]) => r.Type === 'Custom::SageMakerTrainingJob' && r.Properties.CreateTrainingJobRequest,
  )!;
  const request = deployment.stack(platform.training.stackName).evaluate(start.Properties.CreateTrainingJobRequest, `Resources.${id}`);
  return { definition, config, deployTrainingRequest: JSON.parse(request as string) };
}

beforeAll(async () => {
  automatic = synthesize();
  aws = await startPipelineStandins(standin, automatic.config);
  ({ s3, sagemaker, runs } = aws);
  sfn = new SFNClient({});
  roleArn = 'arn:aws:iam::123456789012:role/retraining-pipeline';
});

afterAll(async () => {
  await aws?.stop();
});

/** A state machine in moto whose runs the plan step lists (a fresh one per test: no run in progress). */
let machineCount = 0;
async function newStateMachine(): Promise<string> {
  const created = await sfn.send(
    new CreateStateMachineCommand({
      name: `retraining-${++machineCount}`,
      roleArn,
      definition: JSON.stringify({ StartAt: 'A', States: { A: { Type: 'Pass', End: true } } }),
    }),
  );
  return created.stateMachineArn!;
}

async function upload(key: string, body: string): Promise<void> {
  await s3.send(
    new PutObjectCommand({ Bucket: automatic.config.raw.bucket, Key: `${automatic.config.raw.key}${key}`, Body: Buffer.from(body) }),
  );
}

const HEADER = 'label,a,b,c\n';
const ROWS = ['0,1,2,3', '1,4,5,6', '0,1,2,4', '1,5,5,6'];

describe('retraining pipeline definition', () => {
  test('is valid Amazon States Language (asl-validator), paths and ARNs checked', () => {
    expect(aslProblems(automatic.definition)).toEqual([]);
  });

  test("builds the deploy's training request: the same function, from the same spec", () => {
    const deploy = automatic.deployTrainingRequest;
    // The pipeline's request for the deploy's own data is built by the same function from the same spec.
    const pipeline = trainingJobRequest(automatic.config.train.spec, {
      jobName: deploy.TrainingJobName as string,
      dataPrefix: (
        deploy.InputDataConfig as { DataSource: { S3DataSource: { S3Uri: string } } }[]
      )[0].DataSource.S3DataSource.S3Uri.replace(/^s3:\/\/[^/]+\//, '').replace(/train\/$/, ''),
    });
    expect(JSON.parse(JSON.stringify(pipeline))).toEqual(deploy);
  });
});

describe('retraining pipeline, executed locally', () => {
  let machine: string;
  beforeAll(async () => {
    standin.addModelPackageGroup(automatic.config.registration.ModelPackageGroupName);
    machine = await newStateMachine();
  });

  test('new data: prepare, train, evaluate, gate, register a new Approved version, and say so', async () => {
    await upload('part-1.csv', HEADER + ROWS.slice(0, 2).join('\n'));
    await upload('part-2.csv', HEADER + ROWS.slice(2).join('\n'));
    await upload('_SUCCESS', '');
    standin.nextScript = COMPLETES;
    const result = await runs.run(automatic.definition, machine, { trigger: 'new-data', key: `${automatic.config.raw.key}_SUCCESS` });

    expect(result).toMatchObject({ status: 'SUCCEEDED' });
    expect(result.states).toEqual(
      expect.arrayContaining(['Plan', 'Prepare', 'Fingerprint', 'Train', 'Evaluate', 'Register', 'Registered', 'EmitOutcome', 'RunEnded']),
    );
    expect(result.output).toMatchObject({ result: 'Approved', modelPackageVersion: 1 });
    expect(runs.created.training).toHaveLength(1);
    expect(runs.created.processing).toHaveLength(2);
    // The training job reads the prepared data of this run's prepare job, with the deploy's role, image and settings.
    const job = standin.job(runs.created.training[0]).request;
    const deploy = automatic.deployTrainingRequest;
    for (const member of [
      'RoleArn',
      'AlgorithmSpecification',
      'HyperParameters',
      'ResourceConfig',
      'StoppingCondition',
      'EnableManagedSpotTraining',
      'EnableNetworkIsolation',
      'OutputDataConfig',
    ]) {
      expect(job[member]).toEqual(deploy[member]);
    }
    expect(JSON.stringify(job.InputDataConfig)).toContain(`/prepared/${runs.created.processing[0]}/data/train/`);
    // The version records the prepared data, its report and the evaluation of this run.
    const version = standin.modelPackages(automatic.config.registration.ModelPackageGroupName)[0];
    expect(version.request.CustomerMetadataProperties).toMatchObject({
      training_job: runs.created.training[0],
      data_identity: runs.created.processing[0],
    });
    expect(JSON.stringify(version.request.ModelMetrics)).toContain(`/evaluations/${runs.created.processing[1]}/evaluation/evaluation.json`);
    expect(runs.emitted.at(-1)).toMatchObject({
      Source: OUTCOME_EVENT.source,
      DetailType: OUTCOME_EVENT.detailType,
      Detail: { trigger: { trigger: 'new-data' }, outcome: { result: 'Approved' } },
    });
  });

  test('unchanged data: no job runs, and the run names the registered version', async () => {
    // The same rows again, in a new file: a new prepare job (the raw listing changed), the same prepared content.
    await upload('part-3.csv', HEADER + ROWS[0]);
    const result = await runs.run(automatic.definition, machine, { trigger: 'schedule' });
    expect(result.output).toMatchObject({ result: 'Unchanged', modelPackageVersion: 1, status: 'Approved' });
    expect(runs.created.training).toEqual([]);
    expect(result.states).not.toContain('Train');

    // And by hand, with nothing uploaded since: not even the prepare job runs again.
    const again = await runs.run(automatic.definition, machine, { trigger: 'manual' });
    expect(again.output).toMatchObject({ result: 'Unchanged', modelPackageVersion: 1 });
    expect(runs.created).toEqual({ training: [], processing: [] });
    expect(runs.emitted.at(-1)).toMatchObject({ Detail: { outcome: { result: 'Unchanged', modelPackageVersion: 1 } } });
  });

  test('gate fails: the version is registered Rejected with the reason, nothing is approved', async () => {
    await upload('part-4.csv', `${HEADER}1,9,9,9\n0,8,8,8`);
    standin.nextScript = completesWith({ test_accuracy: 0.5 });
    const result = await runs.run(automatic.definition, machine, { trigger: 'new-data' });
    standin.nextScript = COMPLETES;
    expect(result.output).toMatchObject({ result: 'Rejected', modelPackageVersion: 2 });
    expect(String(result.output!.reason)).toMatch(/test_accuracy 0\.5 is below the minimum 0\.95/);
    const versions = standin.modelPackages(automatic.config.registration.ModelPackageGroupName);
    expect(versions.map((v) => v.status)).toEqual(['Approved', 'Rejected']);
  });

  test("a job that fails fails the run with SageMaker's reason, and the outcome says Failed", async () => {
    await upload('part-5.csv', `${HEADER}1,7,7,7`);
    standin.nextScript = [{ status: 'InProgress' }, { status: 'Failed', failureReason: 'AlgorithmError: out of memory' }];
    const result = await runs.run(automatic.definition, machine, { trigger: 'manual' });
    standin.nextScript = COMPLETES;
    expect(result).toMatchObject({ status: 'FAILED', error: 'States.TaskFailed' });
    expect(result.cause).toContain('AlgorithmError: out of memory');
    expect(runs.emitted.at(-1)).toMatchObject({ Detail: { outcome: { result: 'Failed', error: 'States.TaskFailed' } } });
  });

  test('after a failed job, the next run on the same data fails at once, naming the setting that runs it again', async () => {
    // The data of the previous test, whose first job (prepare) failed: SageMaker never reuses a job name.
    const result = await runs.run(automatic.definition, machine, { trigger: 'schedule' });
    expect(result).toMatchObject({ status: 'FAILED', error: 'PrepareJobNotReusable' });
    expect(result.cause).toMatch(
      /The prepare job \S+ of these inputs already exists with status Failed; raise prepareAttempt to run it again\./,
    );
    expect(runs.created).toEqual({ training: [], processing: [] });
  });

  test('a run that stopped after training resumes: completed jobs are reused, not run again', async () => {
    // Registration fails (a gate it cannot read): prepare, train and evaluate have completed.
    const broken = copyOf(automatic.definition);
    const configure = broken.States.Configure.Parameters as { config: PipelineConfig };
    configure.config = { ...configure.config, registration: { ...configure.config.registration, QualityGate: 'not a gate' } };
    await upload('part-7.csv', `${HEADER}1,3,3,3`);
    const failed = await runs.run(broken, machine, { trigger: 'new-data' });
    expect(failed).toMatchObject({ status: 'FAILED', error: 'SyntaxError' });
    expect(failed.states).toEqual(expect.arrayContaining(['Prepare', 'Train', 'Evaluate', 'Register', 'RunFailed']));
    expect(runs.created.training).toHaveLength(1);
    // Once the registry answers, the next run registers the model without running any job again.
    const resumed = await runs.run(automatic.definition, machine, { trigger: 'manual' });
    expect(resumed.output).toMatchObject({ result: 'Approved' });
    expect(runs.created).toEqual({ training: [], processing: [] });
    expect(resumed.states).not.toEqual(expect.arrayContaining(['Prepare']));
    expect(resumed.states).not.toEqual(expect.arrayContaining(['Train']));
    expect(resumed.states).not.toEqual(expect.arrayContaining(['Evaluate']));
  });

  test('a second trigger during a run is dropped, naming the run in progress; the first run goes on', async () => {
    const busyMachine = await newStateMachine();
    // The first run is the one Step Functions lists as RUNNING (moto keeps a started execution running).
    const first = await sfn.send(new StartExecutionCommand({ stateMachineArn: busyMachine, input: '{}' }));
    await upload('part-6.csv', `${HEADER}0,6,6,6`);
    // Each local run's StartTime is its real start (aws-local-stepfunctions sets it): the second starts after the first.
    let second: ExecutionOutcome | undefined;
    const result = await runs.run(
      automatic.definition,
      busyMachine,
      { trigger: 'schedule' },
      {
        executionArn: first.executionArn,
        duringPrepare: async () => {
          const outer = runs.created;
          second = await runs.run(automatic.definition, busyMachine, { trigger: 'new-data' });
          runs.created = outer;
        },
      },
    );
    expect(second?.output).toEqual({ result: 'Dropped', runningExecution: first.executionArn });
    expect(second?.states).not.toContain('Prepare');
    expect(result.output).toMatchObject({ result: 'Approved', modelPackageVersion: 4 });
  });

  test('no data under the prefix: the run fails with NoData', async () => {
    const empty = copyOf(automatic.definition);
    const configure = empty.States.Configure.Parameters as { config: PipelineConfig };
    configure.config = { ...configure.config, raw: { ...configure.config.raw, key: 'nothing-here/' } };
    const result = await runs.run(empty, machine, {});
    expect(result).toMatchObject({
      status: 'FAILED',
      error: 'NoData',
      cause: expect.stringContaining('nothing-here/ holds no data to prepare'),
    });
    expect(result.states).not.toContain('Prepare');
  });

  /** The newest Approved version's model artifact. */
  function approvedModel(): string {
    const approved = standin.modelPackages(automatic.config.registration.ModelPackageGroupName).filter((v) => v.status === 'Approved');
    const spec = approved.at(-1)!.request.InferenceSpecification as { Containers: { ModelDataUrl: string }[] };
    return spec.Containers[0].ModelDataUrl;
  }

  test('like with like: the approved model is scored on the new test rows, and both models are judged on them', async () => {
    const approved = approvedModel();
    await upload('part-8.csv', `${HEADER}0,2,2,2\n1,6,6,7`);
    // 0.96 is 0.015 below the approved model's registered 0.975 (beyond 0.01); on the new rows, the approved one scores 0.955.
    standin.nextScript = completesWith({ test_accuracy: 0.96 });
    const passed = await runs.run(
      automatic.definition,
      machine,
      { trigger: 'new-data' },
      { sameRows: { candidate: 0.96, approved: 0.955 } },
    );
    standin.nextScript = COMPLETES;
    expect(passed.output).toMatchObject({ result: 'Approved' });
    expect(String(passed.output!.reason)).toMatch(
      /test_accuracy 0\.96 .*within 0\.01 of the approved model version \d+ \(\S+\) \(0\.955 on the same test rows\)/,
    );
    // The evaluate job read this run's raw test rows and the approved model's artifact.
    const inputs = (request: Record<string, unknown>) =>
      Object.fromEntries(
        (request.ProcessingInputs as { InputName: string; S3Input: { S3Uri: string } }[]).map((i) => [i.InputName, i.S3Input.S3Uri]),
      );
    const first = inputs(standin.processingJob(runs.created.processing[1]).request);
    expect(first[APPROVED_MODEL_INPUT]).toBe(approved);
    expect(first.test).toMatch(new RegExp(`/prepared/${runs.created.processing[0]}/report/test-rows\\.csv$`));

    // The reverse: better than the registered figure on its own rows (0.99), worse than the approved model on the same ones.
    const nowApproved = approvedModel();
    expect(nowApproved).not.toBe(approved);
    await upload('part-9.csv', `${HEADER}1,2,2,2\n0,6,6,7`);
    standin.nextScript = completesWith({ test_accuracy: 0.99 });
    const rejected = await runs.run(
      automatic.definition,
      machine,
      { trigger: 'new-data' },
      { sameRows: { candidate: 0.955, approved: 0.98 } },
    );
    standin.nextScript = COMPLETES;
    expect(rejected.output).toMatchObject({ result: 'Rejected' });
    expect(String(rejected.output!.reason)).toMatch(
      /test_accuracy 0\.955 is 0\.025 below the approved model version \d+ \(\S+\) \(0\.98 on the same test rows\), more than the tolerance 0\.01/,
    );
    // The job scored the newer approval: another approved model, another evaluate job.
    expect(inputs(standin.processingJob(runs.created.processing[1]).request)[APPROVED_MODEL_INPUT]).toBe(nowApproved);
  });

  test('a different problem is refused, naming it and what to do: the run fails with DifferentProblem and registers nothing', async () => {
    const group = automatic.config.registration.ModelPackageGroupName;
    const versions = standin.modelPackages(group).length;
    await upload('part-10.csv', `${HEADER}1,1,1,1\n0,9,9,8`);
    const differences = ['labels: "0", "1", "2" against the approved model\'s "0", "1"'];
    const result = await runs.run(
      automatic.definition,
      machine,
      { trigger: 'new-data' },
      { sameRows: { candidate: 0.99, approved: 0, differences } },
    );
    expect(result).toMatchObject({ status: 'FAILED', error: 'DifferentProblem' });
    expect(result.cause).toMatch(
      /a different problem from the approved model version \d+ .*not compared and not a regression; .*qualityGateSchemaChange=accept/,
    );
    expect(standin.modelPackages(group)).toHaveLength(versions);
  });
});

describe('retraining pipeline after a deploy', () => {
  test("the deploy's version of the same model (its data named by label, not content) is recognised: no training", async () => {
    const group = `${automatic.config.registration.ModelPackageGroupName}-deploy`;
    standin.addModelPackageGroup(group);
    const definition = copyOf(automatic.definition);
    const configure = definition.States.Configure.Parameters as { config: PipelineConfig };
    const config: PipelineConfig = {
      ...configure.config,
      raw: { ...configure.config.raw, key: 'deploy-data/' },
      registration: { ...configure.config.registration, ModelPackageGroupName: group },
    };
    configure.config = config;
    const rows = [...ROWS, '1,2,2,2'];
    // What the deploy left: its prepare job's data.sha256, its training job (the deploy's request), its version.
    const deployPrepare = 'dlplatform-training-prepare-00000000deb10a11';
    const hash = createHash('sha256')
      .update([...rows].sort().join('\n'))
      .digest('hex');
    await s3.send(
      new PutObjectCommand({
        Bucket: config.prepare.spec.outputBucketName,
        Key: `prepared/${deployPrepare}/report/data.sha256`,
        Body: Buffer.from(`${hash}\n`),
      }),
    );
    const deployJob = 'dlplatform-training-00000000deb10a11';
    standin.nextScript = COMPLETES;
    await sagemaker.send(
      new CreateTrainingJobCommand(
        trainingJobRequest(config.train.spec, { jobName: deployJob, dataPrefix: `prepared/${deployPrepare}/data/` }),
      ),
    );
    await waitFor(async () => {
      const j = await sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: deployJob }));
      return { status: j.TrainingJobStatus, output: j };
    });
    const deployed = await gateAndRegister({
      ...config.registration,
      TrainingJobName: deployJob,
      ModelDataUrl: `s3://${config.train.spec.outputBucketName}/models/${deployJob}/output/model.tar.gz`,
      FinalMetrics: JSON.stringify(COMPLETES[2].finalMetrics),
      DataIdentity: deployPrepare,
    });
    expect(deployed.version.ModelApprovalStatus).toBe('Approved');

    await s3.send(
      new PutObjectCommand({ Bucket: config.raw.bucket, Key: 'deploy-data/all.csv', Body: Buffer.from(HEADER + rows.join('\n')) }),
    );
    const result = await runs.run(definition, await newStateMachine(), { trigger: 'schedule' });
    expect(result.output).toMatchObject({ result: 'Unchanged', modelPackageVersion: 1, modelPackageArn: deployed.version.ModelPackageArn });
    expect(runs.created.training).toEqual([]);

    // Another hyperparameter: another model, trained.
    const changed = { ...config.train.spec.hyperparameters, epochs: '99' };
    configure.config = {
      ...config,
      train: {
        spec: { ...config.train.spec, hyperparameters: changed },
        identity: { ...config.train.identity, inputs: { ...config.train.identity.inputs, hyperparameters: changed } },
      },
    };
    const retrained = await runs.run(definition, await newStateMachine(), { trigger: 'schedule' });
    expect(retrained.output).toMatchObject({ result: 'Approved', modelPackageVersion: 2 });
    expect(runs.created.training).toHaveLength(1);
  });
});

describe('retraining pipeline in manual approval mode', () => {
  test('a model that passes the gate waits as PendingManualApproval', async () => {
    const manual = synthesize({ modelApproval: 'manual', stackPrefix: 'Manual' });
    expect(aslProblems(manual.definition)).toEqual([]);
    standin.addModelPackageGroup(manual.config.registration.ModelPackageGroupName);
    await s3
      .send(new CreateBucketCommand({ Bucket: manual.config.raw.bucket, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }))
      .catch(() => undefined);
    await s3.send(
      new PutObjectCommand({
        Bucket: manual.config.raw.bucket,
        Key: `${manual.config.raw.key}data.csv`,
        Body: Buffer.from(HEADER + ROWS.join('\n')),
      }),
    );
    const result = await runs.run(manual.definition, await newStateMachine(), { trigger: 'manual' });
    expect(result.output).toMatchObject({ result: 'PendingManualApproval', modelPackageVersion: 1 });
    expect(standin.modelPackages(manual.config.registration.ModelPackageGroupName).map((v) => v.status)).toEqual(['PendingManualApproval']);
  });
});
