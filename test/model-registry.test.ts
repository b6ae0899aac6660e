/**
 * The ModelRegistry construct: the Model Package Group, the registration resource's properties, the serving
 * pointer (written by API calls, never an SSM resource) and the least-privilege grants.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';

import { approvalEventGroupNames, ModelRegistry } from '../constructs/training/model-registry';
import { CfnTemplate, Instance, resolve } from './support/cfn-template';
import { evaluate } from './support/training-job-events';

/** One instance of the stack as CloudFormation resolves it: its own stack id, ending in `uuidTail`. */
function instance(uuidTail: string): Instance {
  const refs = {
    'AWS::StackId': `arn:aws:cloudformation:eu-west-1:123456789012:stack/Training/0a1b2c3d-4e5f-4a6b-8c7d-${uuidTail}`,
    'AWS::StackName': 'Training',
    'AWS::Region': 'eu-west-1',
    'AWS::AccountId': '123456789012',
    'AWS::Partition': 'aws',
    'AWS::URLSuffix': 'amazonaws.com',
  };
  return {
    refs,
    getAtt: (id, attribute) => {
      if (id.startsWith('RegistryGroup') && attribute === 'ModelPackageGroupArn') {
        return `arn:aws:sagemaker:eu-west-1:123456789012:model-package-group/dlplatform-models-${uuidTail}`;
      }
      return `${id}.${attribute}`;
    },
  };
}
const FIRST = instance('0123456789ab');

function registry(change: Partial<ConstructorParameters<typeof ModelRegistry>[2]> = {}) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Training', { env: { account: '123456789012', region: 'eu-west-1' } });
  const construct = new ModelRegistry(stack, 'Registry', {
    groupNamePrefix: 'DlPlatform-models',
    model: {
      trainingJobName: 'dlplatform-training-0123456789abcdef',
      modelDataUrl: 's3://models/models/dlplatform-training-0123456789abcdef/output/model.tar.gz',
      finalMetrics: '{"test_accuracy":0.97}',
      imageUri: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/repo:tag',
      codeHash: 'tag',
      data: { identity: 'dlplatform-training-prepare-0123456789abcdef', reportUri: 's3://data/prepared/x/report/data-report.json' },
    },
    gate: { metric: 'test_accuracy', bar: 0.95, maxRegression: 0.01 },
    pointerParameterName: '/DlPlatform/serving/model-package-arn',
    ...change,
  });
  return { construct, stack, template: Template.fromStack(stack) };
}

describe('ModelRegistry', () => {
  const { construct, stack, template } = registry();
  const policies = template.findResources('AWS::IAM::Policy');
  const json = template.toJSON() as CfnTemplate;
  const [[groupId, group]] = Object.entries(template.findResources('AWS::SageMaker::ModelPackageGroup'));

  test('the Model Package Group is named per stack instance and never deleted by CloudFormation', () => {
    expect(resolve(json, group.Properties.ModelPackageGroupName, FIRST)).toBe('DlPlatform-models-0123456789ab');
    // The next instance of the stack (after a rolled-back first deploy or a destroy) names a group of its own.
    expect(resolve(json, group.Properties.ModelPackageGroupName, instance('ba9876543210'))).toBe('DlPlatform-models-ba9876543210');
    expect(group.DeletionPolicy).toBe('Retain');
    expect(group.UpdateReplacePolicy).toBe('Retain');
    // SageMaker's EntityName pattern and length (botocore's sagemaker model: 1 to 63 characters).
    expect(resolve(json, group.Properties.ModelPackageGroupName, FIRST)).toMatch(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/);
    expect(groupId).toMatch(/^RegistryGroup/);
  });

  test("registers after training with the gate, the approval mode and the model's identity", () => {
    const [registration] = Object.values(template.findResources('Custom::ModelRegistration'));
    expect(resolve(json, registration.Properties.ModelPackageGroupName, FIRST)).toBe('DlPlatform-models-0123456789ab');
    template.hasResourceProperties('Custom::ModelRegistration', {
      TrainingJobName: 'dlplatform-training-0123456789abcdef',
      QualityGate: JSON.stringify({ metric: 'test_accuracy', bar: 0.95, maxRegression: 0.01 }),
      Approval: 'automatic',
      CodeHash: 'tag',
      DataIdentity: 'dlplatform-training-prepare-0123456789abcdef',
    });
    expect(
      registry({ approval: 'manual' }).template.findResources('Custom::ModelRegistration', { Properties: { Approval: 'manual' } }),
    ).not.toEqual({});
  });

  test("the pointer is written by an API call at each registration, never an SSM resource; approvals move it through the serving stack's rollout", () => {
    for (const p of Object.values(template.findResources('AWS::SSM::Parameter'))) expect(p.Properties.Name).toBeUndefined();
    const [write] = Object.values(template.findResources('Custom::AWS'));
    const create = JSON.parse(evaluate(stack.resolve(write.Properties.Create)) as string);
    expect(create).toEqual(expect.objectContaining({ service: 'SSM', action: 'putParameter' }));
    expect(create.parameters).toEqual(
      expect.objectContaining({
        Name: '/DlPlatform/serving/model-package-arn',
        Type: 'String',
        Overwrite: true,
        // The registration's answer: the newest Approved version of the group.
        Value: expect.stringMatching(/^RegistryRegistration\w+\.ServingModelPackageArn$/),
      }),
    );
    // One writer after an approval: the rollout reconciler (test/rollout-reconciler.test.ts), not a state machine here.
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 0);
    template.resourceCountIs('AWS::Events::Rule', 0);
  });

  test("the names approval events may carry are the group's name as created and lowercased: AWS's example event does not show which", () => {
    // Each is an SSM parameter's Value, a whole value another stack reads by reference.
    const held = (ref: string) => {
      const [id] = (stack.resolve(ref) as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'];
      return resolve(json, json.Resources[id].Properties!.Value, FIRST);
    };
    expect(construct.shared.eventGroupNames.map(held)).toEqual(['DlPlatform-models-0123456789ab', 'dlplatform-models-0123456789ab']);
    expect(held(construct.shared.groupNameInArns)).toBe('dlplatform-models-0123456789ab');
    expect(held(construct.shared.groupName)).toBe('DlPlatform-models-0123456789ab');
    // A prefix in lowercase already needs one name only.
    expect(approvalEventGroupNames('models', 'abc')).toEqual(['models-abc']);
  });

  test("the handler may manage only its group's versions; the pointer writers only the pointer; no wildcard action", () => {
    const handler = Object.entries(policies)
      .filter(([id]) => id.startsWith('RegistryHandlerRole'))
      .flatMap(
        ([, p]) => resolve(json, p.Properties.PolicyDocument.Statement, FIRST) as { Action: string | string[]; Resource: unknown }[],
      );
    expect(handler).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Action: ['sagemaker:CreateModelPackage', 'sagemaker:DescribeModelPackage', 'sagemaker:UpdateModelPackage'],
          Resource: [
            'arn:aws:sagemaker:eu-west-1:123456789012:model-package/dlplatform-models-0123456789ab/*',
            'arn:aws:sagemaker:eu-west-1:123456789012:model-package-group/dlplatform-models-0123456789ab',
          ],
        }),
        expect.objectContaining({ Action: 'sagemaker:ListModelPackages', Resource: '*' }),
      ]),
    );
    const ssm = Object.values(policies)
      .flatMap((p) => evaluate(stack.resolve(p.Properties.PolicyDocument.Statement)) as { Action: string | string[]; Resource: unknown }[])
      .filter((s) => [s.Action].flat().some((a) => a.startsWith('ssm:')));
    expect(ssm.length).toBeGreaterThanOrEqual(1);
    for (const s of ssm) {
      expect(s.Action).toBe('ssm:PutParameter');
      expect([s.Resource].flat()).toEqual(['arn:aws:ssm:eu-west-1:123456789012:parameter/DlPlatform/serving/model-package-arn']);
    }
    for (const p of Object.values(policies)) {
      for (const s of stack.resolve(p.Properties.PolicyDocument.Statement) as { Action: string | string[] }[]) {
        expect([s.Action].flat().filter((a) => a.includes('*'))).toEqual([]);
      }
    }
    for (const role of Object.values(template.findResources('AWS::IAM::Role'))) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  });

  test("a pinned version's ARN is the group's numbered version, read from the group's ARN attribute", () => {
    const arn = stack.resolve(construct.versionArn(3));
    expect(JSON.stringify(arn)).toContain(`"Fn::GetAtt":["${groupId}","ModelPackageGroupArn"]`);
    expect(resolve(json, arn, FIRST)).toBe('arn:aws:sagemaker:eu-west-1:123456789012:model-package/dlplatform-models-0123456789ab/3');
  });

  test('refuses a group name prefix SageMaker would refuse, naming the prop', () => {
    expect(() => registry({ groupNamePrefix: 'bad_name' })).toThrow(
      /^ModelRegistry at Training\/Registry: invalid groupNamePrefix "bad_name"/,
    );
    expect(() => registry({ groupNamePrefix: 'x'.repeat(51) })).toThrow(/at most 50/);
    expect(() => registry({ pointerParameterName: 'no-slash' })).toThrow(
      /^ModelRegistry at Training\/Registry: invalid pointerParameterName/,
    );
  });

  test('the handler logs to its own encrypted-or-retained group as JSON', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.onEvent',
      Runtime: 'nodejs24.x',
      LoggingConfig: Match.objectLike({ LogFormat: 'JSON' }),
    });
  });
});
