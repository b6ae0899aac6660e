/**
 * Decides whether identity policies allow one request, as IAM's policy evaluation logic does for a principal's
 * identity-based policies (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
 * an explicit Deny wins, else an Allow allows, else the request is implicitly denied. A statement applies when its
 * Action (or NotAction), its Resource (or NotResource) and every condition match.
 *
 * - Action: case-insensitive, with `*` and `?` (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html).
 * - Resource: the six colon-separated ARN parts matched part by part, case-sensitive, with `*` and `?` in each
 *   (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html).
 * - Condition: operators AND, keys AND, a key's values OR (a negated operator: none of them); key names are
 *   case-insensitive; a key absent from the context makes a positive operator false and a negated one true,
 *   `...IfExists` true, `Null` tests presence, ForAllValues true and ForAnyValue false
 *   (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html,
 *   https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html).
 *
 * Anything else (another operator, a policy variable `${...}`, a Principal in an identity policy) throws: a check
 * that guessed could pass a policy that AWS would deny.
 */

/** One statement, as a policy document holds it. */
export interface Statement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action?: string | string[];
  readonly NotAction?: string | string[];
  readonly Resource?: string | string[];
  readonly NotResource?: string | string[];
  readonly Condition?: Record<string, Record<string, unknown>>;
  readonly Principal?: unknown;
  readonly NotPrincipal?: unknown;
}

/** A policy document. */
export interface PolicyDocument {
  readonly Version?: string;
  readonly Statement: Statement | Statement[];
}

/** A policy with where it came from (for the answer's explanation). */
export interface LocatedPolicy {
  readonly location: string;
  readonly document: PolicyDocument;
}

/** The request: its action, resource ARN and context keys (`s3:prefix`, `kms:GrantIsForAWSResource`). */
export interface AccessRequest {
  readonly action: string;
  readonly resource: string;
  readonly context?: Record<string, string | boolean | string[]>;
}

/** The answer, naming the statements that decided it. */
export interface Decision {
  readonly decision: 'Allow' | 'ExplicitDeny' | 'ImplicitDeny';
  readonly allowed: boolean;
  /** `<location> Statement[<i>]` of each statement that matched with the deciding effect. */
  readonly by: string[];
}

/** Thrown for a policy element the evaluator does not implement. */
export class UnsupportedPolicyError extends Error {}

const list = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

const regexCache = new Map<string, RegExp>();

/** Whether `text` matches the IAM glob `glob` (`*` any run of characters, `?` one character). */
export function globMatches(glob: string, text: string, ignoreCase = false): boolean {
  const cacheKey = `${ignoreCase ? 'i' : 's'}:${glob}`;
  let r = regexCache.get(cacheKey);
  if (!r) {
    const body = glob
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join('');
    r = new RegExp(`^${body}$`, ignoreCase ? 'is' : 's');
    regexCache.set(cacheKey, r);
  }
  return r.test(text);
}

function noVariables(value: string, where: string): string {
  if (value.includes('${')) throw new UnsupportedPolicyError(`${where}: policy variables are not implemented (${value})`);
  return value;
}

/** ARN matching, part by part: `arn:partition:service:region:account:resource` (the resource part may hold colons). */
export function arnMatches(pattern: string, arn: string): boolean {
  if (pattern === '*') return true;
  const parts = (s: string) => {
    const p = s.split(':');
    return p.length < 6 ? undefined : [...p.slice(0, 5), p.slice(5).join(':')];
  };
  const [want, have] = [parts(pattern), parts(arn)];
  if (!want || !have) return globMatches(pattern, arn);
  return want.every((w, i) => globMatches(w, have[i]));
}

type Context = NonNullable<AccessRequest['context']>;

/** The context value of `key` (case-insensitive key names), or undefined when absent. */
function lookup(context: Context, key: string): string[] | undefined {
  const found = Object.entries(context).find(([k]) => k.toLowerCase() === key.toLowerCase());
  if (!found) return undefined;
  return list(found[1] as string | boolean | string[]).map((v) => String(v));
}

/** One value comparison of an operator (without Not, IfExists or a set qualifier). */
const COMPARE: Record<string, (policyValue: string, contextValue: string) => boolean> = {
  StringEquals: (p, c) => p === c,
  StringEqualsIgnoreCase: (p, c) => p.toLowerCase() === c.toLowerCase(),
  StringLike: (p, c) => globMatches(p, c),
  ArnEquals: (p, c) => arnMatches(p, c),
  ArnLike: (p, c) => arnMatches(p, c),
  Bool: (p, c) => p.toLowerCase() === c.toLowerCase(),
};
const NEGATED: Record<string, string> = {
  StringNotEquals: 'StringEquals',
  StringNotEqualsIgnoreCase: 'StringEqualsIgnoreCase',
  StringNotLike: 'StringLike',
  ArnNotEquals: 'ArnEquals',
  ArnNotLike: 'ArnLike',
};

/** Whether one `operator: { key: values }` condition holds for the context. */
function conditionHolds(operator: string, key: string, values: unknown, context: Context, where: string): boolean {
  const policyValues = list(values as unknown).map((v) => noVariables(String(v), where));
  const present = lookup(context, key);
  let op = operator;
  let qualifier: 'ForAnyValue' | 'ForAllValues' | undefined;
  const q = /^(ForAnyValue|ForAllValues):(.+)$/.exec(op);
  if (q) [qualifier, op] = [q[1] as 'ForAnyValue' | 'ForAllValues', q[2]];
  if (op === 'Null') {
    if (qualifier) throw new UnsupportedPolicyError(`${where}: ${operator} is not implemented`);
    const wantAbsent = policyValues.map((v) => v.toLowerCase() === 'true');
    return wantAbsent.some((absent) => absent === (present === undefined));
  }
  const ifExists = op.endsWith('IfExists');
  if (ifExists) op = op.slice(0, -'IfExists'.length);
  const negated = op in NEGATED;
  const base = negated ? NEGATED[op] : op;
  const compare = COMPARE[base];
  if (!compare) throw new UnsupportedPolicyError(`${where}: condition operator ${operator} is not implemented`);
  const matchesOne = (c: string) => {
    const any = policyValues.some((p) => compare(p, c));
    return negated ? !any : any;
  };
  if (present === undefined) {
    if (ifExists) return true;
    if (qualifier === 'ForAllValues') return true;
    if (qualifier === 'ForAnyValue') return false;
    return negated;
  }
  if (qualifier === 'ForAllValues') return present.every(matchesOne);
  if (qualifier === 'ForAnyValue') return present.some(matchesOne);
  if (present.length !== 1)
    throw new UnsupportedPolicyError(`${where}: ${operator} on the multivalued key ${key} needs ForAnyValue or ForAllValues`);
  return matchesOne(present[0]);
}

/** Whether the statement applies to the request. */
function applies(statement: Statement, request: AccessRequest, where: string): boolean {
  if (statement.Principal !== undefined || statement.NotPrincipal !== undefined)
    throw new UnsupportedPolicyError(`${where}: an identity policy statement names no Principal`);
  if ((statement.Action === undefined) === (statement.NotAction === undefined))
    throw new UnsupportedPolicyError(`${where}: a statement has exactly one of Action and NotAction`);
  if ((statement.Resource === undefined) === (statement.NotResource === undefined))
    throw new UnsupportedPolicyError(`${where}: a statement has exactly one of Resource and NotResource`);
  const actionMatch = (patterns: string[]) => patterns.some((p) => globMatches(p, request.action, true));
  const action = statement.Action !== undefined ? actionMatch(list(statement.Action)) : !actionMatch(list(statement.NotAction));
  if (!action) return false;
  const resourceMatch = (patterns: string[]) => patterns.some((p) => arnMatches(noVariables(p, where), request.resource));
  const resource = statement.Resource !== undefined ? resourceMatch(list(statement.Resource)) : !resourceMatch(list(statement.NotResource));
  if (!resource) return false;
  const context = request.context ?? {};
  return Object.entries(statement.Condition ?? {}).every(([operator, keys]) =>
    Object.entries(keys).every(([key, values]) => conditionHolds(operator, key, values, context, where)),
  );
}

/** IAM's decision on `request` under the identity policies `policies`. */
export function evaluateAccess(policies: LocatedPolicy[], request: AccessRequest): Decision {
  const allows: string[] = [];
  const denies: string[] = [];
  for (const { location, document } of policies) {
    list(document.Statement).forEach((statement, i) => {
      const where = `${location} Statement[${i}]`;
      if (statement.Effect !== 'Allow' && statement.Effect !== 'Deny')
        throw new UnsupportedPolicyError(`${where}: Effect ${statement.Effect}`);
      if (applies(statement, request, where)) (statement.Effect === 'Deny' ? denies : allows).push(where);
    });
  }
  if (denies.length > 0) return { decision: 'ExplicitDeny', allowed: false, by: denies };
  if (allows.length > 0) return { decision: 'Allow', allowed: true, by: allows };
  return { decision: 'ImplicitDeny', allowed: false, by: [] };
}
