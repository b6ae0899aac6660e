import { Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as fs from 'fs';
import * as path from 'path';

import { RUNBOOK_SECTIONS } from '../constructs/monitoring/runtime/runbook';
import { TrainingFailureRule } from '../constructs/monitoring/training-failure-rule';
import { buildMonitoring, ROLLOUT_ARN, WEBHOOK_SECRET_ARN } from './support/monitoring';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- template JSON
type Resource = { Type: string; Properties: Record<string, any>; DependsOn?: string[] };

const { template } = buildMonitoring();
const resources = template.toJSON().Resources as Record<string, Resource>;
const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const alarms = ofType('AWS::CloudWatch::Alarm');
const alarmNamed = (name: string) => alarms.find(([, r]) => r.Properties.AlarmName === `DlPlatform-Monitoring-${name}`);
const [[responderId]] = ofType('AWS::Lambda::Function');
const [[topicId]] = ofType('AWS::SNS::Topic');
const [[ruleId, rule]] = ofType('AWS::Events::Rule');
const [[deadLetterQueueId]] = ofType('AWS::SQS::Queue');

const endpoint = [
  { Name: 'EndpointName', Value: 'dlplatform-endpoint' },
  { Name: 'VariantName', Value: 'AllTraffic' },
];
const api = [
  { Name: 'ApiName', Value: 'dlplatform-api' },
  { Name: 'Stage', Value: 'prod' },
];
const count = { comparison: 'GreaterThanOrEqualToThreshold', evaluationPeriods: 1, datapointsToAlarm: 1, missing: 'notBreaching' };
const latency = { comparison: 'GreaterThanThreshold', evaluationPeriods: 3, datapointsToAlarm: 2, missing: 'missing' };
const sustained = { comparison: 'GreaterThanThreshold', evaluationPeriods: 3, datapointsToAlarm: 3, missing: 'missing' };

/** Every alarm of the stack (CPU endpoint), with the thresholds of test/support/monitoring.ts. */
const EXPECTED = [
  {
    name: 'endpoint-5xx-errors',
    ns: 'AWS/SageMaker',
    metric: 'Invocation5XXErrors',
    stat: 'Sum',
    threshold: 7,
    dims: endpoint,
    section: RUNBOOK_SECTIONS.endpoint5xx,
    ...count,
  },
  {
    name: 'endpoint-4xx-errors',
    ns: 'AWS/SageMaker',
    metric: 'Invocation4XXErrors',
    stat: 'Sum',
    threshold: 70,
    dims: endpoint,
    section: RUNBOOK_SECTIONS.endpoint4xx,
    ...count,
  },
  // 250 ms, in the microseconds ModelLatency is reported in.
  {
    name: 'endpoint-model-latency-p99',
    ns: 'AWS/SageMaker',
    metric: 'ModelLatency',
    stat: 'p99',
    threshold: 250_000,
    dims: endpoint,
    section: RUNBOOK_SECTIONS.modelLatency,
    ...latency,
  },
  {
    name: 'endpoint-cpu-utilisation',
    ns: '/aws/sagemaker/Endpoints',
    metric: 'CPUUtilization',
    stat: 'Average',
    threshold: 150,
    dims: endpoint,
    section: RUNBOOK_SECTIONS.cpuUtilization,
    ...sustained,
  },
  {
    name: 'endpoint-memory-utilisation',
    ns: '/aws/sagemaker/Endpoints',
    metric: 'MemoryUtilization',
    stat: 'Average',
    threshold: 75,
    dims: endpoint,
    section: RUNBOOK_SECTIONS.memoryUtilization,
    ...sustained,
  },
  {
    name: 'api-5xx-errors',
    ns: 'AWS/ApiGateway',
    metric: '5XXError',
    stat: 'Sum',
    threshold: 3,
    dims: api,
    section: RUNBOOK_SECTIONS.api5xx,
    ...count,
  },
  {
    name: 'api-latency-p99',
    ns: 'AWS/ApiGateway',
    metric: 'Latency',
    stat: 'p99',
    threshold: 2500,
    dims: api,
    section: RUNBOOK_SECTIONS.apiLatency,
    ...latency,
  },
  {
    name: 'waf-blocked-requests',
    ns: 'AWS/WAFV2',
    metric: 'BlockedRequests',
    stat: 'Sum',
    threshold: 900,
    section: RUNBOOK_SECTIONS.wafBlocked,
    ...count,
    dims: [
      { Name: 'Region', Value: { Ref: 'AWS::Region' } },
      { Name: 'Rule', Value: 'ALL' },
      { Name: 'WebACL', Value: 'dlplatform-web-acl' },
    ],
  },
  {
    name: 'lambda-errors-dlplatform-proxy',
    ns: 'AWS/Lambda',
    metric: 'Errors',
    stat: 'Sum',
    threshold: 2,
    dims: [{ Name: 'FunctionName', Value: 'dlplatform-proxy' }],
    section: RUNBOOK_SECTIONS.lambdaErrors,
    ...count,
  },
  {
    name: 'lambda-throttles-dlplatform-proxy',
    ns: 'AWS/Lambda',
    metric: 'Throttles',
    stat: 'Sum',
    threshold: 4,
    dims: [{ Name: 'FunctionName', Value: 'dlplatform-proxy' }],
    section: RUNBOOK_SECTIONS.lambdaThrottles,
    ...count,
  },
  // A training-failure event that no target took waits in the rule's dead-letter queue.
  {
    name: 'training-events-undelivered',
    ns: 'AWS/SQS',
    metric: 'ApproximateNumberOfMessagesVisible',
    stat: 'Maximum',
    threshold: 1,
    section: RUNBOOK_SECTIONS.trainingFailed,
    ...count,
    dims: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [deadLetterQueueId, 'QueueName'] } }],
  },
  // An approval event that started no rollout waits in the rollout reconciler's dead-letter queue.
  {
    name: 'approval-events-undelivered',
    ns: 'AWS/SQS',
    metric: 'ApproximateNumberOfMessagesVisible',
    stat: 'Maximum',
    threshold: 1,
    section: RUNBOOK_SECTIONS.approvalUndelivered,
    ...count,
    dims: [{ Name: 'QueueName', Value: 'DlPlatform-Serving-RolloutDeadLetterQueue' }],
  },
];

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
const RUNBOOK_ANCHORS = fs
  .readFileSync(path.join(__dirname, '..', 'docs', 'runbook.md'), 'utf8')
  .split('\n')
  .filter((l) => l.startsWith('## '))
  .map((l) =>
    l
      .slice(3)
      .trim()
      .toLowerCase()
      .replace(/[^a-z0-9 -]/g, '')
      .replace(/ /g, '-'),
  );

describe('Monitoring alarms', () => {
  test('there is one alarm per expected metric, plus errors and throttles of the responder itself', () => {
    const names = alarms.map(([, r]) => r.Properties.AlarmName);
    expect(names.filter((n) => typeof n === 'string').sort()).toEqual(
      [...EXPECTED.map((e) => e.name), 'rollout-failed'].map((n) => `DlPlatform-Monitoring-${n}`).sort(),
    );
    // The responder's alarms carry its generated function name (a token).
    expect(names.filter((n) => typeof n !== 'string')).toHaveLength(2);
  });

  test.each(EXPECTED)('$name watches $ns $metric ($stat) against $threshold, missing data $missing', (e) => {
    const found = alarmNamed(e.name);
    expect(found).toBeDefined();
    const p = found![1].Properties;
    expect(p).toMatchObject({
      Namespace: e.ns,
      MetricName: e.metric,
      Period: 300,
      Threshold: e.threshold,
      ComparisonOperator: e.comparison,
      EvaluationPeriods: e.evaluationPeriods,
      DatapointsToAlarm: e.datapointsToAlarm,
      TreatMissingData: e.missing,
    });
    expect(p.Dimensions).toEqual(e.dims);
    expect(e.stat.startsWith('p') ? p.ExtendedStatistic : p.Statistic).toBe(e.stat);
    expect(p.AlarmDescription).toMatch(new RegExp(`\\nRunbook: https://git\\.example\\.com/platform/docs/runbook\\.md#${e.section}$`));
  });

  test("rollout-failed counts the rollout state machine's failed and timed-out executions, and alarms at one", () => {
    const p = alarmNamed('rollout-failed')![1].Properties;
    expect(p).toMatchObject({
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      TreatMissingData: 'notBreaching',
    });
    const stats = p.Metrics as {
      Id: string;
      Expression?: string;
      MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions: unknown }; Stat: string; Period: number };
    }[];
    expect(stats.find((m) => m.Expression)!.Expression).toBe('FILL(failed, 0) + FILL(timedOut, 0)');
    const dims = [{ Name: 'StateMachineArn', Value: ROLLOUT_ARN }];
    expect(
      stats
        .filter((m) => m.MetricStat)
        .map((m) => [
          m.Id,
          m.MetricStat!.Metric.Namespace,
          m.MetricStat!.Metric.MetricName,
          m.MetricStat!.Stat,
          m.MetricStat!.Period,
          m.MetricStat!.Metric.Dimensions,
        ]),
    ).toEqual([
      ['failed', 'AWS/States', 'ExecutionsFailed', 'Sum', 300, dims],
      ['timedOut', 'AWS/States', 'ExecutionsTimedOut', 'Sum', 300, dims],
    ]);
    expect(p.AlarmDescription).toMatch(/#rollout-failed$/);
  });

  test.each(alarms.map(([id]) => id))('%s invokes the responder and notifies the topic on ALARM and on OK', (id) => {
    const actions = [{ 'Fn::GetAtt': [responderId, 'Arn'] }, { Ref: topicId }];
    expect(resources[id].Properties.AlarmActions).toEqual(actions);
    expect(resources[id].Properties.OKActions).toEqual(actions);
  });

  test('the responder alarms watch the responder', () => {
    for (const metric of ['Errors', 'Throttles']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: metric,
        Namespace: 'AWS/Lambda',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: responderId } }],
      });
    }
  });

  test('a GPU endpoint is watched on GPU and GPU memory utilisation instead of CPU', () => {
    const gpu = buildMonitoring({ endpoint: { endpointName: 'dlplatform-endpoint', variantName: 'AllTraffic', hasGpu: true } }).template;
    const byMetric = (m: string) => gpu.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: m } });
    expect(Object.keys(byMetric('CPUUtilization'))).toHaveLength(0);
    expect(Object.values(byMetric('GPUUtilization'))[0].Properties).toMatchObject({
      Namespace: '/aws/sagemaker/Endpoints',
      Threshold: 90,
      Dimensions: endpoint,
    });
    expect(Object.values(byMetric('GPUMemoryUtilization'))[0].Properties).toMatchObject({
      Threshold: 95,
      AlarmDescription: expect.stringContaining('#endpoint-gpu-memory-utilisation'),
    });
    expect(Object.keys(byMetric('MemoryUtilization'))).toHaveLength(1);
  });

  test('parts that are not given get no alarms', () => {
    const bare = buildMonitoring({
      endpoint: undefined,
      api: undefined,
      webAcl: undefined,
      functions: [],
      trainingJobNamePrefix: undefined,
      rollout: undefined,
    }).template;
    const names = Object.values(bare.findResources('AWS::CloudWatch::Alarm'))
      .map((r) => r.Properties.MetricName)
      .sort();
    expect(names).toEqual(['Errors', 'Throttles']);
    bare.resourceCountIs('AWS::Events::Rule', 0);
  });

  test('a training-failure rule without a job name prefix is refused (it would match every job of the account)', () => {
    expect(() => new TrainingFailureRule(new Stack(), 'Rule', { jobNamePrefix: '' })).toThrow(
      /^TrainingFailureRule at Default\/Rule: invalid jobNamePrefix ""; allowed: a prefix that is not empty/,
    );
  });

  test('every runbook section an alarm or incident links to is a heading of docs/runbook.md', () => {
    expect(RUNBOOK_ANCHORS).toEqual(expect.arrayContaining(Object.values(RUNBOOK_SECTIONS)));
  });
});

describe('Responder invocation permissions', () => {
  const permissions = ofType('AWS::Lambda::Permission');
  const fromAlarms = permissions.filter(([, r]) => r.Properties.Principal === 'lambda.alarms.cloudwatch.amazonaws.com');

  test("each alarm has its own permission, scoped to that alarm's ARN and this account", () => {
    const alarmIds = alarms.map(([id]) => id).sort();
    expect(fromAlarms.map(([, r]) => r.Properties.SourceArn)).toEqual(
      expect.arrayContaining(alarmIds.map((id) => ({ 'Fn::GetAtt': [id, 'Arn'] }))),
    );
    expect(fromAlarms).toHaveLength(alarmIds.length);
    for (const [, r] of fromAlarms) {
      expect(r.Properties).toEqual({
        Action: 'lambda:InvokeFunction',
        FunctionName: { 'Fn::GetAtt': [responderId, 'Arn'] },
        Principal: 'lambda.alarms.cloudwatch.amazonaws.com',
        SourceAccount: { Ref: 'AWS::AccountId' },
        SourceArn: { 'Fn::GetAtt': [expect.any(String), 'Arn'] },
      });
    }
  });

  test('the only other permission admits the training-failure rule', () => {
    const others = permissions.filter(([, r]) => r.Properties.Principal !== 'lambda.alarms.cloudwatch.amazonaws.com');
    expect(others.map(([, r]) => r.Properties)).toEqual([
      {
        Action: 'lambda:InvokeFunction',
        FunctionName: { 'Fn::GetAtt': [responderId, 'Arn'] },
        Principal: 'events.amazonaws.com',
        SourceArn: { 'Fn::GetAtt': [ruleId, 'Arn'] },
      },
    ]);
  });
});

describe('Training failure rule', () => {
  test('matches failed training jobs of this platform only', () => {
    expect(rule.Properties.EventPattern).toEqual({
      source: ['aws.sagemaker'],
      'detail-type': ['SageMaker Training Job State Change'],
      detail: { TrainingJobStatus: ['Failed'], TrainingJobName: [{ prefix: 'dlplatform-train-' }] },
    });
  });

  test('invokes the responder with the raw event, and tells the topic in words with the runbook link', () => {
    const [toResponder, toTopic] = rule.Properties.Targets;
    expect(toResponder).toMatchObject({
      Arn: { 'Fn::GetAtt': [responderId, 'Arn'] },
      RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 86400 },
    });
    expect(toResponder.Input ?? toResponder.InputTransformer).toBeUndefined();
    expect(toTopic.Arn).toEqual({ Ref: topicId });
    expect(toTopic.InputTransformer.InputTemplate).toMatch(
      /failed: <detail-FailureReason>\. Runbook: https:\/\/git\.example\.com\/platform\/docs\/runbook\.md#training-job-failed/,
    );
  });
});

describe('Alarm topic', () => {
  const [[, policy]] = ofType('AWS::SNS::TopicPolicy');
  const statements = policy.Properties.PolicyDocument.Statement;

  test("is encrypted with the stack's customer-managed key", () => {
    expect(resources[topicId].Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^Key/), 'Arn'] });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true, Description: Match.stringLikeRegexp('alarm topic') });
  });

  test('its policy denies publishing without TLS', () => {
    expect(statements).toContainEqual({
      Sid: 'AllowPublishThroughSSLOnly',
      Effect: 'Deny',
      Principal: '*',
      Action: 'sns:Publish',
      Resource: { Ref: topicId },
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    });
  });

  test("its policy admits only this stack's alarms and the training-failure rule", () => {
    const allows = statements.filter((s: { Effect: string }) => s.Effect === 'Allow');
    expect(allows).toHaveLength(2);
    expect(allows).toEqual(
      expect.arrayContaining([
        {
          Sid: 'CloudWatchAlarmsPublish',
          Effect: 'Allow',
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: 'sns:Publish',
          Resource: { Ref: topicId },
          Condition: {
            ArnLike: {
              'aws:SourceArn': {
                'Fn::Join': [
                  '',
                  [
                    'arn:',
                    { Ref: 'AWS::Partition' },
                    ':cloudwatch:',
                    { Ref: 'AWS::Region' },
                    ':',
                    { Ref: 'AWS::AccountId' },
                    ':alarm:DlPlatform-Monitoring-*',
                  ],
                ],
              },
            },
            StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
          },
        },
        {
          Sid: expect.stringMatching(/^EventRule/),
          Effect: 'Allow',
          Principal: { Service: 'events.amazonaws.com' },
          Action: 'sns:Publish',
          Resource: { Ref: topicId },
          Condition: {
            ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [ruleId, 'Arn'] } },
            StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
          },
        },
      ]),
    );
  });

  test("its key lets CloudWatch (for this account's platform alarms only) and EventBridge encrypt what they publish, without wildcard actions", () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          {
            Sid: 'EventBridgeRulesUseTheTopicKey',
            Effect: 'Allow',
            Resource: '*',
            Principal: { Service: 'events.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          },
          {
            Sid: 'CloudWatchAlarmsUseTheTopicKey',
            Effect: 'Allow',
            Resource: '*',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
            Condition: {
              ArnLike: {
                'aws:SourceArn': {
                  'Fn::Join': [
                    '',
                    [
                      'arn:',
                      { Ref: 'AWS::Partition' },
                      ':cloudwatch:',
                      { Ref: 'AWS::Region' },
                      ':',
                      { Ref: 'AWS::AccountId' },
                      ':alarm:DlPlatform-Monitoring-*',
                    ],
                  ],
                },
              },
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
            },
          },
        ]),
      },
    });
  });

  test('the configured emails are subscribed', () => {
    const emails = ofType('AWS::SNS::Subscription').map(([, r]) => r.Properties);
    expect(emails).toEqual(
      expect.arrayContaining([
        { Protocol: 'email', Endpoint: 'oncall@example.com', TopicArn: { Ref: topicId } },
        { Protocol: 'email', Endpoint: 'ml-team@example.com', TopicArn: { Ref: topicId } },
      ]),
    );
    expect(emails).toHaveLength(2);
  });
});

describe('Alarm responder', () => {
  const fn = resources[responderId].Properties;
  const [[, role]] = ofType('AWS::IAM::Policy');
  const statements = role.Properties.PolicyDocument.Statement;

  test('is Node.js 24 on arm64 with JSON logs to a KMS-encrypted log group kept a year', () => {
    expect(fn).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: expect.stringMatching(/^ResponderLogGroup/) } },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      RetentionInDays: 365,
      KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^LogsKey'), 'Arn'] },
    });
  });

  test('knows its table, the runbook and the webhook secret ARN (never the URL)', () => {
    expect(fn.Environment.Variables).toEqual({
      DEDUPE_TABLE_NAME: { Ref: expect.stringMatching(/^ResponderDedupeTable/) },
      DEDUPE_TTL_SECONDS: '172800',
      RUNBOOK_URL: 'https://git.example.com/platform/docs/runbook.md',
      WEBHOOK_TIMEOUT_MS: '5000',
      WEBHOOK_SECRET_ARN: WEBHOOK_SECRET_ARN,
    });
  });

  test('bounds its wait: the timeout covers the webhook wait plus the other calls', () => {
    expect(fn.Timeout).toBe(25);
  });

  test('failed invocations are retried twice, then published to the topic', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: responderId },
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 21600,
      DestinationConfig: { OnFailure: { Destination: { Ref: topicId } } },
    });
  });

  test('its role may only write its logs, claim in its table, use its key, read the one secret and publish to the topic', () => {
    // Exactly these statements, in any order (aws-cdk-lib orders them by when each grant was made).
    expect(statements).toHaveLength(6);
    expect(statements).toEqual(
      expect.arrayContaining([
        {
          Effect: 'Allow',
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: { 'Fn::GetAtt': [expect.stringMatching(/^ResponderLogGroup/), 'Arn'] },
        },
        // Active tracing: X-Ray's two write actions support no resource scope.
        { Effect: 'Allow', Action: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], Resource: '*' },
        {
          Effect: 'Allow',
          Action: ['dynamodb:DeleteItem', 'dynamodb:PutItem'],
          Resource: { 'Fn::GetAtt': [expect.stringMatching(/^ResponderDedupeTable/), 'Arn'] },
        },
        {
          Effect: 'Allow',
          Action: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'],
          Resource: { 'Fn::GetAtt': [expect.stringMatching(/^Key/), 'Arn'] },
        },
        { Effect: 'Allow', Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'], Resource: WEBHOOK_SECRET_ARN },
        { Effect: 'Allow', Action: 'sns:Publish', Resource: { Ref: topicId } },
      ]),
    );
    template.hasResourceProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
  });

  test('no policy of the stack grants a wildcard action', () => {
    const actions = JSON.stringify(template.toJSON()).match(/"Action":(\[[^\]]*\]|"[^"]*")/g) ?? [];
    // kms:* is the key's own administrator statement; sqs:* is the dead-letter queue's deny of non-TLS requests.
    expect(actions.filter((a) => a.includes('*') && !a.includes('"kms:*"') && a !== '"Action":"sqs:*"')).toEqual([]);
    expect(JSON.stringify(template.toJSON())).toMatch(
      /"Action":"sqs:\*","Condition":\{"Bool":\{"aws:SecureTransport":"false"\}\},"Effect":"Deny"/,
    );
  });

  test('without a webhook secret the responder gets no Secrets Manager access', () => {
    const t = buildMonitoring({ webhookSecretArn: undefined }).template;
    expect(JSON.stringify(t.toJSON())).not.toContain('secretsmanager');
  });

  test('its dedupe table is KMS-encrypted, has point-in-time recovery and expires claims by TTL', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] } },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
  });
});

describe('Dashboard', () => {
  const [[, dashboard]] = ofType('AWS::CloudWatch::Dashboard');
  // The body is a Fn::Join of strings and references; references are rendered as their logical ids.
  const body = (dashboard.Properties.DashboardBody['Fn::Join'][1] as unknown[])
    .map((part) => (typeof part === 'string' ? part : `<${JSON.stringify(part)}>`))
    .join('');

  test.each([
    [
      'the API',
      [
        '"AWS/ApiGateway","Count"',
        '"AWS/ApiGateway","4XXError"',
        '"AWS/ApiGateway","5XXError"',
        '"AWS/ApiGateway","Latency"',
        '"AWS/ApiGateway","IntegrationLatency"',
      ],
    ],
    [
      'the endpoint',
      [
        '"AWS/SageMaker","Invocations"',
        '"AWS/SageMaker","Invocation5XXErrors"',
        '"AWS/SageMaker","ModelLatency"',
        '"/aws/sagemaker/Endpoints","CPUUtilization"',
        '"/aws/sagemaker/Endpoints","MemoryUtilization"',
      ],
    ],
    ['WAF', ['"AWS/WAFV2","AllowedRequests"', '"AWS/WAFV2","BlockedRequests"']],
    [
      'the Lambda functions',
      [
        '"AWS/Lambda","Invocations","FunctionName","dlplatform-proxy"',
        '"AWS/Lambda","Errors","FunctionName","dlplatform-proxy"',
        '"AWS/Lambda","Duration","FunctionName","dlplatform-proxy"',
      ],
    ],
    [
      'training',
      [
        '"AWS/Events","TriggeredRules"',
        'SEARCH(\'{/aws/sagemaker/TrainingJobs,Host} \\"dlplatform-train\\"',
        'SEARCH(\'{/aws/sagemaker/TrainingJobs,TrainingJobName} \\"dlplatform-train\\"',
      ],
    ],
    [
      'rollouts after approval',
      [
        '"AWS/States","ExecutionsSucceeded","StateMachineArn"',
        '"AWS/States","ExecutionsFailed","StateMachineArn"',
        '"AWS/States","ExecutionsTimedOut","StateMachineArn"',
        '"title":"Served version and rollout outcomes (newest first)"',
        "SOURCE 'DlPlatform-Serving-RolloutLogs'",
        'filter type in [\\"ExecutionSucceeded\\", \\"ExecutionFailed\\"',
      ],
    ],
  ])('shows %s', (_part, needles) => {
    for (const needle of needles) expect(body).toContain(needle);
  });

  test('shows the state of every alarm', () => {
    for (const [id] of alarms) expect(body).toContain(`<{"Fn::GetAtt":["${id}","Arn"]}>`);
  });
});
