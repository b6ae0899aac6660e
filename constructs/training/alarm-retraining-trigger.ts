import { Names, Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

import { check, validateProps } from '../private/validation';
import { acknowledgeAlarmRetrainingTrigger } from './alarm-retraining-trigger-acknowledgements';

/**
 * The event an alarm sends when its state changes to ALARM, for these alarms only
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html: source
 * `aws.cloudwatch`, detail type `CloudWatch Alarm State Change`, the alarm's ARN in `resources`, `detail.state.value`).
 */
export function alarmStateChangePattern(alarms: readonly cloudwatch.IAlarm[]): events.EventPattern {
  return {
    source: ['aws.cloudwatch'],
    detailType: ['CloudWatch Alarm State Change'],
    resources: alarms.map((a) => a.alarmArn),
    detail: { state: { value: ['ALARM'] } },
  };
}

/** The retraining run's input when an alarm starts it: the trigger and the alarm's name (the run's outcome event repeats it). */
export function alarmTriggerInput(): events.RuleTargetInput {
  return events.RuleTargetInput.fromObject({ trigger: 'alarm', alarm: events.EventField.fromPath('$.detail.alarmName') });
}

/** Properties of an {@link AlarmRetrainingTrigger}. */
export interface AlarmRetrainingTriggerProps {
  /** The retraining pipeline's state machine (RetrainingPipeline.stateMachine), in this stack or one this stack depends on. */
  readonly stateMachine: sfn.IStateMachine;
  /** The alarms whose change to ALARM starts a run (e.g. PlatformAlarms.driftAlarms); at least one. */
  readonly alarms: readonly cloudwatch.IAlarm[];
  /** What the alarms watch, for the rule's description (e.g. `drift`). */
  readonly reason: string;
}

/**
 * Starts a retraining run when any of `alarms` goes into ALARM: an EventBridge rule, and a role only that rule of
 * this account may assume, both in the scope's stack. Unlike RetrainingPipeline.addAlarmTrigger (which puts the
 * rule beside the pipeline), this puts it beside the alarms, so the alarms' stack refers to the pipeline's and not
 * the other way round: the monitoring stack already deploys after the training stack, and a rule in the training
 * stack on the monitoring stack's alarms would be a dependency cycle. One run at a time is the pipeline's own rule:
 * a start during a run ends at once as Dropped.
 */
export class AlarmRetrainingTrigger extends Construct {
  /** The rule on the alarms' state changes. */
  readonly rule: events.Rule;
  /** The role EventBridge starts runs with. */
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: AlarmRetrainingTriggerProps) {
    super(scope, id);
    validateProps(this, [check('alarms', props.alarms.length, (n) => n > 0, 'at least one alarm')]);
    const stack = Stack.of(this);
    // Named, so that the role's trust can name the rule's ARN; at most 64 characters
    // (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html).
    const ruleName = `${Names.uniqueResourceName(this, { maxLength: 56, separator: '-' })}-alarms`;
    this.rule = new events.Rule(this, 'Rule', {
      ruleName,
      description: `Starts a retraining run when a ${props.reason} alarm goes into ALARM`,
      eventPattern: alarmStateChangePattern(props.alarms),
    });
    this.role = new iam.Role(this, 'Role', {
      description: `EventBridge starts a retraining run with it, for the ${props.reason} alarm rule only`,
      // EventBridge sets aws:SourceArn to the rule's ARN when it assumes a target's role
      // (https://docs.aws.amazon.com/eventbridge/latest/userguide/cross-service-confused-deputy-prevention.html).
      assumedBy: new iam.ServicePrincipal('events.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': stack.account },
        ArnEquals: { 'aws:SourceArn': stack.formatArn({ service: 'events', resource: 'rule', resourceName: ruleName }) },
      }),
    });
    this.rule.addTarget(new targets.SfnStateMachine(props.stateMachine, { role: this.role, input: alarmTriggerInput() }));
    acknowledgeAlarmRetrainingTrigger(this);
  }
}
