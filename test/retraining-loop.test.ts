/**
 * Issue 18's loop, one chained execution per trigger: new data (the completion marker), a schedule tick and
 * `npm run retrain` each start the retraining pipeline as the synthesized rule, schedule or script does; the run
 * registers a version in the SageMaker API stand-in; SageMaker's event for it goes through the synthesized rollout
 * rule to the rollout state machine; and its change set serves the new version. Both state machines are the
 * synthesized definitions of one deployment (cfn-evaluator.ts), run by state-machine-runner.ts against moto (S3,
 * Step Functions, CloudFormation), the SageMaker API stand-in and the rollout stand-ins, which answer the rollout's
 * registry calls from the same SageMaker stand-in. The rules' patterns and targets' inputs are the evaluated
 * template's, applied as EventBridge does (event-bus.ts).
 */
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { CfnElement, Stack } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

import { pipelineArn, startRetraining } from '../bin/retrain';
import { ROLLOUT_OUTCOMES } from '../constructs/serving/rollout-definition';
import { rolloutResources } from '../constructs/serving/rollout-reconciler';
import { PipelineConfig } from '../constructs/training/runtime/retraining-contract';
import { CfnStack } from '../local/state-machine/cfn-evaluator';
import { definitionOf, deploymentOf, ExecutionOutcome, runStateMachine } from '../local/state-machine/state-machine-runner';
import { deliveredInput, EventTarget, patternMatches } from './support/event-bus';
import { buildTestPlatform, stacksOf } from './support/platform';
import { PipelineStandins, RetrainingRuns, startPipelineStandins } from './support/retraining-runs';
import { RolloutWorld } from './support/rollout-standins';
import { COMPLETES, completesWith, SageMakerStandin, StandinModelPackage } from './support/sagemaker-api-standin';
import { modelPackageStateChange, s3ObjectCreated } from './support/service-events';

jest.setTimeout(120_000);

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const ORIGIN = { account: ACCOUNT, region: REGION };
const SCHEDULE = 'rate(1 day)';

const { platform, config } = buildTestPlatform({ account: ACCOUNT, region: REGION, retrainSchedule: SCHEDULE });
const deployment = deploymentOf(stacksOf(platform), ORIGIN);
const training = deployment.stack(platform.training.stackName);
const serving = deployment.stack(platform.serving.stackName);
const pipeline = definitionOf(training, 'Fingerprint');
const rollout = definitionOf(serving, 'Newest approved version');
const pipelineConfig = (pipeline.States.Configure.Parameters as { config: PipelineConfig }).config;
const group = pipelineConfig.registration.ModelPackageGroupName;
const resources = rolloutResources(platform.serving.inference);
const pointerName = `/${config.stackPrefix}/serving/model-package-arn`;

/** The logical id of a resource, or of a construct's resource, in its stack. */
const idOf = (construct: IConstruct): string => {
  const resource = construct instanceof CfnElement ? construct : (construct.node.defaultChild as CfnElement);
  return Stack.of(resource).getLogicalId(resource);
};

/** An evaluated rule: its pattern and its one target. */
function ruleOf(stack: CfnStack, id: string): { pattern: Record<string, unknown>; target: EventTarget } {
  const { EventPattern, Targets } = stack.properties(id) as { EventPattern: Record<string, unknown>; Targets: EventTarget[] };
  if (Targets.length !== 1) throw new Error(`${stack.name}/${id}: expected one target, found ${Targets.length}`);
  return { pattern: EventPattern, target: Targets[0] };
}

const machineArn = training.arn(idOf(platform.training.retraining.stateMachine))!;
const rolloutArn = serving.arn(idOf(platform.serving.rollout!.stateMachine))!;
const newData = ruleOf(training, idOf(platform.training.retraining.newDataRule!));
const approval = ruleOf(serving, idOf(platform.serving.rollout!.rule));
const schedule = training.properties(idOf(platform.training.retraining.schedule!)) as {
  ScheduleExpression: string;
  Target: EventTarget;
};

const standin = new SageMakerStandin();
let aws: PipelineStandins;
let s3: S3Client;
let sfn: SFNClient;
let runs: RetrainingRuns;
/** The serving stack, its pointer and endpoint, as the rollouts leave them. */
let world: RolloutWorld;

beforeAll(async () => {
  aws = await startPipelineStandins(standin, pipelineConfig);
  ({ s3, runs } = aws);
  sfn = new SFNClient({});
  // The deployed state machine, by its deployed name (moto makes the same ARN), and the Training stack's output.
  const created = await sfn.send(
    new CreateStateMachineCommand({
      name: machineArn.split(':').pop()!,
      roleArn: `arn:aws:iam::${ACCOUNT}:role/retraining`,
      definition: JSON.stringify({ StartAt: 'A', States: { A: { Type: 'Pass', End: true } } }),
    }),
  );
  expect(created.stateMachineArn).toBe(machineArn);
  await new CloudFormationClient({}).send(
    new CreateStackCommand({
      StackName: platform.training.stackName,
      TemplateBody: JSON.stringify({
        Resources: { Topic: { Type: 'AWS::SNS::Topic' } },
        Outputs: { RetrainingPipelineArn: { Value: training.output('RetrainingPipelineArn') } },
      }),
    }),
  );

  // As deployed: a first version registered from the initial data, and served.
  standin.addModelPackageGroup(group);
  await upload('part-1.csv', `${HEADER}0,1,2,3\n1,4,5,6`);
  expect((await runs.run(pipeline, machineArn, { trigger: 'manual' })).output).toMatchObject({
    result: 'Approved',
    modelPackageVersion: 1,
  });
  world = new RolloutWorld({
    stackId: serving.id,
    pointerName,
    groupName: group,
    endpointName: serving.physicalName(resources.endpoint),
    resources,
    versions: [],
    served: standin.modelPackages(group)[0].arn,
    registry: standin,
  });
});

afterAll(async () => {
  await aws?.stop();
});

const HEADER = 'label,a,b,c\n';

/** Writes an object under the raw data prefix; returns S3's event for it. */
async function upload(name: string, body: string) {
  const key = `${pipelineConfig.raw.key}${name}`;
  const put = await s3.send(new PutObjectCommand({ Bucket: pipelineConfig.raw.bucket, Key: key, Body: Buffer.from(body) }));
  return s3ObjectCreated({ bucket: pipelineConfig.raw.bucket, key, size: Buffer.byteLength(body), etag: put.ETag! }, ORIGIN);
}

/** What the new-data rule starts for an S3 event: nothing, or an execution with its target's input. */
async function onS3Event(event: unknown): Promise<string | undefined> {
  if (!patternMatches(newData.pattern, event)) return undefined;
  return startExecution(newData.target, event);
}

/** StartExecution as a rule's or schedule's target does it: its ARN, the input it delivers. */
async function startExecution(target: EventTarget, event: unknown): Promise<string> {
  expect(target.Arn).toBe(machineArn);
  const started = await sfn.send(
    new StartExecutionCommand({ stateMachineArn: machineArn, input: JSON.stringify(deliveredInput(target, event)) }),
  );
  return started.executionArn!;
}

/** A schedule tick: Scheduler starts the target with its Input (a schedule's target takes no event). */
const onScheduleTick = () => startExecution(schedule.Target, {});

/** Runs the started execution (its input as Step Functions keeps it) to its end; the versions it registered. */
async function runExecution(executionArn: string, options: { duringPrepare?: () => Promise<void> } = {}) {
  const before = standin.modelPackages(group).length;
  const { input } = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  const outcome = await runs.run(pipeline, machineArn, JSON.parse(input!), { executionArn, ...options });
  await sfn.send(new StopExecutionCommand({ executionArn }));
  return { outcome, registered: standin.modelPackages(group).slice(before) };
}

/** SageMaker's event for a registered version, through the rollout rule: the rollout execution it starts, if any. */
async function onRegistered(pkg: StandinModelPackage): Promise<ExecutionOutcome | undefined> {
  const event = modelPackageStateChange({ groupName: pkg.group, version: pkg.version, arn: pkg.arn, status: pkg.status }, ORIGIN);
  if (!patternMatches(approval.pattern, event)) return undefined;
  expect(approval.target.Arn).toBe(rolloutArn);
  const outcome = await runStateMachine(rollout, deliveredInput(approval.target, event), world.handlers(rollout));
  expect(world.violations).toEqual([]);
  return outcome;
}

/** The whole chain after a trigger's execution started: the run, then a rollout for each version it registered. */
async function loop(executionArn: string) {
  const { outcome, registered } = await runExecution(executionArn);
  const rollouts = [];
  for (const pkg of registered) rollouts.push(await onRegistered(pkg));
  return { outcome, registered, rollouts };
}

/** What the Serving stack deploys with the pointer's value: the model's ModelPackageName, as CloudFormation resolves it. */
function deployedModelPackage(pointer: string): string | undefined {
  const redeployed = deploymentOf(stacksOf(platform), ORIGIN, { [pointerName]: pointer }).stack(platform.serving.stackName);
  const model = JSON.stringify(redeployed.properties(resources.model));
  return /arn:aws:sagemaker:[^"]+:model-package\/[^"]+/.exec(model)?.[0];
}

/** The new version was rolled out: pointer, change set executed on it, the endpoint's stack serving it. */
function expectServed(pkg: StandinModelPackage, rolloutOutcome: ExecutionOutcome | undefined): void {
  expect(rolloutOutcome).toMatchObject({ status: 'SUCCEEDED', output: { outcome: ROLLOUT_OUTCOMES.rolledOut, modelPackageArn: pkg.arn } });
  expect(world.pointer).toBe(pkg.arn);
  const changeSet = world.changeSets.at(-1)!;
  expect(changeSet).toMatchObject({ resolvedPointer: pkg.arn, executed: true });
  expect(world.calls.filter((c) => c.operation === 'CreateChangeSet').at(-1)!.input).toMatchObject({
    StackName: serving.id,
    UsePreviousTemplate: true,
    Parameters: expect.arrayContaining([{ ParameterKey: 'ServedModelPackage', UsePreviousValue: true }]),
  });
  expect(world.served).toBe(pkg.arn);
  expect(deployedModelPackage(world.pointer)).toBe(pkg.arn);
}

describe('new data, a schedule tick and npm run retrain each lead to a new version served by the endpoint', () => {
  test('new data: the completion marker starts a run that registers version 2, and the rollout serves it', async () => {
    // The data file starts nothing; the marker does, with its key.
    expect(await onS3Event(await upload('part-2.csv', `${HEADER}0,1,2,4\n1,5,5,6`))).toBeUndefined();
    const execution = (await onS3Event(await upload('_SUCCESS', '')))!;
    expect(execution).toBeDefined();
    const { input } = await sfn.send(new DescribeExecutionCommand({ executionArn: execution }));
    expect(JSON.parse(input!)).toEqual({ trigger: 'new-data', key: `${pipelineConfig.raw.key}_SUCCESS` });

    const { outcome, registered, rollouts } = await loop(execution);
    expect(outcome).toMatchObject({ status: 'SUCCEEDED', output: { result: 'Approved', modelPackageVersion: 2 } });
    expect(runs.created.training).toHaveLength(1);
    expect(registered.map((p) => [p.version, p.status])).toEqual([[2, 'Approved']]);
    expect(rollouts).toHaveLength(1);
    expectServed(registered[0], rollouts[0]);
  });

  test('a schedule tick: the schedule starts a run that picks up data uploaded without a marker, and version 3 is served', async () => {
    expect(schedule.ScheduleExpression).toBe(SCHEDULE);
    expect(await onS3Event(await upload('part-3.csv', `${HEADER}1,7,7,7`))).toBeUndefined();
    const execution = await onScheduleTick();
    const { outcome, registered, rollouts } = await loop(execution);
    expect(outcome).toMatchObject({ status: 'SUCCEEDED', output: { result: 'Approved', modelPackageVersion: 3 } });
    expect(runs.emitted.at(-1)).toMatchObject({ Detail: { trigger: { trigger: 'schedule' }, outcome: { result: 'Approved' } } });
    expectServed(registered[0], rollouts[0]);
  });

  test("npm run retrain: the Training stack's output names the pipeline, the script starts a manual run, version 4 is served", async () => {
    await upload('part-4.csv', `${HEADER}0,2,2,2`);
    const cloudformation = new CloudFormationClient({});
    const arn = await pipelineArn({ stackPrefix: config.stackPrefix }, cloudformation);
    expect(arn).toBe(machineArn);
    const { outcome, registered, rollouts } = await loop(await startRetraining(arn, sfn));
    expect(outcome).toMatchObject({ status: 'SUCCEEDED', output: { result: 'Approved', modelPackageVersion: 4 } });
    expect(runs.emitted.at(-1)).toMatchObject({ Detail: { trigger: { trigger: 'manual' } } });
    expectServed(registered[0], rollouts[0]);
  });
});

describe('what does not roll out', () => {
  test('a schedule tick during a run is dropped: it registers nothing and starts no rollout; the first run is served', async () => {
    await upload('part-5.csv', `${HEADER}1,8,8,8`);
    const first = (await onS3Event(await upload('_SUCCESS', '')))!;
    let second: Awaited<ReturnType<typeof runExecution>> | undefined;
    const changeSetsBefore = world.changeSets.length;
    const { outcome, registered } = await runExecution(first, {
      duringPrepare: async () => {
        const outer = runs.created;
        second = await runExecution(await onScheduleTick());
        runs.created = outer;
      },
    });
    expect(second?.outcome.output).toEqual({ result: 'Dropped', runningExecution: first });
    expect(second?.registered).toEqual([]);
    expect(outcome.output).toMatchObject({ result: 'Approved', modelPackageVersion: 5 });
    expectServed(registered[0], await onRegistered(registered[0]));
    expect(world.changeSets).toHaveLength(changeSetsBefore + 1);
  });

  test('the gate fails: the version is registered Rejected, and the rollout it starts changes nothing', async () => {
    const served = world.pointer;
    const changeSetsBefore = world.changeSets.length;
    await upload('part-6.csv', `${HEADER}1,9,9,9\n0,8,8,8`);
    standin.nextScript = completesWith({ test_accuracy: 0.5 });
    const { outcome, registered, rollouts } = await loop((await onS3Event(await upload('_SUCCESS', '')))!);
    standin.nextScript = COMPLETES;
    expect(outcome.output).toMatchObject({ result: 'Rejected', modelPackageVersion: 6 });
    expect(registered.map((p) => [p.version, p.status])).toEqual([[6, 'Rejected']]);
    // The rule takes rejections too (a rejected served version rolls back): the newest approved is already served.
    expect(rollouts).toEqual([
      expect.objectContaining({ status: 'SUCCEEDED', output: expect.objectContaining({ outcome: ROLLOUT_OUTCOMES.alreadyServed }) }),
    ]);
    expect(world.operations().slice(-2)).toEqual(['sagemaker:ListModelPackages', 'cloudformation:DescribeStacks']);
    expect(world.pointer).toBe(served);
    expect(world.served).toBe(served);
    expect(world.changeSets).toHaveLength(changeSetsBefore);
  });
});
