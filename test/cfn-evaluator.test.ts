/**
 * The deploy rehearsal's template evaluator (local/state-machine/cfn-evaluator.ts) on small hand-made templates: per-stack
 * pseudo parameters, Ref and GetAtt by CloudFormation's return values, Sub/Join/Select/Split/If, conditions,
 * exports and stack outputs evaluated in the producing stack, SSM-typed parameters, and clear errors.
 */
import { CfnDeployment, CfnEvaluationError, newCounts, StackInput, TemplateJson } from '../local/state-machine/cfn-evaluator';
import { RESOURCE_TYPES } from '../local/state-machine/cfn-resource-types';
import { nameProperties, resourceSchema } from './support/cfn-schemas';
import { globsIntersect } from './support/glob';

const stack = (stackName: string, template: TemplateJson, env: Partial<StackInput> = {}): StackInput => ({ stackName, template, ...env });
const value = (d: CfnDeployment, name: string, v: unknown) => d.stack(name).evaluate(v, 'test');

/** The last group of the stack id's UUID, as constructs/private/stack-instance.ts builds it. */
const SUFFIX = { 'Fn::Select': [4, { 'Fn::Split': ['-', { 'Fn::Select': [2, { 'Fn::Split': ['/', { Ref: 'AWS::StackId' }] }] }] }] };

describe('pseudo parameters', () => {
  const d = new CfnDeployment([stack('A', {}), stack('B', {}, { account: '123456789012', region: 'eu-west-1' })]);

  test("each stack has its own stack id (its own UUID) and name; environment-agnostic stacks get the deployment's account and region", () => {
    const [a, b] = [value(d, 'A', { Ref: 'AWS::StackId' }), value(d, 'B', { Ref: 'AWS::StackId' })] as string[];
    expect(a).toMatch(
      /^arn:aws:cloudformation:us-east-2:111122223333:stack\/A\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );
    expect(b).toMatch(/^arn:aws:cloudformation:eu-west-1:123456789012:stack\/B\//);
    expect(a.split('/')[2]).not.toBe(b.split('/')[2]);
    expect(value(d, 'B', { 'Fn::Sub': '${AWS::StackName} ${AWS::Region} ${AWS::AccountId} ${AWS::Partition} ${AWS::URLSuffix}' })).toBe(
      'B eu-west-1 123456789012 aws amazonaws.com',
    );
  });

  test('the stack-instance suffix is the last group of the UUID, different in every stack', () => {
    const a = value(d, 'A', SUFFIX) as string;
    expect(a).toMatch(/^[0-9a-f]{12}$/);
    expect((value(d, 'A', { Ref: 'AWS::StackId' }) as string).endsWith(a)).toBe(true);
    expect(value(d, 'B', SUFFIX)).not.toBe(a);
  });
});

describe('Ref and Fn::GetAtt return what CloudFormation documents', () => {
  const template: TemplateJson = {
    Resources: {
      Named: { Type: 'AWS::Lambda::Function', Properties: { FunctionName: { 'Fn::Join': ['-', ['fn', SUFFIX]] } } },
      Unnamed: { Type: 'AWS::Lambda::Function', Properties: {} },
      Queue: { Type: 'AWS::SQS::Queue', Properties: {} },
      Rule: { Type: 'AWS::Events::Rule', Properties: { Name: 'my-rule' } },
      Stage: { Type: 'AWS::ApiGateway::Stage', Properties: { StageName: 'v1', RestApiId: { Ref: 'Api' } } },
      Api: { Type: 'AWS::ApiGateway::RestApi', Properties: { Name: 'api' } },
      Acl: { Type: 'AWS::WAFv2::WebACL', Properties: { Name: 'acl', Scope: 'REGIONAL' } },
      Logs: { Type: 'AWS::Logs::LogGroup', Properties: { LogGroupName: '/my/logs' } },
      Job: { Type: 'Custom::Job', Properties: {} },
    },
  };
  const d = new CfnDeployment([stack('S', template)]);
  const s = d.stack('S');

  test("a named function: Ref is its name, GetAtt Arn its ARN, with the stack's own suffix", () => {
    const name = value(d, 'S', { Ref: 'Named' });
    expect(name).toBe(`fn-${value(d, 'S', SUFFIX)}`);
    expect(value(d, 'S', { 'Fn::GetAtt': ['Named', 'Arn'] })).toBe(`arn:aws:lambda:us-east-2:111122223333:function:${name}`);
  });

  test('an unnamed one gets the name CloudFormation generates: stack name, logical id, a random part', () => {
    expect(value(d, 'S', { Ref: 'Unnamed' })).toMatch(/^S-Unnamed-[0-9A-F]{12}$/);
    expect(value(d, 'S', { 'Fn::GetAtt': ['Queue', 'QueueName'] })).toMatch(/^S-Queue-[0-9A-F]{12}$/);
    expect(value(d, 'S', { Ref: 'Queue' })).toBe(`https://sqs.us-east-2.amazonaws.com/111122223333/${s.physicalName('Queue')}`);
  });

  test("the exceptions to \"Ref returns the primary identifier\": a rule's name, a stage's name, a web ACL's name|id|scope", () => {
    expect(value(d, 'S', { Ref: 'Rule' })).toBe('my-rule');
    expect(value(d, 'S', { 'Fn::GetAtt': ['Rule', 'Arn'] })).toBe('arn:aws:events:us-east-2:111122223333:rule/my-rule');
    expect(value(d, 'S', { Ref: 'Stage' })).toBe('v1');
    expect(s.arn('Stage')).toBe(`arn:aws:apigateway:us-east-2::/restapis/${s.generatedId('Api')}/stages/v1`);
    expect(value(d, 'S', { Ref: 'Acl' })).toBe(`acl|${s.generatedId('Acl')}|REGIONAL`);
  });

  test('a log group\'s GetAtt Arn ends in ":*"; its streams are named by its ARNs too', () => {
    expect(value(d, 'S', { 'Fn::GetAtt': ['Logs', 'Arn'] })).toBe('arn:aws:logs:us-east-2:111122223333:log-group:/my/logs:*');
    expect(s.arns('Logs')).toContain('arn:aws:logs:us-east-2:111122223333:log-group:/my/logs:log-stream:*');
  });

  test("a custom resource's attributes are opaque: only the deployment knows them", () => {
    expect(value(d, 'S', { 'Fn::GetAtt': ['Job', 'Name'] })).toBe('{{opaque:S/Job.Name}}');
  });

  test('every listed type has a CloudFormation schema, and its name property is one the schema says names it', () => {
    const wrong = Object.entries(RESOURCE_TYPES)
      .filter(
        ([type, rule]) => !resourceSchema(type) || (rule.nameProperty !== undefined && !nameProperties(type).includes(rule.nameProperty)),
      )
      .map(([type]) => type);
    expect(wrong).toEqual([]);
  });
});

describe('functions and conditions', () => {
  const template: TemplateJson = {
    Parameters: {
      Env: { Type: 'String', Default: 'prod' },
      Pointer: { Type: 'AWS::SSM::Parameter::Value<String>', Default: '/app/pointer' },
    },
    Mappings: { Sizes: { prod: { Count: 3 } } },
    Conditions: {
      IsProd: { 'Fn::Equals': [{ Ref: 'Env' }, 'prod'] },
      IsDev: { 'Fn::Not': [{ Condition: 'IsProd' }] },
      Both: { 'Fn::And': [{ Condition: 'IsProd' }, { 'Fn::Or': [{ Condition: 'IsDev' }, true] }] },
    },
    Resources: {
      Fn: { Type: 'AWS::Lambda::Function', Properties: { FunctionName: 'fn' } },
      DevOnly: { Type: 'AWS::SQS::Queue', Condition: 'IsDev', Properties: {} },
    },
  };
  const d = new CfnDeployment([stack('S', template)]);

  test('Fn::Sub resolves parameters, resources, attributes and its own variables, and keeps ${!Literal}', () => {
    expect(value(d, 'S', { 'Fn::Sub': ['${Env}/${Fn}/${Fn.Arn}/${X}/${!Keep}', { X: { Ref: 'AWS::Region' } }] })).toBe(
      'prod/fn/arn:aws:lambda:us-east-2:111122223333:function:fn/us-east-2/${Keep}',
    );
  });

  test('Join, Select, Split, FindInMap, GetAZs, Base64', () => {
    expect(
      value(d, 'S', {
        'Fn::Join': [
          ',',
          [{ 'Fn::Select': [1, { 'Fn::Split': ['/', 'a/b/c'] }] }, { 'Fn::FindInMap': ['Sizes', { Ref: 'Env' }, 'Count'] }],
        ],
      }),
    ).toBe('b,3');
    expect(value(d, 'S', { 'Fn::GetAZs': '' })).toEqual(['us-east-2a', 'us-east-2b', 'us-east-2c']);
    expect(value(d, 'S', { 'Fn::Base64': 'hi' })).toBe('aGk=');
  });

  test("Fn::If by the template's conditions; AWS::NoValue drops the key or the element; a false Condition drops the resource", () => {
    expect(
      value(d, 'S', {
        A: { 'Fn::If': ['IsProd', 1, 2] },
        B: { 'Fn::If': ['IsDev', 1, { Ref: 'AWS::NoValue' }] },
        C: [1, { 'Fn::If': ['Both', { Ref: 'AWS::NoValue' }, 2] }],
      }),
    ).toEqual({ A: 1, C: [1] });
    expect(d.stack('S').resourceIds()).toEqual(['Fn']);
  });

  test('an SSM-typed parameter is a placeholder naming the parameter, and the read is recorded', () => {
    expect(value(d, 'S', { Ref: 'Pointer' })).toBe('{{ssm:/app/pointer}}');
    expect(d.ssmReads).toEqual([{ stack: 'S', parameter: 'Pointer', name: '/app/pointer' }]);
  });

  test('told what SSM holds, an SSM-typed parameter evaluates to the value of the parameter it names; the read is still recorded', () => {
    const told = new CfnDeployment([stack('S', template)], undefined, {
      '/app/pointer': 'arn:aws:sagemaker:us-east-2:111122223333:model-package/g/3',
      '/other': 'x',
    });
    expect(value(told, 'S', { 'Fn::Sub': 'serving ${Pointer}' })).toBe(
      'serving arn:aws:sagemaker:us-east-2:111122223333:model-package/g/3',
    );
    expect(told.ssmReads).toEqual([{ stack: 'S', parameter: 'Pointer', name: '/app/pointer' }]);
    // A value for another name changes nothing here.
    expect(value(new CfnDeployment([stack('S', template)], undefined, { '/other': 'x' }), 'S', { Ref: 'Pointer' })).toBe(
      '{{ssm:/app/pointer}}',
    );
  });
});

describe('across stacks', () => {
  const producer: TemplateJson = {
    Resources: { Endpoint: { Type: 'AWS::SageMaker::Endpoint', Properties: { EndpointName: { 'Fn::Join': ['-', ['ep', SUFFIX]] } } } },
    Outputs: {
      Name: { Value: { 'Fn::GetAtt': ['Endpoint', 'EndpointName'] } },
      Exported: { Value: { Ref: 'AWS::StackName' }, Export: { Name: { 'Fn::Sub': '${AWS::StackName}-name' } } },
    },
  };
  const d = new CfnDeployment([stack('Producer', producer), stack('Consumer', {})]);

  test("Fn::GetStackOutput evaluates the output in the producing stack: its suffix, not the consumer's", () => {
    const read = value(d, 'Consumer', {
      'Fn::GetStackOutput': { StackName: 'Producer', OutputName: 'Name', Region: { Ref: 'AWS::Region' } },
    });
    expect(read).toBe(`ep-${value(d, 'Producer', SUFFIX)}`);
    // The same string built in the consumer (what a name from the unscoped AWS::StackId did) is another name.
    expect(value(d, 'Consumer', { 'Fn::Join': ['-', ['ep', SUFFIX]] })).not.toBe(read);
  });

  test('Fn::ImportValue finds the export by its evaluated name', () => {
    expect(value(d, 'Consumer', { 'Fn::ImportValue': 'Producer-name' })).toBe('Producer');
  });

  test('the counts tally each kind of reference met', () => {
    const counts = newCounts();
    d.stack('Consumer').evaluate(
      [
        { 'Fn::GetStackOutput': { StackName: 'Producer', OutputName: 'Name' } },
        { 'Fn::ImportValue': 'Producer-name' },
        { Ref: 'AWS::Region' },
      ],
      't',
      counts,
    );
    expect(counts).toMatchObject({ getStackOutput: 1, importValue: 1, pseudo: 1 });
  });

  test('a reference to nothing is an error naming the stack, the path and what is missing', () => {
    const fails = (v: unknown, message: RegExp | typeof CfnEvaluationError) => expect(() => value(d, 'Consumer', v)).toThrow(message);
    fails({ 'Fn::GetStackOutput': { StackName: 'Producer', OutputName: 'Missing' } }, /stack Producer has no output Missing/);
    fails({ 'Fn::GetStackOutput': { StackName: 'Nope', OutputName: 'Name' } }, /no stack named Nope/);
    fails({ 'Fn::GetStackOutput': { StackName: 'Producer', OutputName: 'Name', Region: 'eu-north-1' } }, /deployed in us-east-2/);
    fails({ 'Fn::ImportValue': 'nothing' }, /no stack exports nothing/);
    fails({ Ref: 'Endpoint' }, /^Consumer test.Ref: Ref to Endpoint, which is neither a parameter nor a resource/);
    fails({ 'Fn::GetAtt': ['Endpoint', 'EndpointName'] }, /Fn::GetAtt of Endpoint, which is no resource/);
    fails({ 'Fn::Cidr': ['10.0.0.0/16', 2, 8] }, CfnEvaluationError);
  });

  test('a name that depends on itself is an error, not a loop', () => {
    const loop = new CfnDeployment([
      stack('L', { Resources: { Q: { Type: 'AWS::SQS::Queue', Properties: { QueueName: { 'Fn::GetAtt': ['Q', 'QueueName'] } } } } }),
    ]);
    expect(() => loop.stack('L').physicalName('Q')).toThrow(/circular reference through name of Q/);
  });
});

describe('globs', () => {
  test('match as IAM does, and two globs intersect when some string matches both', () => {
    expect(globsIntersect('arn:aws:s3:::b/models/job-*', 'arn:aws:s3:::b/models/job-1/output/model.tar.gz')).toBe(true);
    expect(globsIntersect('arn:aws:s3:::b/models/job-*/output/*', 'arn:aws:s3:::b/models*')).toBe(true);
    expect(globsIntersect('arn:aws:s3:::b/prepared/*', 'arn:aws:s3:::b/models*')).toBe(false);
    expect(globsIntersect('a?c', 'abc')).toBe(true);
    expect(globsIntersect('abc', 'abd')).toBe(false);
  });
});
