import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { IConstruct } from 'constructs';

/**
 * A service principal that may assume a role only on behalf of this account (`aws:SourceAccount`): the
 * cross-service confused-deputy guard AWS recommends for trust policies
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html; SageMaker:
 * https://docs.aws.amazon.com/sagemaker/latest/dg/security-confused-deputy-prevention.html; Step Functions:
 * https://docs.aws.amazon.com/step-functions/latest/dg/procedure-create-iam-role.html#prevent-cross-service-confused-deputy).
 */
export function servicePrincipalForThisAccount(scope: IConstruct, service: string): iam.IPrincipal {
  return new iam.ServicePrincipal(service).withConditions({ StringEquals: { 'aws:SourceAccount': Stack.of(scope).account } });
}

/**
 * Adds the same guard to a role another library created (its trust policy has one statement, for `service`).
 * The trust policy is rendered by aws-cdk-lib, so the condition is set on the CloudFormation property.
 */
export function guardTrustPolicy(role: iam.IRole, service: string): void {
  const cfnRole = role.node.defaultChild as iam.CfnRole;
  const trust = Stack.of(role).resolve(cfnRole.assumeRolePolicyDocument) as { Statement: { Principal?: { Service?: unknown } }[] };
  if (trust.Statement.length !== 1 || JSON.stringify(trust.Statement[0].Principal?.Service) !== JSON.stringify(service)) {
    throw new Error(`${role.node.path}: expected a trust policy with one statement for ${service}, got ${JSON.stringify(trust.Statement)}`);
  }
  cfnRole.addPropertyOverride('AssumeRolePolicyDocument.Statement.0.Condition', {
    StringEquals: { 'aws:SourceAccount': Stack.of(role).account },
  });
}
