/**
 * Issue 17, defect 6: with modelApproval=manual the first registration leaves no Approved version, so the serving
 * pointer reads "none". The first `cdk deploy --all` must still succeed (Serving and then Monitoring) and serve
 * nothing: the Serving stack creates no model, endpoint config, endpoint or autoscaling while the pointer reads
 * "none", and its proxy answers 503. Checked on the synthesized templates with the condition evaluated both ways:
 * what remains must hold no reference CloudFormation cannot resolve.
 */
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';

import { NO_APPROVED_VERSION } from '../constructs/training/runtime/model-registration-contract';
import { CfnTemplate, conditionValue, danglingReferences, Instance, withConditions } from './support/cfn-template';
import { buildTestPlatform, stacksOf } from './support/platform';

const { platform } = buildTestPlatform({ modelApproval: 'manual' });
const serving = Template.fromStack(platform.serving).toJSON() as CfnTemplate;
const APPROVED = 'arn:aws:sagemaker:eu-west-1:123456789012:model-package/dlplatform-models-0123456789ab/1';

/** The Serving stack deployed while the pointer (its SSM-typed parameter) reads `pointer`. */
function deployedWith(pointer: string): Instance {
  return {
    refs: {
      ServedModelPackage: pointer,
      'AWS::StackId': 'arn:aws:cloudformation:eu-west-1:123456789012:stack/DlPlatform-Serving/0a1b2c3d-4e5f-4a6b-8c7d-0123456789ab',
    },
  };
}

const SERVING_TYPES = ['AWS::SageMaker::Model', 'AWS::SageMaker::EndpointConfig', 'AWS::SageMaker::Endpoint'];
const typesOf = (t: CfnTemplate) => Object.values(t.Resources).map((r) => r.Type);
const proxyEnvironment = (t: CfnTemplate) => {
  const [proxy] = Object.values(t.Resources).filter(
    (r) => r.Type === 'AWS::Lambda::Function' && JSON.stringify(r.Properties?.Environment ?? {}).includes('ENDPOINT_NAME'),
  );
  return (proxy.Properties!.Environment as { Variables: Record<string, unknown> }).Variables;
};

describe('the first deploy with modelApproval=manual, before any version is approved', () => {
  const none = withConditions(serving, deployedWith(NO_APPROVED_VERSION));

  test('the pointer\'s "none" is the value the registration step writes while no version is approved', () => {
    expect(serving.Parameters?.ServedModelPackage).toEqual(
      expect.objectContaining({ Type: 'AWS::SSM::Parameter::Value<String>', Default: '/DlPlatform/serving/model-package-arn' }),
    );
    expect(conditionValue(serving, 'HasApprovedModel', deployedWith(NO_APPROVED_VERSION))).toBe(false);
    expect(conditionValue(serving, 'HasApprovedModel', deployedWith(APPROVED))).toBe(true);
  });

  test('the Serving stack serves nothing: no model, endpoint config, endpoint or autoscaling', () => {
    for (const type of [...SERVING_TYPES, 'AWS::ApplicationAutoScaling::ScalableTarget', 'AWS::ApplicationAutoScaling::ScalingPolicy']) {
      expect(typesOf(none)).not.toContain(type);
    }
    // Nothing asks SageMaker for a model package named "none".
    expect(JSON.stringify(none.Resources)).not.toContain('"ModelPackageName"');
  });

  test('what it deploys resolves: no reference to a resource the condition left out', () => {
    expect(danglingReferences(none)).toEqual([]);
  });

  test('the API stays up, and its proxy knows there is no endpoint (503, no model approved)', () => {
    expect(typesOf(none)).toEqual(expect.arrayContaining(['AWS::ApiGateway::RestApi', 'AWS::WAFv2::WebACL', 'AWS::Lambda::Function']));
    expect(proxyEnvironment(none).ENDPOINT_DEPLOYED).toBe('false');
  });

  test('the Monitoring stack names nothing of Serving that the condition leaves out', () => {
    const monitoring = Template.fromStack(platform.monitoring).toJSON();
    const conditional = Object.entries(serving.Resources)
      .filter(([, r]) => r.Condition)
      .map(([id]) => id);
    expect(conditional.length).toBeGreaterThanOrEqual(3);
    for (const id of conditional) expect(JSON.stringify(monitoring)).not.toContain(id);
    expect(danglingReferences(monitoring as CfnTemplate)).toEqual([]);
  });
});

describe('after a version is approved (the pointer names it) the next deploy serves it', () => {
  const approved = withConditions(serving, deployedWith(APPROVED));

  test('the model serves the version the pointer names, behind the endpoint and its autoscaling', () => {
    expect(typesOf(approved)).toEqual(expect.arrayContaining([...SERVING_TYPES, 'AWS::ApplicationAutoScaling::ScalableTarget']));
    const [model] = Object.values(approved.Resources).filter((r) => r.Type === 'AWS::SageMaker::Model');
    expect((model.Properties!.PrimaryContainer as { ModelPackageName: unknown }).ModelPackageName).toEqual({ Ref: 'ServedModelPackage' });
    expect(proxyEnvironment(approved).ENDPOINT_DEPLOYED).toBe('true');
    expect(danglingReferences(approved)).toEqual([]);
  });
});

test('every stack of the platform resolves with its conditions either way, in both approval modes', () => {
  for (const mode of ['manual', 'automatic']) {
    const { platform: p } = buildTestPlatform({ modelApproval: mode });
    for (const stack of stacksOf(p)) {
      const t = Template.fromStack(stack as Stack).toJSON() as CfnTemplate;
      const names = Object.keys(t.Conditions ?? {});
      const pointers = t.Parameters?.ServedModelPackage ? [NO_APPROVED_VERSION, APPROVED] : [''];
      for (const pointer of pointers) {
        const resolved = names.length > 0 ? withConditions(t, deployedWith(pointer)) : t;
        expect({ stack: stack.stackName, mode, pointer, dangling: danglingReferences(resolved) }).toEqual({
          stack: stack.stackName,
          mode,
          pointer,
          dangling: [],
        });
      }
    }
  }
});
