/** How the project's cdk-nag acknowledgements name findings, and how far one reaches. */
import { App, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
// eslint-disable-next-line no-restricted-imports -- the one place that reads cdk-nag's internals: to notice when they drift from ours
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import { Construct } from 'constructs';

import { acknowledgeWildcardResource, nagFindingName } from '../constructs/private/nag-acknowledgements';

const SHAPES: unknown[] = [
  'arn:aws:s3:::bucket/*',
  { 'Fn::GetAtt': ['Bucket83908E77', 'Arn'] },
  { Ref: 'AWS::Partition' },
  { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':logs:', { 'Fn::GetAtt': ['Logs', 'Arn'] }, ':*']] },
  { 'Fn::Sub': 'cdk-${Qualifier}-assets-${AWS::AccountId}' },
  { 'Fn::ImportValue': 'Producer:ExportsOutputFnGetAttKeyArn' },
  { 'Fn::GetStackOutput': { StackName: 'Producer', OutputName: 'KeyArn' } },
];

/** IAM5 findings under `app`, as "rule at path". */
function iam5Findings(app: App): string[] {
  return new AwsSolutionsChecks()
    .validateScope(app)
    .violations.filter((v) => v.ruleName.startsWith('AwsSolutions-IAM5'))
    .flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`));
}

describe('nag acknowledgements', () => {
  test.each(SHAPES.map((s) => [JSON.stringify(s), s]))('name %s the way cdk-nag names it', (_label, shape) => {
    expect(nagFindingName(shape)).toBe(flattenCfnReference(shape));
  });

  test('an acknowledgement on a construct covers the wildcard in a policy beneath it, and only that wildcard', () => {
    const app = new App();
    const stack = new Stack(app, 'Stack');
    const owner = new Construct(stack, 'Owner');
    const role = new iam.Role(owner, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::bucket/*', 'arn:aws:s3:::other/*'] }));
    expect(iam5Findings(app)).toHaveLength(2);

    acknowledgeWildcardResource(owner, 'arn:aws:s3:::bucket/*', 'test');
    expect(iam5Findings(app)).toEqual(['AwsSolutions-IAM5[Resource::arn:aws:s3:::other/*] at Stack/Owner/Role/DefaultPolicy/Resource']);
  });
});
