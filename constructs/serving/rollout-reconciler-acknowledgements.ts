import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { IConstruct } from 'constructs';

import { acknowledge, acknowledgeRolePolicies, AWS_SOLUTIONS, inPacks, SERVERLESS, skipCheckov } from '../private/compliance';

/** What of a RolloutReconciler (rollout-reconciler.ts) its acknowledgements name; a shape, so the two files import one way. */
export interface RolloutReconcilerParts extends IConstruct {
  readonly deadLetterQueue: sqs.IQueue;
}

/** The cdk-nag findings and checkov checks a RolloutReconciler accepts, with why. */
export function acknowledgeRolloutReconciler(reconciler: RolloutReconcilerParts): void {
  acknowledge(
    reconciler.deadLetterQueue,
    [...inPacks('SQS3', AWS_SOLUTIONS), ...inPacks('SQSRedrivePolicy', SERVERLESS)],
    "This queue is the dead-letter queue of the approval rule's target (EventBridge DeadLetterConfig, which cdk-nag does not " +
      'recognise); a dead-letter queue of its own would only move the same messages again.',
  );
  skipCheckov(
    reconciler.deadLetterQueue,
    'CKV_AWS_27',
    'Encrypted at rest with SQS-managed keys (SqsManagedSseEnabled), which this check does not read (it looks only for ' +
      'KmsMasterKeyId). A customer key would need a key policy for EventBridge and add no control over who reads the queue.',
  );
  acknowledgeRolePolicies(reconciler);
}
