import { IConstruct } from 'constructs';

import { acknowledge, inPacks, SERVERLESS } from '../private/compliance';

/** The cdk-nag findings an {@link AlarmTopic} accepts, with why. */
export function acknowledgeAlarmTopic(topic: { readonly topic: IConstruct }): void {
  acknowledge(
    topic.topic,
    inPacks('SNSRedrivePolicy', SERVERLESS),
    'Email subscriptions: a message SNS cannot deliver to a mailbox would sit in a dead-letter queue no one reads, ' +
      "while every alarm and incident is also in CloudWatch (alarm history) and in the responder's retained log group.",
  );
}
