import { Template } from 'aws-cdk-lib/assertions';

import { buildTestPlatform, stableTemplate } from './support/platform';

/** The platform's Monitoring stack as bin/app.ts builds it: wiring and configuration (the constructs: monitoring-alarms.test.ts). */
describe('Monitoring stack', () => {
  const { app, platform } = buildTestPlatform();
  const template = Template.fromStack(platform.monitoring);
  const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((r) => r.Properties);
  const resolve = (v: unknown) => platform.monitoring.resolve(v);
  const byMetric = (name: string) => alarms.filter((p) => p.MetricName === name);
  /** What a value of the Monitoring template is, read in the Serving template when it is that stack's output. */
  const inServing = (value: { 'Fn::GetStackOutput'?: { StackName: string; OutputName: string } }) => {
    const ref = value['Fn::GetStackOutput'];
    if (ref?.StackName !== platform.serving.stackName) return { notAnOutputOfServing: value };
    return Template.fromStack(platform.serving).toJSON().Outputs[ref.OutputName]?.Value;
  };

  test("watches the serving stack's endpoint variant, API stage and web ACL", () => {
    // The endpoint's name is the Serving stack's output of the endpoint's EndpointName attribute. A name resolved in
    // this stack (as this test once did) is wrong whenever it is built from a pseudo parameter such as AWS::StackId:
    // CloudFormation resolves that in the Monitoring template, to the Monitoring stack's own id.
    // The endpoint is conditional (HasApprovedModel), so its name crosses as the Value of a parameter that always exists.
    const [parameterId] = Object.keys(Template.fromStack(platform.serving).findResources('AWS::SSM::Parameter'));
    for (const metric of ['Invocation5XXErrors', 'Invocation4XXErrors', 'ModelLatency', 'CPUUtilization', 'MemoryUtilization']) {
      const [dimensions, ...others] = byMetric(metric).map((p) => p.Dimensions);
      expect(others).toEqual([]);
      expect(dimensions.map((d: { Name: string }) => d.Name)).toEqual(['EndpointName', 'VariantName']);
      expect(inServing(dimensions[0].Value)).toEqual({ 'Fn::GetAtt': [parameterId, 'Value'] });
      expect(dimensions[1].Value).toEqual(resolve(platform.serving.variantName));
    }
    const api = [
      { Name: 'ApiName', Value: resolve(platform.serving.api.restApiName) },
      { Name: 'Stage', Value: resolve(platform.serving.stage.stageName) },
    ];
    expect(byMetric('5XXError').map((p) => p.Dimensions)).toEqual([api]);
    expect(byMetric('Latency').map((p) => p.Dimensions)).toEqual([api]);
    expect(byMetric('BlockedRequests')[0].Dimensions).toContainEqual({ Name: 'WebACL', Value: resolve(platform.serving.waf.webAclName) });
  });

  test('every Lambda function of training, serving and monitoring has an errors and a throttles alarm', () => {
    const functions = [...platform.training.functions, ...platform.serving.functions, platform.monitoring.responder.function];
    for (const metric of ['Errors', 'Throttles']) {
      const watched = byMetric(metric).map((p) => JSON.stringify(p.Dimensions));
      expect(watched.sort()).toEqual(
        functions.map((fn) => JSON.stringify([{ Name: 'FunctionName', Value: resolve(fn.functionName) }])).sort(),
      );
    }
  });

  test("the training-failure rule filters on the training stack's job name prefix", () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { detail: { TrainingJobStatus: ['Failed'], TrainingJobName: [{ prefix: resolve(platform.training.jobNamePrefix) }] } },
    });
  });

  test("alarms at one message waiting in the rollout's approval dead-letter queue, linking its runbook section", () => {
    const [alarm] = byMetric('ApproximateNumberOfMessagesVisible').filter(
      (p) => p.AlarmName === 'DlPlatform-Monitoring-approval-events-undelivered',
    );
    expect(alarm).toMatchObject({
      Namespace: 'AWS/SQS',
      Statistic: 'Maximum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    expect(alarm.Dimensions).toEqual([{ Name: 'QueueName', Value: resolve(platform.serving.rollout!.deadLetterQueue.queueName) }]);
    expect(alarm.AlarmDescription).toMatch(/#model-approval-undelivered$/);
  });

  test('alarms at one failed or timed-out rollout, linking its runbook section', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'))
      .map((r) => r.Properties)
      .filter((p) => p.AlarmName === 'DlPlatform-Monitoring-rollout-failed');
    expect(alarms).toHaveLength(1);
    const [alarm] = alarms;
    expect(alarm).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching' });
    const metrics = (alarm.Metrics as { Id: string; MetricStat?: { Metric: { MetricName: string; Namespace: string } } }[])
      .filter((m) => m.MetricStat)
      .map((m) => `${m.MetricStat!.Metric.Namespace}/${m.MetricStat!.Metric.MetricName}`)
      .sort();
    expect(metrics).toEqual(['AWS/States/ExecutionsFailed', 'AWS/States/ExecutionsTimedOut']);
    expect(alarm.AlarmDescription).toMatch(/#rollout-failed$/);
  });

  test('thresholds, the GPU choice, emails, the webhook secret and the runbook URL come from the configuration', () => {
    const secret = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:hook-AbCdEf';
    const { platform: p } = buildTestPlatform({
      alarmModelLatencyP99Ms: '250',
      alarmApiLatencyP99Ms: '2000',
      alarmEndpoint5xxCount: '9',
      alarmWafBlockedCount: '42',
      servingInstanceType: 'ml.g5.xlarge',
      alarmGpuUtilizationPercent: '95',
      alarmEmails: 'a@example.com,b@example.com',
      webhookSecretArn: secret,
      runbookUrl: 'https://git.example.com/p/docs/runbook.md',
    });
    const t = Template.fromStack(p.monitoring);
    const threshold = (metric: string) =>
      Object.values(t.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: metric } })).map((r) => r.Properties.Threshold);
    expect(threshold('ModelLatency')).toEqual([250_000]);
    expect(threshold('Latency')).toEqual([2000]);
    expect(threshold('Invocation5XXErrors')).toEqual([9]);
    expect(threshold('BlockedRequests')).toEqual([42]);
    expect(threshold('GPUUtilization')).toEqual([95]);
    expect(threshold('CPUUtilization')).toEqual([]);
    t.resourcePropertiesCountIs('AWS::SNS::Subscription', { Protocol: 'email' }, 2);
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { WEBHOOK_SECRET_ARN: secret, RUNBOOK_URL: 'https://git.example.com/p/docs/runbook.md' } },
    });
  });

  test('by default no webhook is configured and nobody is subscribed', () => {
    template.resourceCountIs('AWS::SNS::Subscription', 0);
    expect(JSON.stringify(template.toJSON())).not.toContain('secretsmanager');
  });

  test('deploys after the training and serving stacks it watches', () => {
    const stack = app.synth().getStackByName(platform.monitoring.stackName);
    expect(stack.dependencies.map((d) => d.id)).toEqual(expect.arrayContaining([platform.training.stackName, platform.serving.stackName]));
  });

  test('matches the snapshot', () => {
    expect(stableTemplate(platform.monitoring)).toMatchSnapshot();
  });
});
