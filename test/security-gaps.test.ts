/**
 * The seven security gaps of issue 14, each closed: SageMaker's log groups, reserved Lambda concurrency, TLS
 * 1.2+ on the API, the sample upload confined to its prefix, source conditions on service access, WAF log
 * redaction, and a dead-letter queue with an alarm for the training-failure rule.
 */
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cxapi from 'aws-cdk-lib/cx-api';

import { proxyReservedConcurrency, reservationProblem } from '../constructs/private/lambda-concurrency';
import { API_ENDPOINT_ACCESS_MODE, API_SECURITY_POLICY } from '../constructs/serving/api-tls';
import { OBJECT_WRITE_ACTIONS } from '../constructs/training/training-job-sample-data';
import { ConfigError, loadConfig } from '../lib/config';
import { loadServiceModel } from '../local/api-model/service-model';
import { loadIamReference } from './support/iam-reference';
import { buildTestPlatform, contextWith } from './support/platform';

const NO_BUNDLING = { [cxapi.BUNDLING_STACKS]: [] };
type Resource = { Type: string; Properties: Record<string, unknown>; DependsOn?: string[]; DeletionPolicy?: string };

function platform(overrides: Record<string, unknown> = {}) {
  const { platform: p } = buildTestPlatform({ ...NO_BUNDLING, ...overrides });
  return {
    data: Template.fromStack(p.data),
    training: Template.fromStack(p.training),
    serving: Template.fromStack(p.serving),
    monitoring: Template.fromStack(p.monitoring),
    stacks: p,
  };
}

function only(template: Template, type: string, props: Record<string, unknown> = {}): [string, Resource] {
  const found = Object.entries(template.findResources(type, { Properties: Match.objectLike(props) })) as [string, Resource][];
  expect(found).toHaveLength(1);
  return found[0];
}

function statements(template: Template, type: string, property = 'PolicyDocument'): Record<string, unknown>[] {
  return Object.values(template.findResources(type)).flatMap(
    (r) => ((r as Resource).Properties[property] as { Statement: Record<string, unknown>[] }).Statement,
  );
}

const actionsOf = (s: Record<string, unknown>): string[] => [s.Action ?? []].flat() as string[];

describe('security gaps of issue 14', () => {
  const app = platform();

  describe("1. SageMaker's log groups", () => {
    test("the endpoint's /aws/sagemaker/Endpoints/<name> group is created before the endpoint: encrypted, retained, with retention", () => {
      const [, endpoint] = only(app.serving, 'AWS::SageMaker::Endpoint');
      const groups = (Object.entries(app.serving.findResources('AWS::Logs::LogGroup')) as [string, Resource][]).filter(([, r]) =>
        JSON.stringify(r.Properties.LogGroupName ?? '').includes('/aws/sagemaker/Endpoints/'),
      );
      expect(groups).toHaveLength(1);
      const [logGroupId, logGroup] = groups[0];
      const [first, ...rest] = (logGroup.Properties.LogGroupName as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1] as [
        string,
        ...unknown[],
      ];
      expect(first.startsWith('/aws/sagemaker/Endpoints/')).toBe(true);
      // The group's name is exactly the endpoint's, whichever way CloudFormation resolves it.
      expect({ 'Fn::Join': ['', [first.slice('/aws/sagemaker/Endpoints/'.length), ...rest]] }).toEqual(endpoint.Properties.EndpointName);
      expect(logGroup.DeletionPolicy).toBe('Retain');
      expect(logGroup.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^LogsKey/), 'Arn'] });
      expect(logGroup.Properties.RetentionInDays).toBe(365);
      expect(endpoint.DependsOn).toContain(logGroupId);
    });

    test("the endpoint's name carries the stack instance's id, so a redeploy after destroy never meets the kept group", () => {
      const [, endpoint] = only(app.serving, 'AWS::SageMaker::Endpoint');
      expect(JSON.stringify(endpoint.Properties.EndpointName)).toContain('"Ref":"AWS::StackId"');
      const [, ...parts] = (endpoint.Properties.EndpointName as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
      expect(parts.length).toBeGreaterThan(0);
    });

    test("the only log groups a serving role may create are the endpoint's own and, for the drift job, SageMaker's processing group; the model role writes only its group", () => {
      const all = statements(app.serving, 'AWS::IAM::Policy');
      const creates = all.filter((s) => actionsOf(s).includes('logs:CreateLogGroup'));
      expect(creates).toHaveLength(2);
      for (const r of [creates[0].Resource].flat()) expect(JSON.stringify(r)).toMatch(/"EndpointLogGroup[0-9A-F]+"/);
      // The drift check's job role, as every processing job's role: the group SageMaker writes by name (sagemaker-job-logs.ts).
      for (const r of [creates[1].Resource].flat()) expect(JSON.stringify(r)).toMatch(/:log-group:\/aws\/sagemaker\/ProcessingJobs(:\*)?"/);
      const writes = all.filter(
        (s) => actionsOf(s).includes('logs:PutLogEvents') && JSON.stringify(s.Resource ?? null).includes('EndpointLogGroup'),
      );
      expect(writes).toHaveLength(1);
    });

    test('by default SageMaker creates /aws/sagemaker/TrainingJobs; with manageTrainingLogGroup the stack does; the role may create that group alone either way', () => {
      const trainingActions = (t: Template) =>
        statements(t, 'AWS::IAM::Policy')
          .filter((s) => JSON.stringify(s.Resource ?? null).includes('/aws/sagemaker/TrainingJobs'))
          .flatMap(actionsOf);
      expect(trainingActions(app.training)).toContain('logs:CreateLogGroup');
      expect(app.training.findResources('AWS::Logs::LogGroup', { Properties: { LogGroupName: '/aws/sagemaker/TrainingJobs' } })).toEqual(
        {},
      );

      const managed = platform({ manageTrainingLogGroup: true });
      const [, group] = only(managed.training, 'AWS::Logs::LogGroup', { LogGroupName: '/aws/sagemaker/TrainingJobs' });
      expect(group.DeletionPolicy).toBe('Retain');
      expect(group.Properties.KmsKeyId).toBeDefined();
      expect(group.Properties.RetentionInDays).toBe(365);
      // AWS's execution-role policy lists logs:CreateLogGroup and does not say SageMaker skips it for an existing group.
      expect(trainingActions(managed.training)).toContain('logs:CreateLogGroup');
      const creates = statements(managed.training, 'AWS::IAM::Policy').filter((s) => actionsOf(s).includes('logs:CreateLogGroup'));
      expect(
        creates
          .flatMap((s) => [s.Resource].flat())
          .map((r) => JSON.stringify(r))
          .every((r) => /log-group:\/aws\/sagemaker\/(TrainingJobs|ProcessingJobs)(:\*)?"/.test(r)),
      ).toBe(true);
      expect(trainingActions(managed.training)).toContain('logs:PutLogEvents');
    });
  });

  describe('2. reserved Lambda concurrency (reserveLambdaConcurrency=true; off by default, see lambda-concurrency.test.ts)', () => {
    const reserved = platform({ reserveLambdaConcurrency: true, lambdaConcurrencyQuota: 1000 });

    test('the proxy reserves rate x its 27 s timeout, capped: 100 at the defaults, 54 at 2 requests/s', () => {
      expect(proxyReservedConcurrency(100, 27, 100)).toBe(100);
      expect(proxyReservedConcurrency(2, 27, 100)).toBe(54);
      only(reserved.serving, 'AWS::Lambda::Function', { ReservedConcurrentExecutions: 100, Timeout: 27 });
      const slow = platform({
        reserveLambdaConcurrency: true,
        lambdaConcurrencyQuota: 1000,
        apiThrottleRateLimit: 2,
        apiThrottleBurstLimit: 2,
      });
      only(slow.serving, 'AWS::Lambda::Function', { ReservedConcurrentExecutions: 54 });
    });

    test('the alarm responder reserves 5, so a saturated proxy cannot throttle incident handling', () => {
      only(reserved.monitoring, 'AWS::Lambda::Function', { ReservedConcurrentExecutions: 5, Handler: 'index.handler' });
    });

    test('synth refuses reservations that leave Lambda fewer than 100 unreserved executions, naming the settings', () => {
      expect(reservationProblem({ proxy: 100, responder: 5 }, 1000)).toBeUndefined();
      expect(reservationProblem({ proxy: 100, responder: 5 }, 200)).toMatch(/= 105\) must leave 100 of the account's 200 unreserved/);
      const load = () => loadConfig(contextWith({ reserveLambdaConcurrency: true, lambdaConcurrencyQuota: 150 }));
      expect(load).toThrow(ConfigError);
      expect(load).toThrow(/reserveLambdaConcurrency.*lambdaConcurrencyQuota \(150\).*inference proxy 100 \+ alarm responder 5 = 105/s);
      expect(() =>
        loadConfig(contextWith({ reserveLambdaConcurrency: true, lambdaConcurrencyQuota: 150, proxyReservedConcurrencyCap: 40 })),
      ).not.toThrow();
    });
  });

  describe('3. TLS 1.2 or newer on the API', () => {
    test('the REST API has a TLS 1.2+ security policy with STRICT endpoint access', () => {
      only(app.serving, 'AWS::ApiGateway::RestApi', { SecurityPolicy: 'SecurityPolicy_TLS13_1_2_2021_06', EndpointAccessMode: 'STRICT' });
    });

    test("both values are ones API Gateway's published API model (botocore) accepts", () => {
      const shapes = loadServiceModel('apigateway').shapes as Record<string, { enum?: string[] }>;
      expect(shapes.SecurityPolicy.enum).toContain(API_SECURITY_POLICY);
      expect(shapes.EndpointAccessMode.enum).toContain(API_ENDPOINT_ACCESS_MODE);
      // Neither legacy policy: TLS_1_0 allows TLS 1.0, and TLS_1_2 is the legacy name.
      expect(API_SECURITY_POLICY).toMatch(/^SecurityPolicy_TLS13_1_2_/);
    });
  });

  describe('4. the sample-data upload', () => {
    const denies = () => statements(app.training, 'AWS::IAM::Policy').filter((s) => s.Effect === 'Deny');

    test('may write and delete only under its own prefix, and may never delete an object version', () => {
      const outside = denies().find((s) => s.Sid === 'WriteOnlyUnderTheSamplePrefix')!;
      expect(actionsOf(outside).sort()).toEqual([...OBJECT_WRITE_ACTIONS].sort());
      expect(JSON.stringify(outside.NotResource)).toMatch(/\/datasets\/digits\/v1\/\*"/);
      const versions = denies().find((s) => s.Sid === 'NeverDeleteAnObjectVersion')!;
      expect(actionsOf(versions)).toEqual(['s3:DeleteObjectVersion']);
      expect(JSON.stringify(versions.Resource)).toMatch(/\/\*"/);
    });

    test("the deny covers every object write or delete that BucketDeployment's wildcard grants allow", () => {
      const s3Actions = Object.keys(loadIamReference().services.s3.actions).map((a) => `s3:${a}`);
      const allowed = statements(app.training, 'AWS::IAM::Policy')
        .filter((s) => s.Effect === 'Allow' && JSON.stringify(s.Resource ?? null).includes('DataBucket'))
        .flatMap(actionsOf)
        .flatMap((pattern) => s3Actions.filter((a) => new RegExp(`^${pattern.replace(/\*/g, '.*')}$`).test(a)));
      const objectWrites = allowed.filter((a) => /^s3:(PutObject|DeleteObject|AbortMultipartUpload)/.test(a));
      expect(objectWrites.length).toBeGreaterThan(3);
      expect(objectWrites.filter((a) => !OBJECT_WRITE_ACTIONS.includes(a))).toEqual([]);
    });
  });

  describe('5. source conditions on service access', () => {
    test("CloudWatch may use the monitoring key only for this account's platform alarms", () => {
      const keyStatements = statements(app.monitoring, 'AWS::KMS::Key', 'KeyPolicy');
      const cw = keyStatements.find((s) => s.Sid === 'CloudWatchAlarmsUseTheTopicKey')!;
      expect(cw.Condition).toEqual({
        ArnLike: { 'aws:SourceArn': expect.objectContaining({ 'Fn::Join': expect.anything() }) },
        StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
      });
      expect(JSON.stringify(cw.Condition)).toContain(':alarm:DlPlatform-Monitoring-*');
    });

    test("EventBridge's key use is bound by the topic policy: only the failure rule of this account may publish", () => {
      const topicStatements = statements(app.monitoring, 'AWS::SNS::TopicPolicy');
      const events = topicStatements.filter((s) => JSON.stringify(s.Principal).includes('events.amazonaws.com'));
      expect(events).toHaveLength(1);
      expect(events[0].Condition).toEqual({
        ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [expect.stringMatching(/^TrainingFailuresRule/), 'Arn'] } },
        StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
      });
      const keyStatements = statements(app.monitoring, 'AWS::KMS::Key', 'KeyPolicy');
      expect(keyStatements.filter((s) => JSON.stringify(s.Principal).includes('events.amazonaws.com')).map((s) => s.Sid)).toEqual([
        'EventBridgeRulesUseTheTopicKey',
      ]);
    });

    test.each([
      ['SageMaker model role', 'serving', 'sagemaker.amazonaws.com'],
      ['SageMaker training role', 'training', 'sagemaker.amazonaws.com'],
      ['Step Functions waiter role', 'training', 'states.amazonaws.com'],
    ] as const)('the %s trusts its service only on behalf of this account (aws:SourceAccount)', (_what, stack, service) => {
      const trusts = statements(app[stack], 'AWS::IAM::Role', 'AssumeRolePolicyDocument').filter((s) =>
        JSON.stringify(s.Principal).includes(service),
      );
      expect(trusts.length).toBeGreaterThan(0);
      for (const trust of trusts) expect(trust.Condition).toEqual({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } });
    });
  });

  describe('6. WAF logs', () => {
    test('redact the SigV4 signature and session token, the API key, and the query string', () => {
      const [, logging] = only(app.serving, 'AWS::WAFv2::LoggingConfiguration');
      expect(logging.Properties.RedactedFields).toEqual(
        expect.arrayContaining([
          { SingleHeader: { Name: 'authorization' } },
          { SingleHeader: { Name: 'x-amz-security-token' } },
          { SingleHeader: { Name: 'x-api-key' } },
          { QueryString: {} },
        ]),
      );
    });
  });

  describe('7. the failed-training rule', () => {
    test('sends what neither target took to an encrypted, TLS-only dead-letter queue that admits only the rule', () => {
      const [queueId, queue] = only(app.monitoring, 'AWS::SQS::Queue');
      expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
      const [, rule] = only(app.monitoring, 'AWS::Events::Rule');
      const targets = rule.Properties.Targets as Record<string, unknown>[];
      expect(targets).toHaveLength(2);
      for (const target of targets) expect(target.DeadLetterConfig).toEqual({ Arn: { 'Fn::GetAtt': [queueId, 'Arn'] } });
      const queuePolicy = statements(app.monitoring, 'AWS::SQS::QueuePolicy');
      expect(queuePolicy).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          expect.objectContaining({
            Effect: 'Allow',
            Action: 'sqs:SendMessage',
            Principal: { Service: 'events.amazonaws.com' },
            Condition: { ArnEquals: { 'aws:SourceArn': expect.anything() } },
          }),
        ]),
      );
    });

    test('alarms (to the responder and the topic) as soon as one event waits in the dead-letter queue', () => {
      const [queueId] = only(app.monitoring, 'AWS::SQS::Queue');
      const [, alarm] = only(app.monitoring, 'AWS::CloudWatch::Alarm', {
        MetricName: 'ApproximateNumberOfMessagesVisible',
        AlarmName: Match.stringLikeRegexp('training-events-undelivered$'),
      });
      expect(alarm.Properties).toMatchObject({
        Namespace: 'AWS/SQS',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
        AlarmName: 'DlPlatform-Monitoring-training-events-undelivered',
      });
      expect((alarm.Properties.AlarmActions as unknown[]).length).toBe(2);
    });
  });

  test('the stacks stay environment-agnostic', () => {
    expect(Stack.of(app.stacks.serving).environment).toBe('aws://unknown-account/unknown-region');
  });
});
