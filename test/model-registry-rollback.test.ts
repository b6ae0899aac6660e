/**
 * Issue 17, defect 5: the first model fails the quality gate, so the Training stack's creation rolls back, and
 * CloudFormation deletes what it created, the Model Package Group among them, which by then holds the Rejected
 * version. Whether SageMaker deletes a group that holds versions is not documented, so the SageMaker stand-in
 * answers both ways (nonEmptyGroupDeletion). Either way the rollback must complete, the Rejected version must stay
 * on record, and the next deploy (a new instance of the stack, as `cdk deploy` makes after a rolled-back creation)
 * must succeed instead of failing with "already exists".
 *
 * CloudFormation's part is played from the synthesized template: the group's name resolved for the stack instance,
 * its DeletionPolicy honoured, the group created and deleted through SageMaker's API (what the
 * AWS::SageMaker::ModelPackageGroup handler calls), and the registration run by the real handler.
 */
import { CreateModelPackageGroupCommand, DeleteModelPackageGroupCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { Template } from 'aws-cdk-lib/assertions';

import { onEvent } from '../constructs/training/runtime/model-registration.handler';
import { CfnTemplate, Instance, resolve } from './support/cfn-template';
import { buildTestPlatform } from './support/platform';
import { NonEmptyGroupDeletion, pointSdkAt, SageMakerStandin } from './support/sagemaker-api-standin';
import { customResourceEvent, deliveredProperties } from './support/training-job-events';

const standin = new SageMakerStandin();
let restoreEnv: () => void;
let client: SageMakerClient;

const { platform } = buildTestPlatform();
const template = Template.fromStack(platform.training).toJSON() as CfnTemplate;
const [[groupId, group]] = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::SageMaker::ModelPackageGroup');
const [[registrationId, registration]] = Object.entries(template.Resources).filter(([, r]) => r.Type === 'Custom::ModelRegistration');

beforeAll(async () => {
  restoreEnv = pointSdkAt(await standin.start());
  client = new SageMakerClient({});
  jest.spyOn(console, 'info').mockImplementation(() => undefined);
});

afterAll(async () => {
  await standin.stop();
  restoreEnv();
});

/** A new instance of the Training stack: its own stack id. */
function stackInstance(uuidTail: string): Instance {
  return {
    refs: {
      'AWS::StackId': `arn:aws:cloudformation:eu-west-1:123456789012:stack/DlPlatform-Training/0a1b2c3d-4e5f-4a6b-8c7d-${uuidTail}`,
      'AWS::StackName': 'DlPlatform-Training',
      'AWS::Region': 'eu-west-1',
      'AWS::AccountId': '123456789012',
      'AWS::Partition': 'aws',
      'AWS::URLSuffix': 'amazonaws.com',
    },
  };
}

function uuidTail(instance: Instance): string {
  return instance.refs['AWS::StackId'].slice(-12);
}

type Outcome = 'CREATE_COMPLETE' | 'CREATE_FAILED, ROLLBACK_COMPLETE' | 'ROLLBACK_FAILED';

/**
 * Creates the registry's part of one stack instance as CloudFormation would: the group, then the registration of a
 * model with `metrics`; when a resource fails, the rollback deletes what was created, newest first, except what a
 * DeletionPolicy keeps.
 */
async function createStack(
  instance: Instance,
  metrics: Record<string, number>,
): Promise<{ outcome: Outcome; reason?: string; groupName: string }> {
  const groupName = resolve(template, group.Properties!.ModelPackageGroupName, instance) as string;
  const created: (() => Promise<void>)[] = [];
  let reason: string | undefined;
  try {
    await client.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: groupName }));
    created.push(async () => {
      if (group.DeletionPolicy === 'Retain') return;
      await client.send(new DeleteModelPackageGroupCommand({ ModelPackageGroupName: groupName }));
    });
    // The training job's attributes, as the completed job of this instance would give them.
    const job = `${platform.training.trainingJobName.slice(0, -12)}${uuidTail(instance)}`;
    const properties = {
      ...deliveredProperties(registration as { Properties: Record<string, unknown> }),
      ModelPackageGroupName: groupName,
      TrainingJobName: job,
      FinalMetrics: JSON.stringify(metrics),
      ModelDataUrl: `s3://dlplatform-data-modelbucket/models/${job}/output/model.tar.gz`,
    };
    const event = { ...customResourceEvent('Create', registrationId, properties), ResourceType: 'Custom::ModelRegistration' } as Parameters<
      typeof onEvent
    >[0];
    const answer = await onEvent(event);
    expect(answer.Data?.ServingModelPackageArn).toMatch(new RegExp(`:model-package/${groupName.toLowerCase()}/\\d+$`));
    return { outcome: 'CREATE_COMPLETE', groupName };
  } catch (e) {
    reason = (e as Error).message;
  }
  // The registration's delete keeps every version (the handler's Delete is a no-op); then the group.
  for (const undo of created.reverse()) {
    try {
      await undo();
    } catch (e) {
      return { outcome: 'ROLLBACK_FAILED', reason: `${reason}; rollback: ${(e as Error).message}`, groupName };
    }
  }
  return { outcome: 'CREATE_FAILED, ROLLBACK_COMPLETE', reason, groupName };
}

const GATE_FAILS = { test_accuracy: 0.5 };
const GATE_PASSES = { test_accuracy: 0.99 };

describe.each<NonEmptyGroupDeletion>(['refuse', 'delete'])(
  'a first model below the bar, when SageMaker\'s answer to deleting a group with versions is "%s"',
  (answer) => {
    beforeAll(() => {
      standin.nonEmptyGroupDeletion = answer;
    });

    test('the rollback completes, the Rejected version stays on record, and the next deploy succeeds', async () => {
      const tail = answer === 'refuse' ? '00000000a001' : '00000000b001';
      const first = await createStack(stackInstance(tail), GATE_FAILS);
      expect(first.reason).toMatch(/Quality gate failed: test_accuracy 0\.5 is below the minimum 0\.95/);
      expect(first.outcome).toBe('CREATE_FAILED, ROLLBACK_COMPLETE');
      expect(standin.hasModelPackageGroup(first.groupName)).toBe(true);
      expect(standin.modelPackages(first.groupName).map((v) => v.status)).toEqual(['Rejected']);

      // `cdk deploy` again: CloudFormation makes a new instance of the stack (the failed one was deleted).
      const next = await createStack(stackInstance(tail.replace(/1$/, '2')), GATE_PASSES);
      expect(next.reason).toBeUndefined();
      expect(next.outcome).toBe('CREATE_COMPLETE');
      expect(next.groupName).not.toBe(first.groupName);
      expect(standin.modelPackages(next.groupName).map((v) => v.status)).toEqual(['Approved']);
    });
  },
);

test("the template the rehearsal reads is the platform's: one group, kept on delete and on replacement", () => {
  expect(groupId).toMatch(/^ModelRegistryGroup/);
  expect([group.DeletionPolicy, group.UpdateReplacePolicy]).toEqual(['Retain', 'Retain']);
});
