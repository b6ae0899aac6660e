/**
 * What finding the approved model takes (runtime/approved-model.ts): list the group's Approved versions and read the
 * newest one. Actions and resource types: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html
 */
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';

import { acknowledgeWildcardResource } from '../private/nag-acknowledgements';
import type { ApprovedModels } from './processing-job-props';

/** Lets `grantee` find the group's newest Approved version and its artifact's URL: nothing it can change. */
export function grantApprovedModelLookup(grantee: lambda.IFunction, models: ApprovedModels): void {
  const versions = Stack.of(grantee).formatArn({
    service: 'sagemaker',
    resource: 'model-package',
    resourceName: `${models.groupNameInArns}/*`,
  });
  iam.Grant.addToPrincipal({ grantee, actions: ['sagemaker:DescribeModelPackage'], resourceArns: [versions] });
  iam.Grant.addToPrincipal({ grantee, actions: ['sagemaker:ListModelPackages'], resourceArns: ['*'] });
  if (grantee.role) {
    acknowledgeWildcardResource(
      grantee.role,
      versions,
      "Model package versions are numbered by SageMaker within the platform's group only.",
    );
    acknowledgeWildcardResource(grantee.role, '*', 'sagemaker:ListModelPackages supports no resource scope; it reads summaries only.');
  }
}
