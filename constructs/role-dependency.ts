import { CfnResource, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';

/**
 * Makes a resource that references a role depend on the role's policy only. L2s add a dependency on the
 * whole role so the policy exists first; the one on the role itself repeats its reference (cfn-lint W3005).
 */
export function dependOnPolicyOnly(resource: CfnResource, role: iam.Role): void {
  const policy = role.node.findChild('DefaultPolicy').node.defaultChild as CfnResource;
  resource.addOverride('DependsOn', [Stack.of(resource).getLogicalId(policy)]);
}
