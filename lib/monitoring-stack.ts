import { Aws, CfnOutput, Duration, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

import { AlarmResponder } from '../constructs/monitoring/alarm-responder';
import { AlarmTopic } from '../constructs/monitoring/alarm-topic';
import { AlarmThresholds, DriftRef, PlatformAlarms } from '../constructs/monitoring/platform-alarms';
import { PlatformDashboard, RolloutRef } from '../constructs/monitoring/platform-dashboard';
import { ApiRef, EndpointRef, WebAclRef } from '../constructs/monitoring/platform-metrics';
import { RUNBOOK_SECTIONS, runbookLink } from '../constructs/monitoring/runtime/runbook';
import { TrainingFailureRule } from '../constructs/monitoring/training-failure-rule';
import { LogsKey } from '../constructs/storage/logs-key';
import { AlarmRetrainingTrigger } from '../constructs/training/alarm-retraining-trigger';

export interface MonitoringStackProps extends StackProps {
  /** The inference endpoint's variant; unset: no endpoint alarms. */
  readonly endpoint?: EndpointRef;
  /** The inference API's stage; unset: no API alarms. */
  readonly api?: ApiRef;
  /** The API's web ACL; unset: no WAF alarm. */
  readonly webAcl?: WebAclRef;
  /** The other stacks' Lambda functions (the responder is watched too). */
  readonly functions: lambda.IFunction[];
  /** Start of the training jobs' names; unset: no training-failure rule. */
  readonly trainingJobNamePrefix?: string;
  /** The drift check's metrics; unset: no drift alarms. */
  readonly drift?: DriftRef;
  /** Failed or timed-out retraining runs; unset: no alarm on them. */
  readonly failedRetrainingRuns?: cloudwatch.IMetric;
  /** The retraining state machine, for the dashboard's runs and durations; unset: no such row. */
  readonly retraining?: sfn.IStateMachine;
  /**
   * The retraining state machine the drift alarms start (retrainOnDrift); unset: drift starts nothing. Needs `drift`.
   */
  readonly retrainOnDrift?: sfn.IStateMachine;
  /** The rollout after an approval; unset (a pinned version): no rollout alarms or graphs. */
  readonly rollout?: RolloutRef;
  /** Alarm thresholds. */
  readonly thresholds: AlarmThresholds;
  /** Addresses subscribed to the alarm topic. */
  readonly alarmEmails: string[];
  /** Secret holding the incident webhook URL; unset: incidents are only logged and sent to the topic. */
  readonly webhookSecretArn?: string;
  /** Where operators read docs/runbook.md. */
  readonly runbookUrl: string;
  /** Concurrency reserved for the alarm responder (SETTINGS.reserveLambdaConcurrency); unset: none. */
  readonly responderReservedConcurrency?: number;
}

/** Monitoring: alarms that invoke the responder and notify the topic, the training-failure rule, the dashboard. */
export class MonitoringStack extends Stack {
  readonly topic: AlarmTopic;
  readonly responder: AlarmResponder;
  readonly alarms: PlatformAlarms;
  readonly trainingFailures?: TrainingFailureRule;
  readonly dashboard: PlatformDashboard;
  readonly driftRetraining?: AlarmRetrainingTrigger;

  constructor(scope: Construct, id: string, props: MonitoringStackProps) {
    super(scope, id, props);

    const key = new kms.Key(this, 'Key', {
      description: "Encrypts the alarm topic and the alarm responder's dedupe table",
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const logsKey = new LogsKey(this, 'LogsKey', { description: "Encrypts the monitoring stack's log groups (incident records)" });

    this.topic = new AlarmTopic(this, 'AlarmTopic', { masterKey: key, emails: props.alarmEmails });
    this.responder = new AlarmResponder(this, 'Responder', {
      encryptionKey: key,
      logsKey,
      webhookSecretArn: props.webhookSecretArn,
      runbookUrl: props.runbookUrl,
      failureTopic: this.topic,
      reservedConcurrentExecutions: props.responderReservedConcurrency,
    });

    if (props.trainingJobNamePrefix) {
      this.trainingFailures = new TrainingFailureRule(this, 'TrainingFailures', {
        jobNamePrefix: props.trainingJobNamePrefix,
        targets: [
          this.responder.eventTarget(),
          this.topic.eventTarget(TrainingFailureRule.message(runbookLink(props.runbookUrl, RUNBOOK_SECTIONS.trainingFailed))),
        ],
      });
    }

    this.alarms = new PlatformAlarms(this, 'Alarms', {
      endpoint: props.endpoint,
      api: props.api,
      webAcl: props.webAcl,
      functions: [...props.functions, this.responder.function],
      undeliveredTrainingEvents: this.trainingFailures?.metricUndelivered(),
      undeliveredApprovalEvents: props.rollout?.undeliveredApprovals,
      failedRollouts: props.rollout
        ? new cloudwatch.MathExpression({
            expression: 'FILL(failed, 0) + FILL(timedOut, 0)',
            usingMetrics: { failed: props.rollout.failed, timedOut: props.rollout.timedOut },
            label: 'Failed or timed-out rollouts',
            period: Duration.minutes(5),
          })
        : undefined,
      drift: props.drift,
      failedRetrainingRuns: props.failedRetrainingRuns,
      thresholds: props.thresholds,
      actions: [this.responder.alarmAction, new cwActions.SnsAction(this.topic.topic)],
      runbookUrl: props.runbookUrl,
    });
    this.topic.allowAlarms(`${this.alarms.alarmNamePrefix}-`);

    // Beside the alarms, not in the training stack: this stack already refers to the training stack.
    if (props.retrainOnDrift) {
      this.driftRetraining = new AlarmRetrainingTrigger(this, 'RetrainOnDrift', {
        stateMachine: props.retrainOnDrift,
        alarms: this.alarms.driftAlarms,
        reason: 'drift',
      });
    }

    this.dashboard = new PlatformDashboard(this, 'Dashboard', {
      dashboardName: `${this.stackName}-${Aws.REGION}`,
      api: props.api,
      endpoint: props.endpoint,
      drift: props.drift,
      webAcl: props.webAcl,
      functions: [...props.functions, this.responder.function],
      training: props.trainingJobNamePrefix
        ? { jobNamePrefix: props.trainingJobNamePrefix, failureRule: this.trainingFailures?.rule }
        : undefined,
      alarms: this.alarms.alarms,
      retraining: props.retraining,
      rollout: props.rollout,
      runbookUrl: props.runbookUrl,
    });

    new CfnOutput(this, 'AlarmTopicArn', {
      description: 'Subscribe to alarms and training failures here',
      value: this.topic.topic.topicArn,
    });
    new CfnOutput(this, 'DashboardUrl', {
      description: 'The platform dashboard',
      value: `https://console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards:name=${this.dashboard.dashboard.dashboardName}`,
    });
  }
}
