import { IConstruct } from 'constructs';

import { acknowledge, acknowledgeRolePolicies, exemptFunction, HIPAA, inPacks, NIST, UNRESERVED_CONCURRENCY } from '../private/compliance';
import { acknowledgeWildcardResource } from '../private/nag-acknowledgements';

/** The cdk-nag findings and checkov checks an {@link AlarmResponder} accepts, with why. */
export function acknowledgeAlarmResponder(
  responder: IConstruct & { readonly function: IConstruct; readonly role: IConstruct; readonly table: IConstruct },
  hasFailureDestination: boolean,
  reservesConcurrency: boolean,
): void {
  exemptFunction(responder.function, {
    deadLetterQueue: hasFailureDestination
      ? 'Failed asynchronous invocations (after two retries) go to the alarm topic through an on-failure destination, ' +
        'which carries the error with the event; a dead-letter queue would be a second, poorer copy.'
      : undefined,
    vpc:
      "The function reaches DynamoDB, Secrets Manager and the operator's webhook (an internet URL) over TLS; the " +
      'platform has no VPC, and putting it in one would need a NAT gateway for the webhook.',
    environmentKey:
      "The environment holds the table name, the webhook secret's ARN (not its value) and timeouts; " +
      'Lambda encrypts it at rest with its own key.',
    reservedConcurrency: reservesConcurrency
      ? undefined
      : `${UNRESERVED_CONCURRENCY} Alarms invoke it asynchronously, and Lambda ` +
        'retries a throttled asynchronous invocation for up to six hours, so an incident is delayed, not lost; the topic gets the alarm at once.',
  });
  acknowledgeRolePolicies(responder);
  acknowledge(
    responder.table,
    inPacks('DynamoDBInBackupPlan', NIST, HIPAA),
    'The table holds only dedupe claims that expire after two days (TTL), with point-in-time recovery on; the ' +
      "incident records themselves are in the function's retained log group. A backup plan would keep nothing of value.",
  );
  // On the role, not the construct: its other resources get no cover (test/planted-violations.test.ts).
  acknowledgeWildcardResource(
    responder.role,
    '*',
    'xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) take no resource type.',
  );
}
