import { IConstruct } from 'constructs';

import { acknowledge, acknowledgeRolePolicies, HIPAA, inPacks, NIST } from '../private/compliance';
import { acknowledgeWildcardResource } from '../private/nag-acknowledgements';

/**
 * The cdk-nag findings an {@link InferenceEndpoint} accepts, with why. `volumeKey` says whether the endpoint
 * config names a key for the instances' storage (not possible on instance types with NVMe instance storage).
 */
export function acknowledgeInferenceEndpoint(
  endpoint: IConstruct & { readonly errorAlarm: IConstruct; readonly latencyAlarm: IConstruct; readonly role: IConstruct },
  volumeKey: boolean,
): void {
  if (!volumeKey) {
    // https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateEndpointConfig.html (KmsKeyId).
    acknowledge(
      endpoint,
      inPacks('SageMakerEndpointConfigurationKMSKeyConfigured', NIST, HIPAA),
      'The instance type has NVMe instance storage, which its hardware encrypts; SageMaker rejects a KmsKeyId for such ' +
        'instance types (CreateEndpointConfig, KmsKeyId). The model artifact stays encrypted with the platform key in S3.',
    );
  }
  for (const alarm of [endpoint.errorAlarm, endpoint.latencyAlarm]) {
    acknowledge(
      alarm,
      inPacks('CloudWatchAlarmAction', NIST, HIPAA),
      'A rollback alarm: SageMaker watches it during a blue/green update and rolls back when it fires ' +
        "(DeploymentConfig.AutoRollbackConfiguration). The monitoring stack's own alarms on the same metrics notify people.",
    );
  }
  acknowledgeRolePolicies(endpoint);
  acknowledgeWildcardResource(
    endpoint.role,
    '*',
    'ecr:GetAuthorizationToken takes no resource type; cloudwatch:PutMetricData is held to the ' +
      '/aws/sagemaker/Endpoints namespace by its condition (test/support/wildcard-resources.ts says why it may name `*`).',
  );
}
