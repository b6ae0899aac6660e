import * as iam from 'aws-cdk-lib/aws-iam';
import { IConstruct } from 'constructs';
import { acknowledgeWildcardResource } from '../private/nag-acknowledgements';

/** The cdk-nag findings a {@link DriftCheck} accepts, with why. */
export function acknowledgeDriftCheck(check: IConstruct & { readonly jobNamePrefix: string }, parts: { reportPrefix: string; publishRole: iam.IRole; stateMachineRole: iam.IRole }): void {
  acknowledgeWildcardResource(parts.publishRole, '*', 'cloudwatch:PutMetricData takes no resource; the statement is held to the drift namespace by '
    + 'the cloudwatch:namespace condition (test/support/wildcard-resources.ts says why it may name `*`).');
  void check;
}
