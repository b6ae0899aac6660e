/**
 * What starts the retraining pipeline: a completion marker under the raw data (one S3 Object Created rule, so a
 * many-file upload starts one run), a schedule (EventBridge Scheduler, off by default), an alarm (the drift alarms
 * with retrainOnDrift: a rule in the Monitoring stack, evaluated across the stacks as CloudFormation would), and
 * `npm run retrain` (run for real against moto: the stack's output, then StartExecution). And what reports a
 * failed run: the failed-runs alarm, whose actions are the responder's.
 */
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { CreateStateMachineCommand, DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';

import { parseRetrainArguments, pipelineArn, startRetraining } from '../bin/retrain';
import { AlarmRetrainingTrigger } from '../constructs/training/alarm-retraining-trigger';
import { OUTCOME_EVENT } from '../constructs/training/retraining-pipeline';
import { loadConfig } from '../lib/config';
import { CfnDeployment } from '../local/state-machine/cfn-evaluator';
import { stacksOfApp } from './support/deploy-rehearsal';
import { MotoServer, startMoto } from './support/moto-server';
import { buildTestPlatform } from './support/platform';

jest.setTimeout(120_000);

function resourcesOf(template: Template, type: string): Record<string, { Properties: Record<string, unknown> }> {
  return template.findResources(type) as Record<string, { Properties: Record<string, unknown> }>;
}

describe('triggers, by default', () => {
  const { platform } = buildTestPlatform();
  const training = Template.fromStack(platform.training);
  const machine = platform.training.retraining.stateMachine;

  test('the data bucket sends its object events to EventBridge, natively (no notification custom resource)', () => {
    Template.fromStack(platform.data).hasResourceProperties('AWS::S3::Bucket', {
      NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: true } },
    });
    expect(Object.keys(resourcesOf(Template.fromStack(platform.data), 'Custom::S3BucketNotifications'))).toEqual([]);
  });

  test("new data: one rule on the completion marker under the raw prefix starts a run, with the marker's key", () => {
    training.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: { bucket: { name: [Match.anyValue()] }, object: { key: ['datasets/digits/v1/_SUCCESS'] } },
      },
      Targets: [
        Match.objectLike({
          Arn: { Ref: Stack.of(machine).getLogicalId(machine.node.defaultChild as never) },
          InputTransformer: {
            InputPathsMap: { 'detail-object-key': '$.detail.object.key' },
            InputTemplate: '{"trigger":"new-data","key":<detail-object-key>}',
          },
        }),
      ],
    });
  });

  test('no schedule unless one is set', () => {
    expect(Object.keys(resourcesOf(training, 'AWS::Scheduler::Schedule'))).toEqual([]);
  });

  test('the state machine is Standard, logged and traced', () => {
    training.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL' }),
      DefinitionString: Match.anyValue(),
    });
  });

  test('a failed or timed-out run raises the failed-runs alarm, which the responder and topic act on', () => {
    const monitoring = Template.fromStack(platform.monitoring);
    const alarms = Object.values(resourcesOf(monitoring, 'AWS::CloudWatch::Alarm')).filter((a) =>
      String(a.Properties.AlarmName).endsWith('-retraining-runs-failed'),
    );
    expect(alarms).toHaveLength(1);
    const alarm = alarms[0].Properties;
    expect(alarm.Threshold).toBe(1);
    expect(JSON.stringify(alarm.Metrics)).toMatch(/ExecutionsFailed.*ExecutionsTimedOut|ExecutionsTimedOut.*ExecutionsFailed/);
    expect((alarm.AlarmActions as unknown[]).length).toBeGreaterThanOrEqual(2);
  });

  test("the dashboard shows the runs by outcome and the longest run's duration", () => {
    const [dashboard] = Object.values(resourcesOf(Template.fromStack(platform.monitoring), 'AWS::CloudWatch::Dashboard'));
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    expect(body).toContain('Retraining runs (per hour)');
    for (const metric of ['ExecutionsStarted', 'ExecutionsSucceeded', 'ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionTime'])
      expect(body).toContain(metric);
    expect(body).toContain('m / 60000');
  });

  test('an alarm can start a run (drift, quality): a rule on its state change to ALARM', () => {
    const fresh = buildTestPlatform().platform.training;
    const alarm = new cloudwatch.Alarm(fresh, 'SomeDrift', {
      metric: new cloudwatch.Metric({ namespace: 'Test', metricName: 'Drift' }),
      threshold: 1,
      evaluationPeriods: 1,
    });
    fresh.retraining.addAlarmTrigger(alarm);
    Template.fromStack(fresh).hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.cloudwatch'],
        'detail-type': ['CloudWatch Alarm State Change'],
        resources: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^SomeDrift'), 'Arn'] }],
        detail: { state: { value: ['ALARM'] } },
      },
      Targets: [
        Match.objectLike({ InputTransformer: Match.objectLike({ InputTemplate: '{"trigger":"alarm","alarm":<detail-alarmName>}' }) }),
      ],
    });
  });

  test("the outcome event's source is the platform's own", () => {
    expect(OUTCOME_EVENT.source).not.toMatch(/^aws\./);
  });
});

describe('triggers, configured', () => {
  test('retrainSchedule: an EventBridge Scheduler schedule starts a run with a role only the scheduler of this account assumes', () => {
    const { platform } = buildTestPlatform({
      retrainSchedule: 'cron(0 3 ? * MON *)',
      retrainOnNewData: 'false',
      account: '123456789012',
      region: 'eu-west-1',
    });
    const training = Template.fromStack(platform.training);
    const schedules = Object.values(resourcesOf(training, 'AWS::Scheduler::Schedule'));
    expect(schedules).toHaveLength(1);
    expect(schedules[0].Properties).toMatchObject({
      ScheduleExpression: 'cron(0 3 ? * MON *)',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: { Input: JSON.stringify({ trigger: 'schedule' }) },
    });
    training.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Principal: { Service: 'scheduler.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } },
          }),
        ],
      },
    });
    // retrainOnNewData=false: no S3 rule.
    const rules = Object.values(resourcesOf(training, 'AWS::Events::Rule')).filter((r) =>
      JSON.stringify(r.Properties.EventPattern).includes('aws.s3'),
    );
    expect(rules).toEqual([]);
  });

  test('a raw .csv file is its own completion marker', () => {
    const { platform } = buildTestPlatform({ dataSourceUri: 's3://my-datasets/digits/2024/all.csv' });
    Template.fromStack(platform.training).hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { detail: { bucket: { name: ['my-datasets'] }, object: { key: ['digits/2024/all.csv'] } } },
    });
  });

  test.each([['rate(0 days)'], ['rate(7 weeks)'], ['cron(0 3 * * *)'], ['every day']])(
    'retrainSchedule %s is refused, naming the setting',
    (value) => {
      expect(() => loadConfig({ retrainSchedule: value })).toThrow(
        /Invalid setting "retrainSchedule".*rate\(<n> minutes\|hours\|days\) or cron\(<6 fields>\)/,
      );
    },
  );

  test('retrainOnNewData must be a boolean', () => {
    expect(() => loadConfig({ retrainOnNewData: 'sometimes' })).toThrow(
      /Invalid setting "retrainOnNewData": "sometimes"; allowed: true or false/,
    );
  });
});

describe('retrainOnDrift', () => {
  type Rule = {
    Properties: {
      Name: string;
      EventPattern: { source: string[]; 'detail-type': string[]; resources: unknown[]; detail: unknown };
      Targets: Record<string, unknown>[];
    };
  };
  const alarmRules = (template: Template) =>
    Object.values(resourcesOf(template, 'AWS::Events::Rule')).filter((r) =>
      JSON.stringify(r.Properties.EventPattern).includes('aws.cloudwatch'),
    ) as unknown as Rule[];

  test('off by default: no stack has a rule on alarms', () => {
    const { platform } = buildTestPlatform();
    expect(alarmRules(Template.fromStack(platform.monitoring))).toEqual([]);
    expect(alarmRules(Template.fromStack(platform.training))).toEqual([]);
  });

  describe('on', () => {
    const built = buildTestPlatform({ retrainOnDrift: 'true', account: '123456789012', region: 'eu-west-1' });
    const { platform } = built;
    const monitoring = Template.fromStack(platform.monitoring);
    // Every stack as CloudFormation evaluates it: imports resolve to the exporting stack's values.
    const deployment = new CfnDeployment(stacksOfApp(built.app));
    const monitoringStack = deployment.stack(platform.monitoring.stackName);
    const trainingStack = deployment.stack(platform.training.stackName);
    const machine = platform.training.retraining.stateMachine;
    const machineArn = trainingStack.arn(platform.training.getLogicalId(machine.node.defaultChild as never));
    const trigger = platform.monitoring.driftRetraining!;
    const ruleId = platform.monitoring.getLogicalId(trigger.rule.node.defaultChild as never);
    const rule = monitoringStack.properties(ruleId) as Rule['Properties'];

    test('one rule, in the Monitoring stack, on exactly the drift alarms going into ALARM', () => {
      expect(alarmRules(monitoring)).toHaveLength(1);
      expect(alarmRules(Template.fromStack(platform.training))).toEqual([]);
      const driftAlarms = platform.monitoring.alarms.driftAlarms;
      expect(driftAlarms.map((a) => a.node.id).sort()).toEqual(['DriftedFeatures', 'PredictionDrift']);
      const driftArns = driftAlarms.map((a) => monitoringStack.arn(platform.monitoring.getLogicalId(a.node.defaultChild as never)));
      expect(
        driftArns.every((a) =>
          /^arn:aws:cloudwatch:eu-west-1:123456789012:alarm:DlPlatform-Monitoring-drift-(features|prediction)$/.test(String(a)),
        ),
      ).toBe(true);
      expect(rule.EventPattern).toEqual({
        source: ['aws.cloudwatch'],
        'detail-type': ['CloudWatch Alarm State Change'],
        resources: driftArns,
        detail: { state: { value: ['ALARM'] } },
      });
    });

    test('it starts the Training stack\'s retraining state machine with trigger "alarm" and the alarm\'s name', () => {
      expect(machineArn).toMatch(/^arn:aws:states:eu-west-1:123456789012:stateMachine:/);
      expect(rule.Targets).toHaveLength(1);
      const [target] = rule.Targets;
      expect(target.Arn).toBe(machineArn);
      expect(target.InputTransformer).toEqual({
        InputPathsMap: { 'detail-alarmName': '$.detail.alarmName' },
        InputTemplate: '{"trigger":"alarm","alarm":<detail-alarmName>}',
      });
    });

    test('with a role in the Monitoring stack that only this rule of this account assumes, and that may only start that state machine', () => {
      const roleId = platform.monitoring.getLogicalId(trigger.role.node.defaultChild as never);
      expect(rule.Targets[0].RoleArn).toBe(monitoringStack.arn(roleId));
      const role = monitoringStack.properties(roleId) as {
        AssumeRolePolicyDocument: { Statement: { Principal: unknown; Condition: unknown }[] };
      };
      expect(role.AssumeRolePolicyDocument.Statement).toEqual([
        expect.objectContaining({
          Principal: { Service: 'events.amazonaws.com' },
          Condition: {
            StringEquals: { 'aws:SourceAccount': '123456789012' },
            ArnEquals: { 'aws:SourceArn': `arn:aws:events:eu-west-1:123456789012:rule/${rule.Name}` },
          },
        }),
      ]);
      const policies = Object.entries(resourcesOf(monitoring, 'AWS::IAM::Policy'))
        .map(([id]) => monitoringStack.properties(id) as { Roles: unknown[]; PolicyDocument: { Statement: unknown[] } })
        .filter((p) => p.Roles.includes(monitoringStack.physicalName(roleId)));
      expect(policies.flatMap((p) => p.PolicyDocument.Statement)).toEqual([
        { Effect: 'Allow', Action: 'states:StartExecution', Resource: machineArn },
      ]);
    });

    test('no dependency cycle: Monitoring deploys after Training, which names nothing of Monitoring', () => {
      expect(platform.monitoring.dependencies).toContain(platform.training);
      expect(platform.training.dependencies).not.toContain(platform.monitoring);
      expect(JSON.stringify(Template.fromStack(platform.training).toJSON())).not.toContain('Monitoring');
    });
  });

  test('refused at synth without capture, naming the setting and what to change', () => {
    expect(() => loadConfig({ retrainOnDrift: 'true', captureSamplingPercentage: 0 })).toThrow(
      /Invalid setting "retrainOnDrift": true; allowed: false while captureSamplingPercentage is 0 .*set captureSamplingPercentage above 0 or retrainOnDrift=false/,
    );
    expect(loadConfig({ retrainOnDrift: 'false', captureSamplingPercentage: 0 }).retrainOnDrift).toBe(false);
    expect(() => loadConfig({ retrainOnDrift: 'yes' })).toThrow(/Invalid setting "retrainOnDrift": "yes"; allowed: true or false/);
  });

  test('the construct refuses an empty list of alarms, naming itself', () => {
    const stack = new Stack();
    const stateMachine = sfn.StateMachine.fromStateMachineArn(
      stack,
      'Pipeline',
      'arn:aws:states:eu-west-1:123456789012:stateMachine:retraining',
    );
    expect(() => new AlarmRetrainingTrigger(stack, 'Trigger', { stateMachine, alarms: [], reason: 'drift' })).toThrow(
      /AlarmRetrainingTrigger at Default\/Trigger: invalid alarms 0; allowed: at least one alarm/,
    );
  });
});

describe('npm run retrain', () => {
  let moto: MotoServer;
  const saved = { ...process.env };
  beforeAll(async () => {
    moto = await startMoto();
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_REGION: 'eu-west-1',
      AWS_ENDPOINT_URL_SFN: moto.endpoint,
      AWS_ENDPOINT_URL_CLOUDFORMATION: moto.endpoint,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    });
  });
  afterAll(async () => {
    await moto?.stop();
    process.env = saved;
  });

  test('arguments: a prefix, an ARN, or an error that names what is wrong', () => {
    expect(parseRetrainArguments([], 'DlPlatform')).toEqual({ stackPrefix: 'DlPlatform', stateMachineArn: undefined });
    expect(parseRetrainArguments(['--stack-prefix', 'Mine'], 'DlPlatform')).toEqual({ stackPrefix: 'Mine', stateMachineArn: undefined });
    expect(parseRetrainArguments(['--state-machine-arn', 'nope'], 'DlPlatform')).toEqual({
      error: expect.stringContaining('state machine ARN'),
    });
    expect(parseRetrainArguments(['--frobnicate'], 'DlPlatform')).toEqual({ error: 'unknown argument "--frobnicate"' });
    expect(parseRetrainArguments(['--stack-prefix'], 'DlPlatform')).toEqual({ error: '--stack-prefix needs a value' });
  });

  test("finds the pipeline in the Training stack's outputs and starts a manual run", async () => {
    const sfn = new SFNClient({});
    const { stateMachineArn } = await sfn.send(
      new CreateStateMachineCommand({
        name: 'retraining',
        roleArn: 'arn:aws:iam::123456789012:role/retraining',
        definition: JSON.stringify({ StartAt: 'A', States: { A: { Type: 'Pass', End: true } } }),
      }),
    );
    const cloudformation = new CloudFormationClient({});
    await cloudformation.send(
      new CreateStackCommand({
        StackName: 'Mine-Training',
        TemplateBody: JSON.stringify({
          Resources: { Topic: { Type: 'AWS::SNS::Topic' } },
          Outputs: { RetrainingPipelineArn: { Value: stateMachineArn } },
        }),
      }),
    );
    const arn = await pipelineArn({ stackPrefix: 'Mine' }, cloudformation);
    expect(arn).toBe(stateMachineArn);
    const execution = await startRetraining(arn, sfn);
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn: execution }));
    expect(described.stateMachineArn).toBe(stateMachineArn);
    expect(JSON.parse(described.input!)).toEqual({ trigger: 'manual' });
    await expect(pipelineArn({ stackPrefix: 'Missing' }, cloudformation)).rejects.toThrow(/Missing-Training/);
  });
});
