/**
 * Every IAM statement the app synthesizes, checked against AWS's Service Authorization Reference (the pinned
 * extract in test/reference/, refreshed by `npm run refresh:iam-reference`): actions exist, service condition
 * keys exist, are not deprecated and apply to each action of their statement. Plus proof the check catches what
 * it is for, starting with the deprecated key that kept every training job from starting.
 */
import { Template } from 'aws-cdk-lib/assertions';

import { IAM_FLOYD_VERSION, parseStatementProvider, SERVICES } from '../scripts/refresh-iam-reference';
import { CheckResult, checkStatements, describeFindings, loadIamReference, LocatedStatement, statementsOf } from './support/iam-reference';
import { REFERENCE_EXCEPTIONS } from './support/iam-reference-exceptions';
import { buildTestPlatform, stacksOf } from './support/platform';

const reference = loadIamReference();

/** The statements of every stack of the platform built with these settings (bundling skipped: policies only). */
function appStatements(overrides: Record<string, unknown> = {}): LocatedStatement[] {
  const { platform } = buildTestPlatform({ 'aws:cdk:bundling-stacks': [], ...overrides });
  return stacksOf(platform).flatMap((stack) => statementsOf(stack.stackName, Template.fromStack(stack).toJSON()));
}

const check = (statements: LocatedStatement[]): CheckResult => checkStatements(statements, reference, REFERENCE_EXCEPTIONS);
const one = (statement: Record<string, unknown>): LocatedStatement[] => [
  { location: 'Test/Policy PolicyDocument.Statement[0]', statement },
];

/** Settings that add the optional statements: VPC training (ec2), a webhook secret (secretsmanager), API keys, a pinned environment. */
const EVERY_OPTION = {
  account: '123456789012',
  region: 'eu-west-1',
  dataSourceUri: 's3://my-datasets/digits/2024',
  trainingSubnetIds: ['subnet-0123456789abcdef0'],
  trainingSecurityGroupIds: ['sg-0123456789abcdef0'],
  apiAuth: 'api-key',
  alarmEmails: 'ops@example.com',
  webhookSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:incident-webhook-AbCdEf',
};

describe('IAM statements against the Service Authorization Reference', () => {
  const defaults = check(appStatements());
  const options = check(appStatements(EVERY_OPTION));

  test.each([
    ['the default settings', defaults],
    ['every optional feature on', options],
  ])('with %s, every action exists and every service condition key is current and applies to its actions', (_what, result) => {
    expect(describeFindings(result.findings)).toEqual([]);
    // The check saw the policies: identity, trust, key, bucket and topic policies and Lambda permissions.
    expect(result.counts.statements).toBeGreaterThan(50);
    expect(result.counts.conditionKeys - result.counts.globalConditionKeys).toBeGreaterThan(5);
    console.log(`IAM reference check (${_what}): ${JSON.stringify(result.counts)}`);
  });

  test('each documented exception still excuses a statement of the app (none outlives its statement)', () => {
    const used = new Set([...defaults.usedExceptions, ...options.usedExceptions]);
    expect(REFERENCE_EXCEPTIONS.filter((e) => !used.has(e)).map((e) => e.url)).toEqual([]);
    for (const e of REFERENCE_EXCEPTIONS) expect(e.url).toMatch(/^https:\/\/(docs\.aws\.amazon\.com|repost\.aws)\//);
  });

  test('reports the deprecated sagemaker:OutputKmsKey condition that denied every CreateTrainingJob', () => {
    const findings = check(
      one({
        Effect: 'Allow',
        Action: 'sagemaker:CreateTrainingJob',
        Resource: 'arn:aws:sagemaker:eu-west-1:123456789012:training-job/dlplatform-training-*',
        Condition: {
          Bool: { 'sagemaker:NetworkIsolation': 'true' },
          StringEquals: { 'sagemaker:OutputKmsKey': 'arn:aws:kms:eu-west-1:123456789012:key/k' },
        },
      }),
    ).findings;
    expect(findings.map((f) => [f.kind, f.conditionKey, f.action])).toEqual([
      ['deprecated-condition-key', 'sagemaker:OutputKmsKey', undefined],
      ['condition-key-not-applicable', 'sagemaker:OutputKmsKey', 'sagemaker:CreateTrainingJob'],
    ]);
    expect(findings[0].message).toContain('replaced by sagemaker:OutputKmsKeyArn');
  });

  test('accepts the replacement keys on CreateTrainingJob', () => {
    expect(
      check(
        one({
          Effect: 'Allow',
          Action: 'sagemaker:CreateTrainingJob',
          Resource: '*',
          Condition: {
            ArnEquals: {
              'sagemaker:OutputKmsKeyArn': 'arn:aws:kms:eu-west-1:123456789012:key/k',
              'sagemaker:VolumeKmsKeyArn': 'arn:aws:kms:eu-west-1:123456789012:key/k',
            },
          },
        }),
      ).findings,
    ).toEqual([]);
  });

  test('reports an action no service has, a wildcard that matches nothing, and a service outside the reference', () => {
    const findings = check(
      one({
        Effect: 'Allow',
        Action: ['sagemaker:CreateTrainingJobs', 's3:GetObjekt*', 'notaservice:DoIt', 's3:GetObject'],
        Resource: '*',
      }),
    ).findings;
    expect(findings.map((f) => [f.kind, f.action])).toEqual([
      ['unknown-action', 'sagemaker:CreateTrainingJobs'],
      ['unknown-action', 's3:GetObjekt*'],
      ['unknown-service', 'notaservice:DoIt'],
    ]);
    expect(findings[2].message).toContain('npm run refresh:iam-reference');
  });

  test('reports an undefined service condition key, and accepts global aws: keys on any action', () => {
    const findings = check(
      one({
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: '*',
        Condition: { StringEquals: { 's3:ObjectOwner': 'me', 'aws:PrincipalAccount': '123456789012' } },
      }),
    ).findings;
    expect(findings.map((f) => [f.kind, f.conditionKey])).toEqual([['unknown-condition-key', 's3:ObjectOwner']]);
  });

  test('reports a key on one action of its statement it does not apply to, unless the operator ends in IfExists', () => {
    const statement = {
      Effect: 'Allow',
      Action: ['s3:ListBucket', 's3:GetObject'],
      Resource: '*',
      Condition: { StringLike: { 's3:prefix': 'data/*' } },
    };
    expect(check(one(statement)).findings.map((f) => [f.kind, f.action])).toEqual([['condition-key-not-applicable', 's3:GetObject']]);
    expect(check(one({ ...statement, Condition: { StringLikeIfExists: { 's3:prefix': 'data/*' } } })).findings).toEqual([]);
  });

  test('expands wildcard actions and checks the key against each action they match', () => {
    const findings = check(
      one({
        Effect: 'Allow',
        Action: 'kms:Describe*',
        Resource: '*',
        Condition: { StringEquals: { 'kms:EncryptionContext:purpose': 'x' } },
      }),
    ).findings;
    expect(findings.map((f) => f.action)).toEqual(['kms:DescribeCustomKeyStores', 'kms:DescribeKey']);
  });

  test('an exception excuses only its own pattern: the Logs key statement for another principal is reported', () => {
    const statement = {
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:DescribeKey'],
      Resource: '*',
      Condition: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': 'arn:aws:logs:eu-west-1:123456789012:log-group:*' } },
    };
    expect(check(one({ ...statement, Principal: { Service: 'logs.eu-west-1.amazonaws.com' } })).findings).toEqual([]);
    expect(check(one({ ...statement, Principal: { Service: 'events.amazonaws.com' } })).findings.map((f) => f.action)).toEqual([
      'kms:DescribeKey',
    ]);
  });
});

describe('reading statements from a template', () => {
  const template = {
    Resources: {
      Role: {
        Type: 'AWS::IAM::Role',
        Properties: {
          AssumeRolePolicyDocument: {
            Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: 'lambda.amazonaws.com' } }],
          },
          Policies: [{ PolicyName: 'inline', PolicyDocument: { Statement: { Effect: 'Allow', Action: 'sns:Publish', Resource: '*' } } }],
        },
      },
      Key: { Type: 'AWS::KMS::Key', Properties: { KeyPolicy: { Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] } } },
      LogsPolicy: {
        Type: 'AWS::Logs::ResourcePolicy',
        Properties: {
          PolicyName: 'p',
          PolicyDocument: {
            'Fn::Join': [
              '',
              [
                '{"Statement":[{"Effect":"Allow","Action":"logs:PutLogEvent","Resource":"arn:aws:logs:',
                { Ref: 'AWS::Region' },
                ':1:log-group:x:*"}]}',
              ],
            ],
          },
        },
      },
      Permission: {
        Type: 'AWS::Lambda::Permission',
        Properties: { Action: 'lambda:InvokeFunction', FunctionName: 'f', Principal: 'events.amazonaws.com' },
      },
      Maybe: {
        Type: 'AWS::IAM::Policy',
        Properties: { PolicyName: 'm', PolicyDocument: { 'Fn::If': ['C', { Statement: [] }, { Ref: 'AWS::NoValue' }] } },
      },
    },
  };

  test('finds trust, inline, key, Logs resource policies (an Fn::Join string too) and Lambda permissions, and says which it cannot read', () => {
    const statements = statementsOf('S', template);
    expect(statements.map((s) => s.location)).toEqual([
      'S/Role AssumeRolePolicyDocument.Statement[0]',
      'S/Role Policies[0].PolicyDocument.Statement[0]',
      'S/Key KeyPolicy.Statement[0]',
      'S/LogsPolicy PolicyDocument.Statement[0]',
      'S/Permission Action',
      'S/Maybe PolicyDocument',
    ]);
    // logs:PutLogEvent (no s) does not exist: the check reads inside the joined string.
    expect(check(statements).findings.map((f) => [f.kind, f.location])).toEqual([
      ['unknown-action', 'S/LogsPolicy PolicyDocument.Statement[0]'],
      ['unreadable-policy', 'S/Maybe PolicyDocument'],
    ]);
  });
});

describe('the reference data', () => {
  test('is the pinned iam-floyd release, for exactly the services the refresh script lists', () => {
    expect(reference.source).toEqual(expect.objectContaining({ package: 'iam-floyd', version: IAM_FLOYD_VERSION }));
    expect(Object.keys(reference.services).sort()).toEqual([...SERVICES].sort());
    expect(reference.services.sagemaker.actions.CreateTrainingJob).toBe('Write');
    expect(reference.services.kms.conditionKeys['kms:CustomerMasterKeySpec'].deprecated).toMatch(/deprecated/);
  });

  test("the refresh script reads actions, access levels, keys, the actions they apply to and deprecations from iam-floyd's generated code", () => {
    // The shape of iam-floyd's lib/generated/policy-statements/<service>.js, cut down to two actions and three keys.
    const source = `class Demo extends shared_1.PolicyStatement {
    constructor(sid) {
        super(sid);
        this.servicePrefix = 'demo';
        this.accessLevelList = {
            Write: [
                'CreateThing'
            ],
            'Permissions management': [
                'PutThingPolicy'
            ]
        };
    }
    /**
     * Filters access by the kms key. This key has been deprecated. It has been replaced by demo:KmsKeyArn
     *
     * @param value The value(s) to check
     */
    ifKmsKey(value, operator) {
        return this.if(\`KmsKey\`, value, operator ?? 'ArnLike');
    }
    /**
     * Filters access by the kms key ARN
     *
     * Applies to actions:
     * - .toCreateThing()
     * - .toPutThingPolicy()
     *
     * @param value The value(s) to check
     */
    ifKmsKeyArn(value, operator) {
        return this.if(\`KmsKeyArn\`, value, operator ?? 'ArnLike');
    }
    /**
     * Filters access by the tags in the request
     *
     * Applies to actions:
     * - .toCreateThing()
     *
     * @param tagKey The tag key to check
     */
    ifAwsRequestTag(tagKey, value, operator) {
        return this.if(\`aws:RequestTag/\${tagKey}\`, value, operator ?? 'StringLike');
    }
}`;
    expect(parseStatementProvider(source, 'demo.js')).toEqual({
      prefix: 'demo',
      service: {
        actions: { CreateThing: 'Write', PutThingPolicy: 'Permissions management' },
        conditionKeys: {
          'demo:KmsKey': {
            actions: [],
            deprecated: 'Filters access by the kms key. This key has been deprecated. It has been replaced by demo:KmsKeyArn',
          },
          'demo:KmsKeyArn': { actions: ['CreateThing', 'PutThingPolicy'] },
        },
      },
    });
  });
});
