import { IConstruct } from 'constructs';

import { acknowledgeRolePolicies, exemptFunction, UNRESERVED_CONCURRENCY } from '../private/compliance';
import { acknowledgeWildcardResource } from '../private/nag-acknowledgements';

/** The cdk-nag findings and checkov checks an {@link InferenceProxy} accepts, with why. */
export function acknowledgeInferenceProxy(
  proxy: IConstruct & { readonly function: IConstruct; readonly role: IConstruct },
  reservesConcurrency: boolean,
): void {
  exemptFunction(proxy.function, {
    deadLetterQueue:
      'API Gateway invokes the function synchronously and returns its answer (or error) to the client; ' +
      'a dead-letter queue only ever receives asynchronous invocations.',
    vpc:
      'The function reaches only the SageMaker Runtime API, over TLS with IAM; the platform has no VPC, and a VPC ' +
      'would add NAT or interface endpoints without narrowing what the function can reach (its role does that).',
    environmentKey: 'The environment holds the endpoint name and a timeout, no secret; Lambda encrypts it at rest with ' + 'its own key.',
    reservedConcurrency: reservesConcurrency ? undefined : UNRESERVED_CONCURRENCY,
  });
  acknowledgeRolePolicies(proxy);
  acknowledgeWildcardResource(
    proxy.role,
    '*',
    'xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) take no resource type.',
  );
}
