/**
 * cdk-nag acknowledgements for wildcard resources and actions, made on the construct that owns them.
 *
 * How far an acknowledgement reaches (cdk-nag 3.0, `NagPack.isAcknowledged`): cdk-nag checks the finding's
 * resource and every construct above it for `Validations.of(scope).acknowledge({ id })` metadata, so an
 * acknowledgement on a construct covers all resources beneath it. The id must match exactly: `AwsSolutions-IAM5`
 * does not cover `AwsSolutions-IAM5[Resource::<Bucket.Arn>/*]`, so each wildcard is named the way cdk-nag names it.
 *
 * A value from another stack reads as the producer's `Fn::GetAtt` until synth prepares references, and as a
 * cross-stack reference after. Tests check the unprepared tree, `cdk synth` the prepared one, so each finding is
 * acknowledged in both forms: now, and again once references are prepared.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * The name cdk-nag gives a resolved CloudFormation value in a finding id: references become `<LogicalId>` or
 * `<LogicalId.Attribute>`, joins are joined, `${X}` in a Fn::Sub becomes `<X>`. The same rules as cdk-nag's
 * (unexported) `flattenCfnReference`; test/nag-acknowledgements.test.ts compares the two.
 */
export function nagFindingName(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value.replace(/\$\{/g, '<').replace(/}/g, '>');
  const node = value as Record<string, unknown>;
  if (node['Fn::Join']) {
    const [delimiter, items] = node['Fn::Join'] as [string, unknown[]];
    return items.map(nagFindingName).join(delimiter);
  }
  if (node['Fn::Sub']) return nagFindingName(node['Fn::Sub']);
  if (node['Fn::GetAtt']) {
    const [resource, attribute] = node['Fn::GetAtt'] as [unknown, unknown];
    return `<${nagFindingName(resource)}.${nagFindingName(attribute)}>`;
  }
  if (node['Fn::ImportValue']) return nagFindingName(node['Fn::ImportValue']);
  if (node.Ref) return `<${nagFindingName(node.Ref)}>`;
  return JSON.stringify(value);
}

/**
 * Acknowledges the AwsSolutions-IAM5 finding for the wildcard resource `resource` (a string or token) in any
 * policy under `scope`, with the reason it is as narrow as it can be.
 */
export function acknowledgeWildcardResource(scope: IConstruct, resource: string, reason: string): void {
  const acknowledge = () => {
    const name = nagFindingName(Stack.of(scope).resolve(resource));
    Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[Resource::${name}]`, reason });
  };
  acknowledge();
  // Tree validation runs after synth has prepared cross-stack references and before cdk-nag's plugin.
  scope.node.addValidation({
    validate: () => {
      acknowledge();
      return [];
    },
  });
}

/** Acknowledges the AwsSolutions-IAM5 finding for the wildcard action `action` in any policy under `scope`. */
export function acknowledgeWildcardAction(scope: IConstruct, action: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[Action::${action}]`, reason });
}
