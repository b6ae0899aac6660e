/**
 * Acknowledging cdk-nag findings and skipping checkov checks, each with its reason, on resources a construct
 * owns. Each construct keeps its own in one place (a `*-acknowledgements.ts` beside it); docs/security.md
 * lists them all (test/security-doc.test.ts keeps the two in agreement).
 *
 * A cdk-nag acknowledgement (`Validations.of(scope).acknowledge`) covers the resource it is made on and every
 * resource beneath that construct, for exactly the finding id given. A checkov skip is a
 * `Metadata.checkov.skip` entry on the CloudFormation resource itself, which is how checkov reads skips in
 * CloudFormation templates (https://www.checkov.io/2.Basics/Suppressing%20and%20Skipping%20Policies.html).
 */
import { CfnResource, Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** The cdk-nag packs bin/app.ts runs, by the prefix of their rule ids. */
export const NIST = 'NIST.800.53.R5';
export const HIPAA = 'HIPAA.Security';
export const SERVERLESS = 'Serverless';
export const AWS_SOLUTIONS = 'AwsSolutions';

/** The ids of `rule` in each of `packs`, e.g. `NIST.800.53.R5-LambdaDLQ`. */
export function inPacks(rule: string, ...packs: string[]): string[] {
  return packs.map((pack) => `${pack}-${rule}`);
}

/** Acknowledges each cdk-nag finding id on `scope` (and every resource beneath it), with one reason. */
export function acknowledge(scope: IConstruct, ids: string[], reason: string): void {
  for (const id of ids) Validations.of(scope).acknowledge({ id, reason });
}

/** The CloudFormation resource of `scope`: itself, or its default child. */
export function cfnResourceOf(scope: IConstruct): CfnResource {
  const resource = CfnResource.isCfnResource(scope) ? scope : scope.node.defaultChild;
  if (!resource || !CfnResource.isCfnResource(resource)) throw new Error(`${scope.node.path} has no CloudFormation resource to mark`);
  return resource;
}

/** Skips checkov check `id` on the resource of `scope`, with the reason (kept beside earlier skips). */
export function skipCheckov(scope: IConstruct, id: string, reason: string): void {
  const resource = cfnResourceOf(scope);
  const existing = (resource.getMetadata('checkov') as { skip?: { id: string; comment: string }[] } | undefined)?.skip ?? [];
  resource.addMetadata('checkov', { skip: [...existing.filter((s) => s.id !== id), { id, comment: reason }] });
}

/** Why a function does without what the Lambda rules of cdk-nag and checkov ask; leave out what it has. */
export interface FunctionExemptions {
  /** No dead-letter queue (NIST/HIPAA/Serverless LambdaDLQ, checkov CKV_AWS_116). */
  readonly deadLetterQueue?: string;
  /** Not in a VPC (NIST/HIPAA LambdaInsideVPC, checkov CKV_AWS_117). */
  readonly vpc?: string;
  /** No reserved concurrency (NIST/HIPAA LambdaConcurrency, checkov CKV_AWS_115). */
  readonly reservedConcurrency?: string;
  /** Environment variables under Lambda's own key, not a customer key (checkov CKV_AWS_173). */
  readonly environmentKey?: string;
  /** No X-Ray tracing (Serverless LambdaTracing). */
  readonly tracing?: string;
  /** Lambda's default memory size (Serverless LambdaDefaultMemorySize). */
  readonly defaultMemory?: string;
  /** Not the latest runtime (Serverless LambdaLatestVersion). */
  readonly latestRuntime?: string;
}

/** Records a function's exemptions: cdk-nag acknowledgements and checkov skips, with their reasons. */
export function exemptFunction(fn: IConstruct, why: FunctionExemptions): void {
  const both = (reason: string | undefined, nagIds: string[], checkovId?: string) => {
    if (!reason) return;
    acknowledge(fn, nagIds, reason);
    if (checkovId) skipCheckov(fn, checkovId, reason);
  };
  both(why.deadLetterQueue, inPacks('LambdaDLQ', NIST, HIPAA, SERVERLESS), 'CKV_AWS_116');
  both(why.vpc, inPacks('LambdaInsideVPC', NIST, HIPAA), 'CKV_AWS_117');
  both(why.reservedConcurrency, inPacks('LambdaConcurrency', NIST, HIPAA), 'CKV_AWS_115');
  if (why.environmentKey) skipCheckov(fn, 'CKV_AWS_173', why.environmentKey);
  both(why.tracing, inPacks('LambdaTracing', SERVERLESS));
  both(why.defaultMemory, inPacks('LambdaDefaultMemorySize', SERVERLESS));
  both(why.latestRuntime, inPacks('LambdaLatestVersion', SERVERLESS));
}

/** Acknowledges NIST/HIPAA IAMNoInlinePolicy for the roles under `scope`: each policy is written for its one role. */
export function acknowledgeRolePolicies(scope: IConstruct, reason = ROLE_POLICY_REASON): void {
  acknowledge(scope, inPacks('IAMNoInlinePolicy', NIST, HIPAA), reason);
}

const ROLE_POLICY_REASON =
  "Each role's policy is written for that one role and grants only what it needs; a customer-managed " +
  'policy would be a second, attachable copy of the same grants with no added control.';

/** Why a platform function may go without reserved concurrency (the reserveLambdaConcurrency setting, off by default). */
export const UNRESERVED_CONCURRENCY =
  'Reserved concurrency is the reserveLambdaConcurrency setting, off by default: Lambda refuses ' +
  "a reservation that leaves fewer than 100 of the account's quota unreserved, and new accounts start with a reduced quota, " +
  "so a reservation would fail the first deploy. Unreserved, the function shares the account's pool, and its throttle alarm " +
  'fires when that pool runs out.';
