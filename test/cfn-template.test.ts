/** The small template evaluator of test/support/cfn-template.ts, on templates written by hand. */
import { CfnTemplate, conditionValue, danglingReferences, Instance, resolve, withConditions } from './support/cfn-template';

const STACK_ID = 'arn:aws:cloudformation:eu-west-1:123456789012:stack/Demo/0a1b2c3d-4e5f-4a6b-8c7d-0123456789ab';

const template: CfnTemplate = {
  Parameters: { Pointer: { Type: 'String', Default: 'none' } },
  Conditions: {
    IsNone: { 'Fn::Equals': [{ Ref: 'Pointer' }, 'none'] },
    HasModel: { 'Fn::Not': [{ Condition: 'IsNone' }] },
    Both: { 'Fn::And': [{ Condition: 'HasModel' }, { 'Fn::Equals': ['a', 'a'] }] },
    Either: { 'Fn::Or': [{ Condition: 'IsNone' }, { Condition: 'HasModel' }] },
  },
  Resources: {
    Model: {
      Type: 'AWS::SageMaker::Model',
      Condition: 'HasModel',
      Properties: { PrimaryContainer: { ModelPackageName: { Ref: 'Pointer' } } },
    },
    Endpoint: { Type: 'AWS::SageMaker::Endpoint', Condition: 'HasModel', DependsOn: ['Model'], Properties: { EndpointName: 'e' } },
    Fn: {
      Type: 'AWS::Lambda::Function',
      Properties: {
        Environment: {
          Variables: { ENDPOINT: { 'Fn::If': ['HasModel', { 'Fn::GetAtt': ['Endpoint', 'EndpointName'] }, { Ref: 'AWS::NoValue' }] } },
        },
        Description: { 'Fn::Sub': 'serves ${Pointer} in ${AWS::Region}' },
      },
    },
  },
  Outputs: {
    Name: {
      Value: {
        'Fn::Join': [
          '-',
          ['x', { 'Fn::Select': [4, { 'Fn::Split': ['-', { 'Fn::Select': [2, { 'Fn::Split': ['/', { Ref: 'AWS::StackId' }] }] }] }] }],
        ],
      },
    },
    EndpointName: { Condition: 'HasModel', Value: { 'Fn::GetAtt': ['Endpoint', 'EndpointName'] } },
  },
};

const instance = (pointer: string): Instance => ({
  refs: { 'AWS::StackId': STACK_ID, 'AWS::Region': 'eu-west-1', Pointer: pointer },
  getAtt: (id, a) => `${id}/${a}`,
});

describe('the template evaluator', () => {
  test('evaluates conditions with Fn::Equals, Fn::Not, Fn::And, Fn::Or and Condition', () => {
    expect(conditionValue(template, 'IsNone', instance('none'))).toBe(true);
    expect(conditionValue(template, 'HasModel', instance('none'))).toBe(false);
    expect(conditionValue(template, 'Both', instance('arn:x'))).toBe(true);
    expect(conditionValue(template, 'Either', instance('arn:x'))).toBe(true);
    expect(() => conditionValue(template, 'Missing', instance('none'))).toThrow(/no condition Missing/);
  });

  test('resolves the stack-instance suffix CDK builds from AWS::StackId, and Fn::Sub, Fn::If and AWS::NoValue', () => {
    expect(resolve(template, template.Outputs!.Name.Value, instance('none'))).toBe('x-0123456789ab');
    expect(resolve(template, template.Resources.Fn.Properties, instance('arn:x'))).toEqual({
      Environment: { Variables: { ENDPOINT: 'Endpoint/EndpointName' } },
      Description: 'serves arn:x in eu-west-1',
    });
    expect(resolve(template, template.Resources.Fn.Properties, instance('none'))).toEqual({
      Environment: { Variables: {} },
      Description: 'serves none in eu-west-1',
    });
    expect(() => resolve(template, { Ref: 'Nothing' }, instance('none'))).toThrow(/Ref to Nothing/);
    expect(() => resolve(template, { 'Fn::Select': [3, ['a']] }, instance('none'))).toThrow(/out of range/);
  });

  test('drops what a false condition removes, and finds references left dangling', () => {
    const without = withConditions(template, instance('none'));
    expect(Object.keys(without.Resources)).toEqual(['Fn']);
    expect(Object.keys(without.Outputs ?? {})).toEqual(['Name']);
    expect(danglingReferences(without)).toEqual([]);
    expect(danglingReferences(withConditions(template, instance('arn:x')))).toEqual([]);
    // An unconditional output of a conditional resource is what CloudFormation refuses.
    const broken: CfnTemplate = {
      ...template,
      Outputs: { ...template.Outputs, Bad: { Value: { 'Fn::GetAtt': ['Endpoint', 'EndpointName'] } } },
    };
    expect(danglingReferences(withConditions(broken, instance('none')))).toEqual(['output Bad reads an attribute of Endpoint']);
    const dependsOn: CfnTemplate = {
      ...template,
      Resources: {
        ...template.Resources,
        Alarm: { Type: 'AWS::CloudWatch::Alarm', DependsOn: 'Endpoint', Properties: { A: { Ref: 'Model' } } },
      },
    };
    expect(danglingReferences(withConditions(dependsOn, instance('none')))).toEqual([
      'resource Alarm refers to Model',
      'resource Alarm depends on Endpoint',
    ]);
  });
});
