import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/**
 * A role for a Lambda function that may write only to its log group: no managed policy
 * (AWSLambdaBasicExecutionRole would allow every log group of the account).
 */
export function lambdaRole(scope: Construct, id: string, logGroup: logs.ILogGroup, description?: string): iam.Role {
  const role = new iam.Role(scope, id, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), description });
  // The group's ARN (its Arn attribute) ends in `:*`, its streams; cdk-nag sees no wildcard in the attribute.
  iam.Grant.addToPrincipal({ grantee: role, actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resourceArns: [logGroup.logGroupArn] });
  return role;
}
