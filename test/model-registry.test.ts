/**
 * The ModelRegistry construct: the Model Package Group, the registration resource's properties, the serving
 * pointer (written by API calls, never an SSM resource) and the least-privilege grants.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { ModelRegistry } from '../constructs/training/model-registry';
import { evaluate } from './support/training-job-events';

function registry(change: Partial<ConstructorParameters<typeof ModelRegistry>[2]> = {}) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Training', { env: { account: '123456789012', region: 'eu-west-1' } });
  const construct = new ModelRegistry(stack, 'Registry', {
    groupName: 'DlPlatform-models',
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
  const statementsOf = (prefix: string) => Object.entries(policies).filter(([id]) => id.startsWith(prefix))
    .flatMap(([, p]) => evaluate(stack.resolve(p.Properties.PolicyDocument.Statement)) as { Action: string | string[]; Resource: unknown }[]);

  test('defines the Model Package Group the versions join', () => {
    template.hasResourceProperties('AWS::SageMaker::ModelPackageGroup', { ModelPackageGroupName: 'DlPlatform-models' });
  });

  test('registers after training with the gate, the approval mode and the model\'s identity', () => {
    template.hasResourceProperties('Custom::ModelRegistration', {
      ModelPackageGroupName: 'DlPlatform-models',
      TrainingJobName: 'dlplatform-training-0123456789abcdef',
      QualityGate: JSON.stringify({ metric: 'test_accuracy', bar: 0.95, maxRegression: 0.01 }),
      Approval: 'automatic',
      CodeHash: 'tag',
      DataIdentity: 'dlplatform-training-prepare-0123456789abcdef',
    });
    expect(registry({ approval: 'manual' }).template.findResources('Custom::ModelRegistration', { Properties: { Approval: 'manual' } })).not.toEqual({});
  });

  test('the pointer is written by API calls (deploy-time registration and approval events), never an SSM resource', () => {
    template.resourceCountIs('AWS::SSM::Parameter', 0);
    const [write] = Object.values(template.findResources('Custom::AWS'));
    const create = JSON.parse(evaluate(stack.resolve(write.Properties.Create)) as string);
    expect(create).toEqual(expect.objectContaining({ service: 'SSM', action: 'putParameter' }));
    expect(create.parameters).toEqual(expect.objectContaining({
      Name: '/DlPlatform/serving/model-package-arn', Type: 'String', Overwrite: true,
      // The registration's answer: the newest Approved version of the group.
      Value: expect.stringMatching(/^RegistryRegistration\w+\.ServingModelPackageArn$/),
    }));
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.sagemaker'], 'detail-type': ['SageMaker Model Package State Change'],
        detail: { ModelPackageGroupName: ['DlPlatform-models'], ModelApprovalStatus: ['Approved'] },
      },
    });
    const [machine] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
    const definition = JSON.parse(evaluate(stack.resolve(machine.Properties.DefinitionString)) as string);
    expect(definition.States.PutPointer).toEqual(expect.objectContaining({
      Resource: 'arn:aws:states:::aws-sdk:ssm:putParameter',
      Parameters: { 'Name': '/DlPlatform/serving/model-package-arn', 'Value.$': '$.detail.ModelPackageArn', 'Type': 'String', 'Overwrite': true },
    }));
  });

  test('the handler may manage only its group\'s versions; the pointer writers only the pointer; no wildcard action', () => {
    const handler = statementsOf('RegistryHandlerRole');
    expect(handler).toEqual(expect.arrayContaining([
      expect.objectContaining({
        Action: ['sagemaker:CreateModelPackage', 'sagemaker:DescribeModelPackage', 'sagemaker:UpdateModelPackage'],
        Resource: [
          'arn:aws:sagemaker:eu-west-1:123456789012:model-package/dlplatform-models/*',
          'arn:aws:sagemaker:eu-west-1:123456789012:model-package-group/dlplatform-models',
        ],
      }),
      expect.objectContaining({ Action: 'sagemaker:ListModelPackages', Resource: '*' }),
    ]));
    const ssm = Object.values(policies).flatMap((p) => evaluate(stack.resolve(p.Properties.PolicyDocument.Statement)) as { Action: string | string[]; Resource: unknown }[])
      .filter((s) => [s.Action].flat().some((a) => a.startsWith('ssm:')));
    expect(ssm.length).toBeGreaterThanOrEqual(2);
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

  test('a pinned version\'s ARN is the group\'s numbered version', () => {
    expect(evaluate(stack.resolve(construct.versionArn(3)))).toBe('arn:aws:sagemaker:eu-west-1:123456789012:model-package/dlplatform-models/3');
  });

  test('refuses a group name SageMaker would refuse, naming the prop', () => {
    expect(() => registry({ groupName: 'bad_name' })).toThrow(/^ModelRegistry at Training\/Registry: invalid groupName "bad_name"/);
    expect(() => registry({ pointerParameterName: 'no-slash' })).toThrow(/^ModelRegistry at Training\/Registry: invalid pointerParameterName/);
  });

  test('the handler logs to its own encrypted-or-retained group as JSON', () => {
    template.hasResourceProperties('AWS::Lambda::Function', { Handler: 'index.onEvent', Runtime: 'nodejs24.x', LoggingConfig: Match.objectLike({ LogFormat: 'JSON' }) });
  });
});
