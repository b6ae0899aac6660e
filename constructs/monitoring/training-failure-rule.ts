import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

import { check, validateProps } from '../private/validation';
import { acknowledgeTrainingFailureRule } from './training-failure-rule-acknowledgements';

/** Properties of a {@link TrainingFailureRule}. */
export interface TrainingFailureRuleProps {
  /** Start of the names of this platform's training jobs: failures of other jobs in the account are ignored. */
  readonly jobNamePrefix: string;

  /**
   * Where failure events go. Each target's undeliverable events (after its retries) go to the rule's
   * dead-letter queue.
   * @default - none yet; add them with {@link addTarget}
   */
  readonly targets?: events.IRuleTarget[];

  /**
   * How long an undelivered event stays in the dead-letter queue.
   * @default Duration.days(14) - the most SQS keeps a message
   */
  readonly deadLetterRetention?: Duration;
}

/**
 * An EventBridge rule that matches SageMaker "Training Job State Change" events with status Failed for
 * this platform's jobs: CloudWatch has no metric for a failed job, so this is the training "alarm". An event
 * a target could not take after EventBridge's retries lands in an encrypted, TLS-only dead-letter queue
 * instead of being dropped; {@link metricUndelivered} is what to alarm on.
 */
export class TrainingFailureRule extends Construct {
  /** The rule. */
  readonly rule: events.Rule;
  /** Where events go that no target took (SQS-managed encryption, TLS only). */
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: TrainingFailureRuleProps) {
    super(scope, id);
    validateProps(this, [
      check(
        'jobNamePrefix',
        props.jobNamePrefix,
        (p) => p !== '',
        'a prefix that is not empty: an empty one would match every training job of the account',
      ),
    ]);
    // SQS-managed keys (SSE-SQS) need no key policy for EventBridge to write; a customer key would.
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: props.deadLetterRetention ?? Duration.days(14),
    });
    this.rule = new events.Rule(this, 'Rule', {
      description: `Failed SageMaker training jobs named ${props.jobNamePrefix}*`,
      eventPattern: {
        source: ['aws.sagemaker'],
        detailType: ['SageMaker Training Job State Change'],
        detail: {
          TrainingJobStatus: ['Failed'],
          TrainingJobName: events.Match.prefix(props.jobNamePrefix),
        },
      },
    });
    for (const target of props.targets ?? []) this.addTarget(target);
    acknowledgeTrainingFailureRule(this);
  }

  /** Adds a target whose undeliverable events go to the dead-letter queue. */
  addTarget(target: events.IRuleTarget): void {
    const queue = this.deadLetterQueue;
    this.rule.addTarget({
      bind: (rule, targetId) => {
        const config = target.bind(rule, targetId);
        if (config.deadLetterConfig) return config;
        // The queue policy admits this rule only (aws:SourceArn), as EventBridge's own targets do.
        targets.addToDeadLetterQueueResourcePolicy(rule, queue);
        return { ...config, deadLetterConfig: { arn: queue.queueArn } };
      },
    });
  }

  /** Events waiting in the dead-letter queue: above zero, a failure notice reached no one. */
  metricUndelivered(props: { period?: Duration } = {}) {
    return this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      period: props.period ?? Duration.minutes(5),
      statistic: 'Maximum',
    });
  }

  /** The email-friendly message a topic target sends for a failure (the raw event goes to the responder). */
  static message(runbookLink: string): events.RuleTargetInput {
    return events.RuleTargetInput.fromText(
      `SageMaker training job ${events.EventField.fromPath('$.detail.TrainingJobName')} failed: ` +
        `${events.EventField.fromPath('$.detail.FailureReason')}. Runbook: ${runbookLink}`,
    );
  }
}
