/**
 * cdk-nag acknowledgements for wildcard resources that hold references to other stacks.
 *
 * cdk-nag names an IAM5 finding after the resource as it reads in the template. A value from another stack
 * reads as the producer's `Fn::GetAtt` until synth prepares references, and as a cross-stack reference
 * (`Fn::GetStackOutput` or `Fn::ImportValue`) after. Tests check the unprepared tree, `cdk synth` the
 * prepared one, so each finding is acknowledged in both forms: now, and again once references are prepared.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import { IConstruct } from 'constructs';

/**
 * Acknowledges one AwsSolutions-IAM5 finding on `policy`: the wildcard resource `resource` (a string or
 * token, named the way cdk-nag names it), with the reason it is as narrow as it can be.
 */
export function acknowledgeWildcardResource(policy: IConstruct, resource: string, reason: string): void {
  const acknowledge = () => {
    const name = flattenCfnReference(Stack.of(policy).resolve(resource));
    Validations.of(policy).acknowledge({ id: `AwsSolutions-IAM5[Resource::${name}]`, reason });
  };
  acknowledge();
  // Tree validation runs after synth has prepared cross-stack references and before cdk-nag's plugin.
  policy.node.addValidation({ validate: () => { acknowledge(); return []; } });
}

/** Acknowledges one AwsSolutions-IAM5 finding on `policy`: the wildcard action `action`, with the reason. */
export function acknowledgeWildcardAction(policy: IConstruct, action: string, reason: string): void {
  Validations.of(policy).acknowledge({ id: `AwsSolutions-IAM5[Action::${action}]`, reason });
}
