import { CfnResource, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct, IConstruct } from 'constructs';
import { acknowledgeWildcardResource } from './nag-acknowledgements';

/**
 * A role for a Lambda function that may write only to its log group: no managed policy
 * (AWSLambdaBasicExecutionRole would allow every log group of the account).
 */
export function lambdaRole(scope: Construct, id: string, logGroup: logs.ILogGroup): iam.Role {
  const role = new iam.Role(scope, id, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  iam.Grant.addToPrincipal({ grantee: role, actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resourceArns: [logGroup.logGroupArn] });
  acknowledgeWildcardResource(role.node.findChild('DefaultPolicy'), logGroup.logGroupArn,
    'The function writes only to its own log group; the ARN ends in :* because streams are created per container.');
  return role;
}

/**
 * A function (or state machine) references its role by `Fn::GetAtt` and CDK also makes it `DependsOn` the
 * role, which cfn-lint flags (W3005). The dependency that matters is on the role's policy (it must not run
 * before its permissions exist), so only that one stays.
 */
export function dependOnRolePolicyOnly(user: IConstruct, role: iam.IRole): void {
  const resource = CfnResource.isCfnResource(user) ? user : user.node.defaultChild as CfnResource;
  const policy = role.node.tryFindChild('DefaultPolicy')?.node.defaultChild as CfnResource | undefined;
  resource.addOverride('DependsOn', policy ? [Stack.of(user).getLogicalId(policy)] : []);
}
