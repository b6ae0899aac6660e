import { IConstruct } from 'constructs';

import { acknowledge, AWS_SOLUTIONS, inPacks, SERVERLESS, skipCheckov } from '../private/compliance';

/** The cdk-nag findings and checkov checks a {@link TrainingFailureRule} accepts, with why. */
export function acknowledgeTrainingFailureRule(rule: { readonly deadLetterQueue: IConstruct }): void {
  acknowledge(
    rule.deadLetterQueue,
    [...inPacks('SQS3', AWS_SOLUTIONS), ...inPacks('SQSRedrivePolicy', SERVERLESS)],
    "This queue is the dead-letter queue of the rule's targets (EventBridge DeadLetterConfig, which cdk-nag does not " +
      'recognise); a dead-letter queue of its own would only move the same messages again. An alarm watches it.',
  );
  skipCheckov(
    rule.deadLetterQueue,
    'CKV_AWS_27',
    'Encrypted at rest with SQS-managed keys (SqsManagedSseEnabled), which this check does not read (it looks only for ' +
      'KmsMasterKeyId). A customer key would need a key policy for EventBridge and add no control over who reads the queue.',
  );
}
