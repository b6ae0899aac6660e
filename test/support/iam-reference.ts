/**
 * Checks IAM policy statements against AWS's Service Authorization Reference (the pinned extract in
 * test/reference/iam-service-reference.json, written by `npm run refresh:iam-reference`): each action exists in
 * its service; each service-specific condition key is defined, not deprecated, and applies to every action of its
 * statement unless its operator ends in IfExists. A key that does not apply to an action is absent from that
 * action's request context, so an Allow under it never matches (the call is denied) and a Deny under it never
 * fires. Global `aws:*` keys apply everywhere and are only counted.
 */
import * as fs from 'fs';
import * as path from 'path';

import type { IamServiceReference, ServiceReference } from '../../scripts/refresh-iam-reference';

export type { IamServiceReference } from '../../scripts/refresh-iam-reference';

/** The committed reference data. */
export function loadIamReference(): IamServiceReference {
  return JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'reference', 'iam-service-reference.json'), 'utf8'));
}

/** One statement of one policy, with where it came from. */
export interface LocatedStatement {
  /** `<stack>/<logical id> <property>.Statement[<index>]`, e.g. `DlPlatform-Training/RoleDefaultPolicy PolicyDocument.Statement[2]`. */
  readonly location: string;
  readonly statement: Record<string, unknown>;
  /** Set when the policy could not be read before deploy (then `statement` is empty). */
  readonly unreadable?: string;
}

/** What a finding is about. */
export type FindingKind =
  | 'unreadable-policy'
  | 'unknown-service'
  | 'unknown-action'
  | 'unknown-condition-key'
  | 'deprecated-condition-key'
  | 'condition-key-not-applicable';

/** One problem the check found. */
export interface Finding {
  readonly kind: FindingKind;
  readonly location: string;
  /** The action (for unknown-action, condition-key-not-applicable). */
  readonly action?: string;
  /** The condition key (for the condition-key kinds). */
  readonly conditionKey?: string;
  readonly message: string;
}

/** A documented AWS pattern that trips the check, with the page that prescribes it. */
export interface ReferenceException {
  /** Only condition keys that do not apply to some actions can be excepted; unknown or deprecated ones cannot. */
  readonly kind: 'condition-key-not-applicable';
  /** The condition key as the policy writes it (compared case-insensitively). */
  readonly conditionKey: string;
  /** The actions the key may fail to apply to. */
  readonly actions: string[];
  readonly effect: 'Allow' | 'Deny';
  /** Whom the statement names: a service principal starting with this (`logs.`), or `*` for everyone. */
  readonly principal: { readonly servicePrefix: string } | '*';
  /** The AWS documentation page that prescribes the statement. */
  readonly url: string;
  readonly reason: string;
}

/** What the check looked at. */
export interface CheckCounts {
  statements: number;
  /** Action entries as written (a wildcard counts once). */
  actions: number;
  /** Concrete actions the entries expand to, summed over statements. */
  expandedActions: number;
  /** Condition key entries, global ones included. */
  conditionKeys: number;
  globalConditionKeys: number;
}

/** Policy documents of each resource type: property name -> how to find the documents in it. */
const POLICY_PROPERTIES: Record<string, Array<{ property: string; documents: (value: unknown) => unknown[] }>> = {
  'AWS::IAM::Policy': [{ property: 'PolicyDocument', documents: (v) => [v] }],
  'AWS::IAM::ManagedPolicy': [{ property: 'PolicyDocument', documents: (v) => [v] }],
  'AWS::IAM::Role': [
    { property: 'AssumeRolePolicyDocument', documents: (v) => [v] },
    { property: 'Policies', documents: (v) => (v as Array<{ PolicyDocument: unknown }>).map((p) => p.PolicyDocument) },
  ],
  'AWS::IAM::User': [{ property: 'Policies', documents: (v) => (v as Array<{ PolicyDocument: unknown }>).map((p) => p.PolicyDocument) }],
  'AWS::IAM::Group': [{ property: 'Policies', documents: (v) => (v as Array<{ PolicyDocument: unknown }>).map((p) => p.PolicyDocument) }],
  'AWS::KMS::Key': [{ property: 'KeyPolicy', documents: (v) => [v] }],
  'AWS::S3::BucketPolicy': [{ property: 'PolicyDocument', documents: (v) => [v] }],
  'AWS::SNS::TopicPolicy': [{ property: 'PolicyDocument', documents: (v) => [v] }],
  'AWS::SQS::QueuePolicy': [{ property: 'PolicyDocument', documents: (v) => [v] }],
  'AWS::ApiGateway::RestApi': [{ property: 'Policy', documents: (v) => [v] }],
  'AWS::ECR::Repository': [{ property: 'RepositoryPolicyText', documents: (v) => [v] }],
  'AWS::SecretsManager::ResourcePolicy': [{ property: 'ResourcePolicy', documents: (v) => [v] }],
  // CloudFormation takes this one as a JSON string, often built with Fn::Join around Refs.
  'AWS::Logs::ResourcePolicy': [{ property: 'PolicyDocument', documents: (v) => [JSON.parse(intrinsicText(v))] }],
  'AWS::Events::EventBusPolicy': [{ property: 'Statement', documents: (v) => [{ Statement: v }] }],
};

/**
 * A string-valued intrinsic as text with placeholders: `{"Fn::Join": ["", ["logs.", {"Ref": "AWS::Region"}]]}` reads
 * `logs.${AWS::Region}`.
 */
export function intrinsicText(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as { 'Fn::Join'?: [string, unknown[]]; Ref?: string; 'Fn::GetAtt'?: string[] } | undefined;
  if (v?.['Fn::Join']) return v['Fn::Join'][1].map(intrinsicText).join(v['Fn::Join'][0]);
  if (v?.Ref) return `\${${v.Ref}}`;
  if (v?.['Fn::GetAtt']) return `\${${v['Fn::GetAtt'].join('.')}}`;
  return JSON.stringify(value);
}

/** Every statement of every policy in a synthesized template, plus Lambda permissions as one-action statements. */
export function statementsOf(
  stackName: string,
  template: { Resources?: Record<string, { Type: string; Properties?: Record<string, unknown> }> },
): LocatedStatement[] {
  const found: LocatedStatement[] = [];
  for (const [id, resource] of Object.entries(template.Resources ?? {})) {
    const props = resource.Properties ?? {};
    if (resource.Type === 'AWS::Lambda::Permission') {
      // https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html: FunctionUrlAuthType becomes lambda:FunctionUrlAuthType.
      const condition = props.FunctionUrlAuthType
        ? { StringEquals: { 'lambda:FunctionUrlAuthType': props.FunctionUrlAuthType } }
        : undefined;
      const principal = intrinsicText(props.Principal).endsWith('.amazonaws.com') ? { Service: props.Principal } : { AWS: props.Principal };
      found.push({
        location: `${stackName}/${id} Action`,
        statement: { Effect: 'Allow', Action: props.Action, Principal: principal, ...(condition ? { Condition: condition } : {}) },
      });
      continue;
    }
    for (const { property, documents } of POLICY_PROPERTIES[resource.Type] ?? []) {
      if (props[property] === undefined) continue;
      let docs: unknown[];
      try {
        docs = documents(props[property]);
      } catch (e) {
        found.push({
          location: `${stackName}/${id} ${property}`,
          statement: {},
          unreadable: `cannot read the policy before deploy (${(e as Error).message})`,
        });
        continue;
      }
      docs.forEach((doc, d) => {
        const docLabel = property === 'Policies' ? `${property}[${d}].PolicyDocument` : property;
        const statements = (doc as { Statement?: unknown } | undefined)?.Statement;
        if (typeof statements !== 'object' || statements === null) {
          // E.g. an Fn::If around the document: the check would silently see nothing, so it says so.
          found.push({
            location: `${stackName}/${id} ${docLabel}`,
            statement: {},
            unreadable: 'the document has no literal Statement list',
          });
          return;
        }
        const list = Array.isArray(statements) ? statements : [statements];
        list.forEach((statement, i) =>
          found.push({ location: `${stackName}/${id} ${docLabel}.Statement[${i}]`, statement: statement as Record<string, unknown> }),
        );
      });
    }
  }
  return found;
}

const asList = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** IAM wildcards (`*`, `?`) as a case-insensitive regular expression; IAM matches action names case-insensitively. */
function wildcard(pattern: string): RegExp {
  return new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );
}

/** A condition key name from the reference (placeholders `${...}` match any text) as a regular expression. */
function keyPattern(key: string): RegExp {
  const parts = key.split(/\$\{[^}]*\}/).map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('.+')}$`, 'i');
}

/** The reference's entry for a condition key as a policy writes it, searching its own service first. */
function lookUpKey(
  reference: IamServiceReference,
  key: string,
): { service: string; name: string; info: ServiceReference['conditionKeys'][string] } | undefined {
  const prefix = key.split(':')[0].toLowerCase();
  const services = Object.keys(reference.services).sort((a, b) => Number(b === prefix) - Number(a === prefix));
  for (const service of services) {
    const keys = reference.services[service].conditionKeys;
    for (const [name, info] of Object.entries(keys)) {
      if (name.toLowerCase() === key.toLowerCase() || (name.includes('${') && keyPattern(name).test(key))) return { service, name, info };
    }
  }
  return undefined;
}

/** Whether the statement's principal is the exception's: a service principal by prefix, or everyone. */
function principalMatches(statement: Record<string, unknown>, principal: ReferenceException['principal']): boolean {
  const p = statement.Principal as { Service?: unknown; AWS?: unknown } | string | undefined;
  if (principal === '*') return p === '*' || (typeof p === 'object' && asList(p.AWS).includes('*'));
  return typeof p === 'object' && asList(p.Service).some((s) => intrinsicText(s).startsWith(principal.servicePrefix));
}

/** Whether a documented exception covers this finding. */
function excepted(
  finding: Finding,
  statement: Record<string, unknown>,
  exceptions: readonly ReferenceException[],
  used: Set<ReferenceException>,
): boolean {
  for (const e of exceptions) {
    if (e.kind !== finding.kind || e.conditionKey.toLowerCase() !== finding.conditionKey?.toLowerCase()) continue;
    if (!e.actions.some((a) => a.toLowerCase() === finding.action?.toLowerCase())) continue;
    if (statement.Effect !== e.effect || !principalMatches(statement, e.principal)) continue;
    used.add(e);
    return true;
  }
  return false;
}

/** The result of checking a set of statements. */
export interface CheckResult {
  readonly findings: Finding[];
  readonly counts: CheckCounts;
  /** The exceptions that covered at least one finding (the test fails on one that covers none). */
  readonly usedExceptions: Set<ReferenceException>;
}

/** Checks statements against the reference; `exceptions` silence the documented patterns they describe. */
export function checkStatements(
  statements: readonly LocatedStatement[],
  reference: IamServiceReference,
  exceptions: readonly ReferenceException[] = [],
): CheckResult {
  const findings: Finding[] = [];
  const counts: CheckCounts = { statements: 0, actions: 0, expandedActions: 0, conditionKeys: 0, globalConditionKeys: 0 };
  const usedExceptions = new Set<ReferenceException>();
  for (const { location, statement, unreadable } of statements) {
    if (unreadable) {
      findings.push({ kind: 'unreadable-policy', location, message: unreadable });
      continue;
    }
    counts.statements++;
    const report = (f: Omit<Finding, 'location'>) => {
      const finding = { ...f, location };
      if (!excepted(finding, statement, exceptions, usedExceptions)) findings.push(finding);
    };
    // NotAction and "*" name no list of actions a key could be checked against; their actions still must exist.
    const notAction = statement.NotAction !== undefined;
    const expanded: string[] = [];
    let everything = false;
    for (const entry of asList(notAction ? statement.NotAction : statement.Action)) {
      counts.actions++;
      if (entry === '*') {
        everything = true;
        continue;
      }
      if (typeof entry !== 'string' || !entry.includes(':')) {
        report({
          kind: 'unknown-action',
          action: String(JSON.stringify(entry)),
          message: `action ${JSON.stringify(entry)} is not a literal "service:Action"`,
        });
        continue;
      }
      const [prefix, name] = [entry.slice(0, entry.indexOf(':')).toLowerCase(), entry.slice(entry.indexOf(':') + 1)];
      const service = reference.services[prefix];
      if (!service) {
        report({
          kind: 'unknown-service',
          action: entry,
          message: `service "${prefix}" of ${entry} is not in test/reference/iam-service-reference.json: add it to SERVICES in scripts/refresh-iam-reference.ts and run npm run refresh:iam-reference`,
        });
        continue;
      }
      const re = wildcard(name);
      const matches = Object.keys(service.actions)
        .filter((a) => re.test(a))
        .map((a) => `${prefix}:${a}`);
      if (matches.length === 0) {
        report({
          kind: 'unknown-action',
          action: entry,
          message: `${entry} matches no action of ${prefix} in the Service Authorization Reference`,
        });
      }
      expanded.push(...matches);
    }
    counts.expandedActions += expanded.length;

    const conditions = (statement.Condition ?? {}) as Record<string, Record<string, unknown>>;
    for (const [operator, block] of Object.entries(conditions)) {
      const ifExists = operator.endsWith('IfExists');
      for (const key of Object.keys(block)) {
        counts.conditionKeys++;
        if (key.toLowerCase().startsWith('aws:')) {
          counts.globalConditionKeys++;
          continue;
        }
        const entry = lookUpKey(reference, key);
        if (!entry) {
          const prefix = key.split(':')[0];
          report({
            kind: 'unknown-condition-key',
            conditionKey: key,
            message: reference.services[prefix.toLowerCase()]
              ? `condition key ${key} is not defined by ${prefix}`
              : `condition key ${key}: service "${prefix}" is not in the reference (add it to SERVICES in scripts/refresh-iam-reference.ts)`,
          });
          continue;
        }
        if (entry.info.deprecated) {
          report({
            kind: 'deprecated-condition-key',
            conditionKey: key,
            message: `condition key ${key} is deprecated: ${entry.info.deprecated}`,
          });
        }
        if (ifExists || notAction || everything) continue;
        const applies = new Set(entry.info.actions.map((a) => `${entry.service}:${a}`.toLowerCase()));
        for (const action of expanded) {
          if (applies.has(action.toLowerCase())) continue;
          report({
            kind: 'condition-key-not-applicable',
            action,
            conditionKey: key,
            message: `condition key ${key} does not apply to ${action} (${operator}): the key is absent from its request, so ${statement.Effect === 'Deny' ? 'this Deny never fires' : 'this Allow never matches'} for it`,
          });
        }
      }
    }
  }
  return { findings, counts, usedExceptions };
}

/** One line per finding, for readable test failures. */
export function describeFindings(findings: readonly Finding[]): string[] {
  return findings.map((f) => `${f.location}: ${f.message}`);
}
