/**
 * Issue 18, rollout after approval: the synthesized rollout reconciler (constructs/serving/rollout-reconciler.ts),
 * its definition taken from the Serving template with every reference resolved as CloudFormation would, validated
 * by asl-validator and executed by aws-local-stepfunctions against stand-ins that check each call against the
 * services' API models (test/support/rollout-standins.ts).
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';

import { ROLLOUT_OUTCOMES } from '../constructs/serving/rollout-definition';
import { RolloutReconciler, rolloutResources } from '../constructs/serving/rollout-reconciler';
import {
  allStates,
  aslProblems,
  Definition,
  definitionOf,
  deploymentOf,
  runStateMachine,
  stateMachineWith,
} from '../local/state-machine/state-machine-runner';
import { CfnTemplate } from './support/cfn-template';
import { buildTestPlatform, stacksOf } from './support/platform';
import { RolloutScenario, RolloutWorld } from './support/rollout-standins';
import { modelPackageStateChange } from './support/service-events';

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';

const { platform } = buildTestPlatform({ account: ACCOUNT, region: REGION });
const serving = Template.fromStack(platform.serving).toJSON() as CfnTemplate;
const training = Template.fromStack(platform.training).toJSON() as CfnTemplate;

// The stacks as one deployment evaluates them: each its own stack id, names and ARNs as CloudFormation gives them.
const deployment = deploymentOf(stacksOf(platform), { account: ACCOUNT, region: REGION });
const deployedServing = deployment.stack(platform.serving.stackName);
const deployedTraining = deployment.stack(platform.training.stackName);
const SERVING_ID = deployedServing.id;
/** A value of the Serving template, as deployed. */
const inServing = (value: unknown): unknown => deployedServing.evaluate(value, 'rollout-reconciler.test');

const machineId = stateMachineWith(serving, 'Newest approved version');
const definition: Definition = definitionOf(deployedServing, 'Newest approved version');
// The names as the stacks that own them create them, not as the definition has them.
const groupName = deployedTraining.physicalName(logicalIdOf(training, 'AWS::SageMaker::ModelPackageGroup'));
const endpointName = deployedServing.physicalName(logicalIdOf(serving, 'AWS::SageMaker::Endpoint'));
const resources = rolloutResources(platform.serving.inference);

function logicalIdOf(t: CfnTemplate, type: string): string {
  const ids = Object.entries(t.Resources)
    .filter(([, r]) => r.Type === type)
    .map(([id]) => id);
  if (ids.length !== 1) throw new Error(`expected one ${type}, found ${ids.length}`);
  return ids[0];
}

/** Version n of the group (SageMaker lowercases the group's name in ARNs). */
const arn = (n: number) => `arn:aws:sagemaker:${REGION}:${ACCOUNT}:model-package/${groupName.toLowerCase()}/${n}`;

/** A scenario of this platform's serving stack. */
function world(overrides: Partial<RolloutScenario> & Pick<RolloutScenario, 'versions' | 'served'>): RolloutWorld {
  return new RolloutWorld({
    stackId: SERVING_ID,
    pointerName: '/DlPlatform/serving/model-package-arn',
    groupName,
    endpointName,
    resources,
    ...overrides,
  });
}

/** SageMaker's event for version n's new approval status. */
const approvalEvent = (w: RolloutWorld, n: number, status: string) =>
  modelPackageStateChange({ groupName, version: n, arn: w.versionArn(n), status }, { account: ACCOUNT, region: REGION });

async function run(w: RolloutWorld, event: unknown) {
  const outcome = await runStateMachine(definition, event, w.handlers(definition));
  expect(w.violations).toEqual([]);
  return outcome;
}

const executed = (w: RolloutWorld) => w.operations().includes('cloudformation:ExecuteChangeSet');

describe('the synthesized definition', () => {
  test('is valid Amazon States Language (asl-validator) and runs in aws-local-stepfunctions', () => {
    expect(aslProblems(definition)).toEqual([]);
    expect(definition.States['Newest approved version']).toBeDefined();
  });

  test('calls only AWS SDK integrations (no Lambda), and names its own stack by its id', () => {
    const tasks = allStates(definition).filter(([, s]) => s.Type === 'Task');
    expect(tasks.length).toBeGreaterThan(8);
    for (const [, s] of tasks) expect(String(s.Resource)).toMatch(/^arn:aws:states:::aws-sdk:(cloudformation|ssm|sagemaker):/);
    for (const [, s] of tasks.filter(([, t]) => String(t.Resource).includes(':cloudformation:'))) {
      expect((s.Parameters as { StackName: string }).StackName).toBe(SERVING_ID);
    }
    expect(groupName).toMatch(/^DlPlatform-models-[0-9a-f]{12}$/);
  });
});

describe('a rollout after an approval', () => {
  test('an approved version moves the pointer, and a change set on the deployed template is executed with the deploy role', async () => {
    const w = world({ versions: ['Approved', 'Approved'], served: arn(1) });
    const outcome = await run(w, approvalEvent(w, 2, 'Approved'));
    expect(outcome).toMatchObject({
      status: 'SUCCEEDED',
      output: { outcome: ROLLOUT_OUTCOMES.rolledOut, modelPackageArn: w.versionArn(2) },
    });
    expect(w.pointer).toBe(w.versionArn(2));
    expect(w.served).toBe(w.versionArn(2));
    const create = w.calls.find((c) => c.operation === 'CreateChangeSet')!.input;
    expect(create).toMatchObject({
      StackName: SERVING_ID,
      UsePreviousTemplate: true,
      ChangeSetType: 'UPDATE',
      RoleARN: deployedServing.arn(deployRoleId()),
      Parameters: [
        { ParameterKey: 'ServedModelPackage', UsePreviousValue: true },
        { ParameterKey: 'BootstrapVersion', UsePreviousValue: true },
      ],
    });
    expect(String(create.ChangeSetName)).toMatch(/^rollout-[0-9a-f-]{36}$/);
    expect(w.operations()).toEqual([
      'sagemaker:ListModelPackages',
      'cloudformation:DescribeStacks',
      'ssm:PutParameter',
      'cloudformation:CreateChangeSet',
      'cloudformation:DescribeChangeSet',
      'cloudformation:DescribeChangeSet',
      'cloudformation:ExecuteChangeSet',
      'cloudformation:DescribeStacks',
      'cloudformation:DescribeStacks',
      'cloudformation:DescribeStackResource',
      'sagemaker:DescribeEndpoint',
    ]);
    expect(w.approval[1].status).toBe('Approved');
  });

  test('a change set that changes anything besides the model, endpoint config and endpoint is refused: deleted, nothing executed', async () => {
    const w = world({
      versions: ['Approved', 'Approved'],
      served: arn(1),
      extraChanges: [{ logicalId: 'ProxyFunction1234ABCD', type: 'AWS::Lambda::Function', action: 'Modify' }],
    });
    const outcome = await run(w, approvalEvent(w, 2, 'Approved'));
    expect(outcome).toMatchObject({ status: 'FAILED', error: ROLLOUT_OUTCOMES.refused });
    expect(executed(w)).toBe(false);
    expect(w.changeSets.map((c) => c.deleted)).toEqual([true]);
    expect(w.served).toBe(w.versionArn(1));
  });

  test('a change set that would replace the endpoint (Add/Remove) is refused too', async () => {
    const w = world({
      versions: ['Approved', 'Approved'],
      served: arn(1),
      extraChanges: [{ logicalId: resources.endpoint, type: 'AWS::SageMaker::Endpoint', action: 'Remove' }],
    });
    expect(await run(w, approvalEvent(w, 2, 'Approved'))).toMatchObject({ status: 'FAILED', error: ROLLOUT_OUTCOMES.refused });
    expect(executed(w)).toBe(false);
  });

  test('a rollout that rolls back: the version is Rejected with the reason, the pointer restored, the execution fails (an incident)', async () => {
    const w = world({ versions: ['Approved', 'Approved'], served: arn(1), updateEnds: 'UPDATE_ROLLBACK_COMPLETE' });
    const outcome = await run(w, approvalEvent(w, 2, 'Approved'));
    expect(outcome).toMatchObject({ status: 'FAILED', error: ROLLOUT_OUTCOMES.rolledBack });
    expect(w.approval[1]).toEqual({
      status: 'Rejected',
      description: 'Rejected by the rollout: the serving stack update ended in UPDATE_ROLLBACK_COMPLETE',
    });
    expect(w.pointer).toBe(w.versionArn(1));
    expect(w.served).toBe(w.versionArn(1));
  });

  test('CloudFormation reports success but the endpoint kept its old config (SageMaker rolled back): Rejected, pointer restored, failed', async () => {
    const w = world({ versions: ['Approved', 'Approved'], served: arn(1), endpointKeepsOldConfig: true });
    const outcome = await run(w, approvalEvent(w, 2, 'Approved'));
    expect(outcome).toMatchObject({ status: 'FAILED', error: ROLLOUT_OUTCOMES.rolledBack });
    expect(w.approval[1].status).toBe('Rejected');
    expect(w.approval[1].description).toMatch(/endpoint serves endpoint config endpoint-config-1, not the deployed endpoint-config-2/);
    expect(w.pointer).toBe(w.versionArn(1));
  });

  test('the rejection starts another rollout, which finds the previous version already served', async () => {
    const w = world({ versions: ['Approved', 'Rejected'], served: arn(1) });
    expect(await run(w, approvalEvent(w, 2, 'Rejected'))).toMatchObject({
      status: 'SUCCEEDED',
      output: { outcome: ROLLOUT_OUTCOMES.alreadyServed },
    });
    expect(w.operations()).toEqual(['sagemaker:ListModelPackages', 'cloudformation:DescribeStacks']);
  });

  test('a person rejecting the served version rolls the endpoint back to the newest version still approved', async () => {
    const w = world({ versions: ['Approved', 'Rejected'], served: arn(2) });
    expect(await run(w, approvalEvent(w, 2, 'Rejected'))).toMatchObject({
      status: 'SUCCEEDED',
      output: { outcome: ROLLOUT_OUTCOMES.rolledOut, modelPackageArn: w.versionArn(1) },
    });
    expect(w.served).toBe(w.versionArn(1));
  });

  test('a busy stack (a deploy in progress) is looked at again until it is done, then the rollout proceeds', async () => {
    const w = world({
      versions: ['Approved', 'Approved'],
      served: arn(1),
      statusesBefore: ['UPDATE_IN_PROGRESS', 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', 'UPDATE_COMPLETE'],
    });
    const outcome = await run(w, approvalEvent(w, 2, 'Approved'));
    expect(outcome).toMatchObject({ status: 'SUCCEEDED', output: { outcome: ROLLOUT_OUTCOMES.rolledOut } });
    expect(w.operations().slice(0, 5)).toEqual([
      'sagemaker:ListModelPackages',
      'cloudformation:DescribeStacks',
      'cloudformation:DescribeStacks',
      'cloudformation:DescribeStacks',
      'ssm:PutParameter',
    ]);
    expect(outcome.states.filter((s) => s === 'Wait for the stack')).toHaveLength(2);
  });

  test('a stack busy for longer than the bound: the rollout gives up without changing anything', async () => {
    const w = world({ versions: ['Approved', 'Approved'], served: arn(1), statusesBefore: ['UPDATE_IN_PROGRESS'] });
    const outcome = await run(w, approvalEvent(w, 2, 'Approved'));
    expect(outcome).toMatchObject({ status: 'FAILED', error: ROLLOUT_OUTCOMES.stackBusy });
    expect(w.operations().filter((o) => o === 'cloudformation:DescribeStacks')).toHaveLength(31);
    expect(w.pointer).toBe(w.versionArn(1));
    expect(w.changeSets).toEqual([]);
  });

  test('a cdk deploy that updates the stack first makes the change set obsolete: the rollout looks again and finds the version served', async () => {
    const w = world({ versions: ['Approved', 'Approved'], served: arn(1), deployRacesExecution: true });
    const outcome = await run(w, approvalEvent(w, 2, 'Approved'));
    expect(outcome).toMatchObject({ status: 'SUCCEEDED', output: { outcome: ROLLOUT_OUTCOMES.alreadyServed, modelPackageArn: arn(2) } });
    expect(w.operations().filter((o) => o === 'cloudformation:ExecuteChangeSet')).toHaveLength(1);
    expect(w.served).toBe(arn(2));
  });

  test('a stack no update can start from fails at once', async () => {
    const w = world({ versions: ['Approved', 'Approved'], served: arn(1), statusesBefore: ['UPDATE_ROLLBACK_FAILED'] });
    expect(await run(w, approvalEvent(w, 2, 'Approved'))).toMatchObject({ status: 'FAILED', error: ROLLOUT_OUTCOMES.stackNotUpdatable });
    expect(w.changeSets).toEqual([]);
  });

  test('"no changes": the empty change set is deleted and the rollout succeeds', async () => {
    const w = world({ versions: ['Approved', 'Approved'], served: arn(1), changeSetShowsNothing: true });
    const outcome = await run(w, approvalEvent(w, 2, 'Approved'));
    expect(outcome).toMatchObject({ status: 'SUCCEEDED', output: { outcome: ROLLOUT_OUTCOMES.noChanges } });
    expect(executed(w)).toBe(false);
    expect(w.changeSets.map((c) => c.deleted)).toEqual([true]);
  });

  test('a change set CloudFormation cannot create fails the rollout (an incident); nothing is executed, the version stays Approved', async () => {
    const w = world({
      versions: ['Approved', 'Approved'],
      served: arn(1),
      changeSetFailsWith: 'User: arn:aws:sts::123456789012:assumed-role/x is not authorized to perform: ssm:GetParameters',
    });
    const outcome = await run(w, approvalEvent(w, 2, 'Approved'));
    expect(outcome).toMatchObject({ status: 'FAILED', error: ROLLOUT_OUTCOMES.changeSetFailed });
    expect(executed(w)).toBe(false);
    expect(w.approval[1].status).toBe('Approved');
    // The pointer names the approved version: the next deploy serves it.
    expect(w.pointer).toBe(arn(2));
  });

  test('the version already served: nothing is written', async () => {
    const w = world({ versions: ['Approved'], served: arn(1) });
    expect(await run(w, approvalEvent(w, 1, 'Approved'))).toMatchObject({
      status: 'SUCCEEDED',
      output: { outcome: ROLLOUT_OUTCOMES.alreadyServed },
    });
    expect(w.operations()).toEqual(['sagemaker:ListModelPackages', 'cloudformation:DescribeStacks']);
  });
});

describe('manual approval (modelApproval=manual)', () => {
  test("a version waiting for a person is not rolled out; the person's approval rolls it out", async () => {
    const w = world({ versions: ['Approved', 'PendingManualApproval'], served: arn(1) });
    expect(await run(w, approvalEvent(w, 1, 'Approved'))).toMatchObject({
      status: 'SUCCEEDED',
      output: { outcome: ROLLOUT_OUTCOMES.alreadyServed },
    });
    expect(w.served).toBe(w.versionArn(1));

    // aws sagemaker update-model-package --model-package-arn <v2> --model-approval-status Approved
    w.approval[1] = { status: 'Approved' };
    expect(await run(w, approvalEvent(w, 2, 'Approved'))).toMatchObject({
      status: 'SUCCEEDED',
      output: { outcome: ROLLOUT_OUTCOMES.rolledOut, modelPackageArn: w.versionArn(2) },
    });
    expect(w.served).toBe(w.versionArn(2));
    expect(w.pointer).toBe(w.versionArn(2));
  });

  test('the first approval, with no endpoint deployed yet, moves the pointer and asks for one deploy (no change set)', async () => {
    const w = world({ versions: ['Approved'], served: 'none' });
    const outcome = await run(w, approvalEvent(w, 1, 'Approved'));
    expect(outcome).toMatchObject({ status: 'FAILED', error: ROLLOUT_OUTCOMES.firstVersionNeedsDeploy });
    expect(w.pointer).toBe(w.versionArn(1));
    expect(w.changeSets).toEqual([]);
  });

  test('nothing approved at all: nothing to roll out', async () => {
    const w = world({ versions: ['PendingManualApproval'], served: 'none' });
    expect(await run(w, approvalEvent(w, 1, 'Rejected'))).toMatchObject({
      status: 'SUCCEEDED',
      output: { outcome: ROLLOUT_OUTCOMES.nothingApproved },
    });
    expect(w.pointer).toBe('none');
  });
});

function deployRoleId(): string {
  const ids = Object.entries(serving.Resources)
    .filter(([id, r]) => r.Type === 'AWS::IAM::Role' && id.includes('RolloutDeployRole'))
    .map(([id]) => id);
  if (ids.length !== 1) throw new Error(`expected one rollout deploy role, found ${ids.join(', ')}`);
  return ids[0];
}

describe('what the rollout may do', () => {
  const policiesOf = (roleId: string) =>
    Object.values(serving.Resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties!.Roles).includes(`"${roleId}"`))
      .flatMap(
        (r) =>
          inServing((r.Properties!.PolicyDocument as { Statement: unknown[] }).Statement) as {
            Action: string | string[];
            Resource: string | string[];
            Condition?: Record<string, Record<string, string>>;
          }[],
      );
  const machineRole = String((serving.Resources[machineId].Properties!.RoleArn as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0]);
  const deployRole = deployRoleId();
  const deployRoleArn = deployedServing.arn(deployRole);
  const suffix = SERVING_ID.slice(-12);

  test('the state machine creates change sets only with the deploy role, and passes that role only to CloudFormation', () => {
    const statements = policiesOf(machineRole);
    expect(statements).toEqual(
      expect.arrayContaining([
        {
          Effect: 'Allow',
          Action: 'cloudformation:CreateChangeSet',
          Resource: SERVING_ID,
          Condition: { StringEquals: { 'cloudformation:RoleArn': deployRoleArn } },
        },
        {
          Effect: 'Allow',
          Action: 'iam:PassRole',
          Resource: deployRoleArn,
          Condition: { StringEquals: { 'iam:PassedToService': 'cloudformation.amazonaws.com' } },
        },
        {
          Effect: 'Allow',
          Action: 'ssm:PutParameter',
          Resource: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/DlPlatform/serving/model-package-arn`,
        },
      ]),
    );
    // Every other CloudFormation call names this stack only.
    for (const s of statements.filter((x) => [x.Action].flat().some((a) => a.startsWith('cloudformation:'))))
      expect(s.Resource).toBe(SERVING_ID);
  });

  test("the deploy role is CloudFormation's, for this account, and can change only the tagged models and endpoint configs and this endpoint", () => {
    const trust = serving.Resources[deployRole].Properties!.AssumeRolePolicyDocument as { Statement: unknown[] };
    expect(inServing(trust.Statement)).toEqual([
      {
        Action: 'sts:AssumeRole',
        Effect: 'Allow',
        Principal: { Service: 'cloudformation.amazonaws.com' },
        Condition: { StringEquals: { 'aws:SourceAccount': ACCOUNT } },
      },
    ]);
    const statements = policiesOf(deployRole);
    const actions = statements.flatMap((s) => [s.Action].flat()).sort();
    expect(actions).toEqual([
      'iam:PassRole',
      'kms:CreateGrant',
      'kms:DescribeKey',
      'sagemaker:AddTags',
      'sagemaker:AddTags',
      'sagemaker:CreateEndpointConfig',
      'sagemaker:CreateModel',
      'sagemaker:DeleteEndpointConfig',
      'sagemaker:DeleteModel',
      'sagemaker:DescribeEndpoint',
      'sagemaker:DescribeEndpointConfig',
      'sagemaker:DescribeModel',
      'sagemaker:DescribeModelPackage',
      'sagemaker:UpdateEndpoint',
      'ssm:GetParameters',
    ]);
    // The stack's SSM-typed parameters only: the pointer and CDK's bootstrap version (the caller reads them too).
    const reads = `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/`;
    for (const who of [statements, policiesOf(machineRole)]) {
      expect(who.find((s) => s.Action === 'ssm:GetParameters')!.Resource).toEqual([
        `${reads}DlPlatform/serving/model-package-arn`,
        `${reads}cdk-bootstrap/hnb659fds/version`,
      ]);
    }
    expect(statements.find((s) => s.Action === 'sagemaker:DescribeModelPackage')!.Resource).toBe(
      `arn:aws:sagemaker:${REGION}:${ACCOUNT}:model-package/${groupName.toLowerCase()}/*`,
    );
    for (const s of statements.filter((x) => [x.Resource].flat().some((r) => /:(model|endpoint-config)\/\*$/.test(r)))) {
      const [operator] = Object.values(s.Condition ?? {});
      expect(Object.entries(operator ?? {})).toEqual([[expect.stringMatching(/^aws:(Request|Resource)Tag\/dlplatform:rollout$/), suffix]]);
    }
    expect(statements.find((s) => s.Action === 'iam:PassRole')!.Condition).toEqual({
      StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' },
    });
    expect(statements.find((s) => [s.Action].flat().includes('sagemaker:UpdateEndpoint'))!.Resource).toBe(
      `arn:aws:sagemaker:${REGION}:${ACCOUNT}:endpoint/${endpointName.toLowerCase()}`,
    );
  });

  test('the model and endpoint config carry the tag the deploy role is held to', () => {
    for (const id of [resources.model, resources.endpointConfig]) {
      expect(inServing(serving.Resources[id].Properties!.Tags)).toEqual(
        expect.arrayContaining([{ Key: 'dlplatform:rollout', Value: suffix }]),
      );
    }
  });

  test("approvals and rejections of the registry's group start the rollout; undeliverable events wait in a dead-letter queue", () => {
    const [rule] = Object.values(serving.Resources).filter((r) => r.Type === 'AWS::Events::Rule');
    expect(inServing(rule.Properties!.EventPattern)).toEqual({
      source: ['aws.sagemaker'],
      'detail-type': ['SageMaker Model Package State Change'],
      detail: { ModelPackageGroupName: [groupName, groupName.toLowerCase()], ModelApprovalStatus: ['Approved', 'Rejected'] },
    });
    const [target] = rule.Properties!.Targets as { Arn: unknown; DeadLetterConfig: unknown; RetryPolicy: unknown }[];
    expect(target.Arn).toEqual({ Ref: machineId });
    expect(target.DeadLetterConfig).toBeDefined();
    expect(target.RetryPolicy).toEqual({ MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 8 });
  });

  test('bad bounds are refused at synth, naming the construct and the setting', () => {
    const stack = new Stack(new App(), 'S');
    const endpoint = platform.serving.inference;
    const props = { endpoint, pointerParameterName: '/p', modelPackageGroupName: 'g', eventGroupNames: ['g'], groupNameInArns: 'g' };
    expect(() => new RolloutReconciler(stack, 'R', { ...props, maxBusyChecks: 0 })).toThrow(
      /RolloutReconciler at S\/R: invalid maxBusyChecks 0; allowed: a whole number from 1 to 1000/,
    );
  });

  test('a pinned version has no rollout; manual mode has the same one', () => {
    expect(buildTestPlatform({ servingModelPackageVersion: 3 }).platform.serving.rollout).toBeUndefined();
    const manualPlatform = buildTestPlatform({ account: ACCOUNT, region: REGION, modelApproval: 'manual' }).platform;
    const deployedManual = deploymentOf(stacksOf(manualPlatform), { account: ACCOUNT, region: REGION }).stack(
      manualPlatform.serving.stackName,
    );
    expect(definitionOf(deployedManual, 'Newest approved version')).toEqual(definition);
  });
});
