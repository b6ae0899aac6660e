import { CfnCondition, CfnParameter, Fn } from 'aws-cdk-lib';
import { Construct } from 'constructs';

import { NO_APPROVED_VERSION } from '../training/runtime/model-registration-contract';

/** Where the served version comes from: the serving pointer (an SSM parameter's name), or a pinned version's ARN. */
export type ServedModelPackageSource = { readonly pointerParameterName: string } | { readonly pinnedArn: string };

/** The version to serve, and the condition under which there is one. */
export interface ServedModelPackage {
  /** The model package version's ARN (a parameter's value when it comes from the pointer). */
  readonly arn: string;
  /** Holds while the pointer names a version; undefined for a pinned version (always one). */
  readonly condition?: CfnCondition;
}

/**
 * The model package version the endpoint serves: the pinned one, or the one the pointer names. The pointer reads
 * `none` until a version is approved (the first deploy with modelApproval=manual): then the endpoint is not
 * created (a CloudFormation condition), the API answers 503, and the deploy after an approval creates it.
 */
export function servedModelPackage(scope: Construct, modelPackage: ServedModelPackageSource): ServedModelPackage {
  if ('pinnedArn' in modelPackage) return { arn: modelPackage.pinnedArn };
  // An SSM-typed parameter: CloudFormation reads the pointer at each deploy, so the endpoint follows the
  // registry and a later deploy keeps (never reverts) the version the pointer names.
  // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html#aws-ssm-parameter-types
  const pointer = new CfnParameter(scope, 'ServedModelPackage', {
    type: 'AWS::SSM::Parameter::Value<String>',
    default: modelPackage.pointerParameterName,
    description: `SSM parameter naming the approved model package version the endpoint serves (written by the registration step; "${NO_APPROVED_VERSION}" while none is approved)`,
  });
  const condition = new CfnCondition(scope, 'HasApprovedModel', {
    expression: Fn.conditionNot(Fn.conditionEquals(pointer.valueAsString, NO_APPROVED_VERSION)),
  });
  return { arn: pointer.valueAsString, condition };
}
