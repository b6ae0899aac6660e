/**
 * The one way a construct refuses its props, modelled on aws-cdk-lib core's `ValidationError` (which is
 * internal to aws-cdk-lib): the error names the construct and its path, then every broken rule as
 * `invalid <prop> <value>; allowed: <what is allowed> (see <AWS page>)`, one line each. A value that is an
 * unresolved token (known only at deploy time) is not checked.
 *
 * lib/config.ts words the same problems in its settings' names (ConfigError); constructs/sagemaker-rules.ts
 * holds the SageMaker rules both call.
 */
import { Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

import type { RuleProblem } from '../sagemaker-rules';

/** A construct's props broke a rule: thrown at construction, naming the construct path. */
export class PropValidationError extends Error {
  /** The path of the construct whose props are refused (undefined for a class that is not a construct). */
  readonly constructPath?: string;
  /** The broken rules. */
  readonly problems: readonly RuleProblem[];

  constructor(subject: IConstruct | string, problems: readonly RuleProblem[]) {
    const where = typeof subject === 'string' ? subject : `${subject.constructor.name} at ${subject.node.path}`;
    super(problems.map((p) => `${where}: ${describeProblem(p)}`).join('\n'));
    this.name = 'ValidationError';
    this.constructPath = typeof subject === 'string' ? undefined : subject.node.path;
    this.problems = problems;
  }
}

/**
 * Throws a {@link PropValidationError} naming every problem found, or returns when there is none.
 * @param subject the construct (its class and path are named), or, before a construct exists or for a class
 *   that is not one, the words naming it (e.g. `TrafficShifting`).
 */
export function validateProps(subject: IConstruct | string, problems: readonly (RuleProblem | undefined)[]): void {
  const found = problems.filter((p): p is RuleProblem => p !== undefined);
  if (found.length > 0) throw new PropValidationError(subject, found);
}

/** Names a construct whose constructor has not run yet (a check before `super()`), as {@link PropValidationError} does. */
export function subjectBefore(className: string, scope: IConstruct, id: string): string {
  return `${className} at ${scope.node.path ? `${scope.node.path}/` : ''}${id}`;
}

/**
 * A problem when `value` breaks `ok`, or undefined when it keeps it or is an unresolved token.
 * @param source the AWS page the rule comes from, when it is AWS's
 */
export function check<T>(prop: string, value: T, ok: (value: T) => boolean, allowed: string, source?: string): RuleProblem | undefined {
  if (isUnresolved(value) || ok(value)) return undefined;
  return { setting: prop, value, allowed, ...(source ? { source } : {}) };
}

/** Whether `value` (or any item of it, for an array) is a token CloudFormation resolves at deploy time. */
export function isUnresolved(value: unknown): boolean {
  return Array.isArray(value) ? value.some((v) => Token.isUnresolved(v)) : Token.isUnresolved(value);
}

/** A rule problem as one line: `invalid <prop> <value>; allowed: <allowed> (see <source>)`. */
export function describeProblem(p: RuleProblem): string {
  const value = typeof p.value === 'string' ? `"${p.value}"` : JSON.stringify(p.value);
  return `invalid ${p.setting} ${value}; allowed: ${p.allowed}${p.source ? ` (see ${p.source})` : ''}`;
}
