import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';

/**
 * Takes `actions` out of the `Resource: *` statements that aws-cdk-lib writes into `role`'s default policy, for a
 * role aws-cdk-lib creates and grants itself (a construct's internal role, with no option to pass our own). The
 * caller grants those actions again on what they need. The statements exist only once the construct tree is
 * complete, so this runs as a validation of `role`, after synth has prepared the tree and before it writes the
 * template; it reports an error when none of the actions is found, so it cannot outlive the grant it narrows.
 */
export function withoutActionsOnAnyResource(role: iam.Role, actions: string[]): void {
  const drop = new Set(actions.map((a) => a.toLowerCase()));
  let narrowed = false;
  role.node.addValidation({
    validate: () => {
      const cfn = role.node.tryFindChild('DefaultPolicy')?.node.defaultChild as iam.CfnPolicy | undefined;
      if (!cfn) return narrowed ? [] : [`${role.node.path} has no default policy to take ${actions.join(', ')} on * out of`];
      const doc = Stack.of(role).resolve(cfn.policyDocument) as { Statement: Record<string, unknown>[] };
      const statements = doc.Statement.flatMap((s) => {
        if (s.Effect !== 'Allow' || s.Resource !== '*') return [s];
        const kept = [s.Action].flat().filter((a) => !drop.has(String(a).toLowerCase()));
        if (kept.length === [s.Action].flat().length) return [s];
        narrowed = true;
        return kept.length === 0 ? [] : [{ ...s, Action: kept.length === 1 ? kept[0] : kept }];
      });
      cfn.policyDocument = { ...doc, Statement: statements };
      return narrowed ? [] : [`${role.node.path}: aws-cdk-lib no longer grants ${actions.join(', ')} on *; remove this narrowing`];
    },
  });
}
