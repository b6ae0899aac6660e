import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledgeWildcardResource } from './nag-acknowledgements';

/**
 * A role for a Lambda function that may write only to its log group: no managed policy
 * (AWSLambdaBasicExecutionRole would allow every log group of the account).
 */
export function lambdaRole(scope: Construct, id: string, logGroup: logs.ILogGroup, description?: string): iam.Role {
  const role = new iam.Role(scope, id, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), description });
  iam.Grant.addToPrincipal({ grantee: role, actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resourceArns: [logGroup.logGroupArn] });
  acknowledgeWildcardResource(role, logGroup.logGroupArn,
    'The function writes only to its own log group; the ARN ends in :* because streams are created per container.');
  return role;
}
