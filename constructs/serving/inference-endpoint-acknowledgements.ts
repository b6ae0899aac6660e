import { acknowledge, acknowledgeRolePolicies, HIPAA, inPacks, NIST } from '../private/compliance';
import type { InferenceEndpoint } from './inference-endpoint';

/** The cdk-nag findings an {@link InferenceEndpoint} accepts, with why. */
export function acknowledgeInferenceEndpoint(endpoint: InferenceEndpoint): void {
  for (const alarm of [endpoint.errorAlarm, endpoint.latencyAlarm]) {
    acknowledge(alarm, inPacks('CloudWatchAlarmAction', NIST, HIPAA),
      'A rollback alarm: SageMaker watches it during a blue/green update and rolls back when it fires '
      + '(DeploymentConfig.AutoRollbackConfiguration). The monitoring stack\'s own alarms on the same metrics notify people.');
  }
  acknowledgeRolePolicies(endpoint);
}
