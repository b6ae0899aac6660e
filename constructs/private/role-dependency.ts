import { CfnResource, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { IConstruct } from 'constructs';

/**
 * A resource that uses a role (a function, a state machine, a SageMaker model) references it by `Fn::GetAtt`,
 * and CDK also makes it `DependsOn` the role, which cfn-lint flags (W3005). The dependency that matters is
 * on the role's policy (the resource must not run before its permissions exist), so only that one stays.
 */
export function dependOnRolePolicyOnly(user: IConstruct, role: iam.IRole): void {
  const resource = CfnResource.isCfnResource(user) ? user : user.node.defaultChild as CfnResource;
  const policy = role.node.tryFindChild('DefaultPolicy')?.node.defaultChild as CfnResource | undefined;
  resource.addOverride('DependsOn', policy ? [Stack.of(user).getLogicalId(policy)] : []);
}
