import type { Construct } from 'constructs';

import { acknowledge, acknowledgeRolePolicies, inPacks, SERVERLESS } from '../private/compliance';

/** The cdk-nag findings an AlarmRetrainingTrigger (alarm-retraining-trigger.ts) accepts, with why. */
export function acknowledgeAlarmRetrainingTrigger(trigger: Construct): void {
  acknowledge(
    trigger,
    inPacks('EventBusDLQ', SERVERLESS),
    'A start EventBridge could not deliver after its retries (24 hours) is a run that did not start, not lost data: the ' +
      'alarm stays in ALARM and is on the dashboard and the topic, the next change to ALARM, schedule tick, completion ' +
      'marker or `npm run retrain` starts the run, and a run is idempotent. A dead-letter queue would hold nothing to ' +
      'replay that a new start does not do.',
  );
  acknowledgeRolePolicies(trigger);
}
