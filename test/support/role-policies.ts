/**
 * A role's identity-based policies in an evaluated deployment (local/state-machine/cfn-evaluator.ts): the
 * AWS::IAM::Role whose evaluated ARN is the one a request names, its inline Policies, and every AWS::IAM::Policy
 * and AWS::IAM::ManagedPolicy (in any stack) whose Roles name it, each PolicyDocument evaluated as CloudFormation
 * would. A role with a permissions boundary or an attached managed policy this deployment does not define is
 * refused: the evaluator (iam-policy-evaluator.ts) would not see all of its permissions.
 */
import type { CfnDeployment, CfnStack } from '../../local/state-machine/cfn-evaluator';
import type { LocatedPolicy, PolicyDocument } from './iam-policy-evaluator';

/** A role found in the deployment, with its identity-based policies. */
export interface RoleWithPolicies {
  /** `<stack>/<logical id>`. */
  readonly role: string;
  readonly policies: LocatedPolicy[];
}

/** The role whose evaluated ARN is `roleArn`, and its policies; throws when no role (or more than one) has it. */
export function rolePolicies(deployment: CfnDeployment, roleArn: string): RoleWithPolicies {
  const found: [CfnStack, string][] = [];
  for (const stack of deployment.stacks) {
    for (const id of stack.resourceIds()) {
      if (stack.resourceType(id) === 'AWS::IAM::Role' && stack.arn(id) === roleArn) found.push([stack, id]);
    }
  }
  if (found.length !== 1) throw new Error(`expected one AWS::IAM::Role with the ARN ${roleArn}, found ${found.length}`);
  const [stack, id] = found[0];
  const role = `${stack.name}/${id}`;
  const properties = stack.properties(id);
  if (properties.PermissionsBoundary !== undefined) throw new Error(`${role}: permissions boundaries are not evaluated`);
  const policies: LocatedPolicy[] = ((properties.Policies ?? []) as { PolicyName: string; PolicyDocument: PolicyDocument }[]).map((p) => ({
    location: `${role} Policies[${p.PolicyName}]`,
    document: p.PolicyDocument,
  }));
  const roleName = stack.physicalName(id);
  const managedArns = new Set((properties.ManagedPolicyArns ?? []) as string[]);
  for (const other of deployment.stacks) {
    for (const pid of other.resourceIds()) {
      const type = other.resourceType(pid);
      if (type !== 'AWS::IAM::Policy' && type !== 'AWS::IAM::ManagedPolicy') continue;
      const raw = other.template.Resources![pid].Properties ?? {};
      const roles = (other.evaluate(raw.Roles ?? [], `Resources.${pid}.Properties.Roles`) ?? []) as string[];
      const arn =
        type === 'AWS::IAM::ManagedPolicy' && managedArns.size > 0 ? (other.evaluate({ Ref: pid }, `Resources.${pid}`) as string) : '';
      const attached = managedArns.delete(arn);
      if (!roles.includes(roleName) && !attached) continue;
      policies.push({ location: `${other.name}/${pid}`, document: other.properties(pid).PolicyDocument as PolicyDocument });
    }
  }
  if (managedArns.size > 0)
    throw new Error(`${role}: managed policies outside this deployment are not evaluated: ${[...managedArns].join(', ')}`);
  return { role, policies };
}
