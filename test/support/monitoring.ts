/**
 * A Monitoring stack on its own, watching parts imported by name from another stack, so the monitoring
 * constructs are tested whatever the other stacks look like.
 */
import { App, CfnWaitConditionHandle, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';

import { MonitoringStack, MonitoringStackProps } from '../../lib/monitoring-stack';
import { contextWith } from './platform';

export const WEBHOOK_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:incident-webhook-AbCdEf';

/** The rollout reconciler's state machine (in the Serving stack of the app). */
export const ROLLOUT_ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:DlPlatform-Serving-Rollout';

function rolloutMetrics(machine: sfn.IStateMachine) {
  const period = Duration.minutes(5);
  return {
    succeeded: machine.metricSucceeded({ period, statistic: 'Sum' }),
    failed: machine.metricFailed({ period, statistic: 'Sum' }),
    timedOut: machine.metricTimedOut({ period, statistic: 'Sum' }),
  };
}

/** The rollout reconciler's approval dead-letter queue (in the Serving stack of the app). */
export const APPROVAL_DLQ_ARN = 'arn:aws:sqs:eu-west-1:123456789012:DlPlatform-Serving-RolloutDeadLetterQueue';

export function buildMonitoring(overrides: Partial<MonitoringStackProps> = {}): { stack: MonitoringStack; template: Template } {
  const app = new App({ context: contextWith() });
  const upstream = new Stack(app, 'Upstream');
  new CfnWaitConditionHandle(upstream, 'Placeholder'); // a template must hold a resource
  const stack = new MonitoringStack(app, 'DlPlatform-Monitoring', {
    endpoint: { endpointName: 'dlplatform-endpoint', variantName: 'AllTraffic', hasGpu: false },
    api: {
      restApi: apigw.RestApi.fromRestApiAttributes(upstream, 'Api', {
        restApiId: 'a1b2c3',
        rootResourceId: 'r00t',
        restApiName: 'dlplatform-api',
      }),
      stageName: 'prod',
    },
    webAcl: { webAclName: 'dlplatform-web-acl' },
    functions: [
      lambda.Function.fromFunctionAttributes(upstream, 'Proxy', {
        functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:dlplatform-proxy',
        sameEnvironment: true,
      }),
    ],
    trainingJobNamePrefix: 'dlplatform-train-',
    rollout: {
      undeliveredApprovals: sqs.Queue.fromQueueArn(
        upstream,
        'ApprovalDeadLetterQueue',
        APPROVAL_DLQ_ARN,
      ).metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
      ...rolloutMetrics(sfn.StateMachine.fromStateMachineArn(upstream, 'Rollout', ROLLOUT_ARN)),
      logGroupName: 'DlPlatform-Serving-RolloutLogs',
    },
    thresholds: {
      endpoint5xxCount: 7,
      endpoint4xxCount: 70,
      modelLatencyP99: Duration.millis(250),
      cpuUtilizationPercent: 150,
      gpuUtilizationPercent: 90,
      memoryUtilizationPercent: 75,
      gpuMemoryUtilizationPercent: 95,
      api5xxCount: 3,
      apiLatencyP99: Duration.millis(2500),
      wafBlockedCount: 900,
      lambdaErrorCount: 2,
      lambdaThrottleCount: 4,
    },
    alarmEmails: ['oncall@example.com', 'ml-team@example.com'],
    webhookSecretArn: WEBHOOK_SECRET_ARN,
    runbookUrl: 'https://git.example.com/platform/docs/runbook.md',
    ...overrides,
  });
  return { stack, template: Template.fromStack(stack) };
}
