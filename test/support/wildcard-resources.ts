/**
 * Wildcard resources in identity policies, checked against the Service Authorization Reference's resource types
 * (test/reference/iam-service-reference.json, `resourceTypes`; `npm run refresh:iam-reference`).
 *
 * An Allow statement of a role's, user's or group's policy (inline, AWS::IAM::Policy or a managed policy) that names
 * `*`, a service-wide ARN (`arn:aws:logs:*:*:*`, `arn:aws:s3:::*`) or a type-wide ARN (`...:subnet/*`, every subnet of
 * the account) must hold only actions that AWS gives no narrower scope: for `*` and service-wide ARNs, actions the
 * reference lists with no resource type at all; for a type-wide ARN, actions that cannot name that type. Anything
 * else needs an entry in WILDCARD_EXCEPTIONS with the AWS page that prescribes it. This is what stands behind every
 * `AwsSolutions-IAM5[Resource::*]` acknowledgement: such an acknowledgement silences cdk-nag for any action on `*`
 * beneath its construct, this check does not.
 *
 * Resource policies (key, bucket, topic policies) are not checked here: there `*` means the resource the policy is on.
 */
import { App, CfnResource, Stack } from 'aws-cdk-lib';

import { IamServiceReference, intrinsicText } from './iam-reference';

/** A documented case where AWS prescribes a wildcard the check would report. */
export interface WildcardException {
  /** `service:Action`. */
  readonly action: string;
  /** `*` for `Resource: *` and service-wide ARNs; otherwise the resource type of a type-wide ARN (`network-interface`). */
  readonly resource: string;
  /** A condition key the statement must constrain for the exception to hold (compared case-insensitively). */
  readonly condition?: string;
  /** The AWS documentation page that prescribes it. */
  readonly url: string;
  readonly reason: string;
}

/** The short list of exceptions; the test fails on one that excuses nothing in any tested configuration. */
export const WILDCARD_EXCEPTIONS: readonly WildcardException[] = [
  {
    action: 'cloudwatch:PutMetricData',
    resource: '*',
    condition: 'cloudwatch:namespace',
    url: 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/iam-cw-condition-keys-namespace.html',
    reason:
      'A metric has no ARN: the reference lists only the optional `dataset` type (CloudWatch datasets, which the platform does ' +
      'not use), and AWS scopes PutMetricData with the cloudwatch:namespace condition key instead, which the statement must carry.',
  },
  {
    action: 'sagemaker:ListModelPackages',
    resource: '*',
    url: 'https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html',
    reason:
      'A list request names no model package: the reference lists model-package as optional (no `*`) for ListModelPackages, ' +
      'so a request carries none and only `Resource: *` matches it. It returns summaries only.',
  },
  {
    action: 'ec2:CreateNetworkInterface',
    resource: 'network-interface',
    url: 'https://docs.aws.amazon.com/sagemaker/latest/dg/train-vpc.html',
    reason:
      'SageMaker creates the network interfaces of a VPC job; a new interface has no id before it exists. The same call must ' +
      'also be allowed on its subnet and security group, which the statement names one by one.',
  },
  ...['ec2:CreateNetworkInterfacePermission', 'ec2:DeleteNetworkInterface', 'ec2:DeleteNetworkInterfacePermission'].map((action) => ({
    action,
    resource: 'network-interface',
    condition: 'ec2:Subnet',
    url: 'https://docs.aws.amazon.com/sagemaker/latest/dg/train-vpc.html',
    reason:
      'SageMaker manages the interfaces it created for a VPC job, whose ids are not known in advance; the ec2:Subnet condition ' +
      'confines the statement to interfaces in the configured subnets.',
  })),
  // The rollout's deploy role (constructs/serving/rollout-reconciler.ts): CloudFormation generates the names of the
  // models and endpoint configs it creates on each rollout, so the role holds to those carrying the stack's tag.
  ...[
    ['sagemaker:CreateModel', 'model'],
    ['sagemaker:CreateEndpointConfig', 'endpoint-config'],
    ['sagemaker:AddTags', 'model'],
    ['sagemaker:AddTags', 'endpoint-config'],
  ].map(([action, resource]) => ({
    action,
    resource,
    condition: 'aws:RequestTag/dlplatform:rollout',
    url: 'https://docs.aws.amazon.com/IAM/latest/UserGuide/access_tags.html',
    reason:
      'CloudFormation names the model and endpoint config it creates (a generated physical id, unknown before it exists); ' +
      "the aws:RequestTag condition lets the role create only those tagged as the serving stack's own.",
  })),
  ...['sagemaker:DeleteModel', 'sagemaker:DescribeModel', 'sagemaker:DeleteEndpointConfig', 'sagemaker:DescribeEndpointConfig'].map(
    (action) => ({
      action,
      resource: action.includes('EndpointConfig') ? 'endpoint-config' : 'model',
      condition: 'aws:ResourceTag/dlplatform:rollout',
      url: 'https://docs.aws.amazon.com/IAM/latest/UserGuide/access_tags.html',
      reason:
        'The names of the models and endpoint configs CloudFormation created are generated; the aws:ResourceTag condition ' +
        "holds the role to those tagged as the serving stack's own.",
    }),
  ),
];

/** How wide a resource is. */
export type Width = { kind: 'any'; service?: string } | { kind: 'type'; service: string; resourceType: string } | { kind: 'narrow' };

/**
 * `*`; an ARN whose resource part is only wildcards (`arn:aws:s3:::*`, `arn:aws:logs:*:*:*`, `arn:aws:s3:::*\/*`); an ARN
 * whose resource part is a type followed only by wildcards (`subnet/*`, `log-group:*`); or something narrower.
 */
export function widthOf(resource: string): Width {
  if (resource === '*') return { kind: 'any' };
  const m = /^arn:[^:]*:([^:]*):[^:]*:[^:]*:(.*)$/.exec(resource);
  if (!m) return { kind: 'narrow' };
  const [, service, rest] = m;
  const parts = rest.split(/[/:]/);
  if (parts.every((p) => p === '*')) return { kind: 'any', service };
  if (parts.length > 1 && /^[a-z][a-z0-9-]*$/i.test(parts[0]) && parts.slice(1).every((p) => p === '*'))
    return { kind: 'type', service, resourceType: parts[0] };
  return { kind: 'narrow' };
}

/** One identity-policy statement, with the construct path of the resource that holds it. */
export interface IdentityStatement {
  /** `<stack>/<logical id> <property>.Statement[<i>]`. */
  readonly location: string;
  /** The construct path of the CloudFormation resource holding the policy. */
  readonly constructPath: string;
  readonly statement: Record<string, unknown>;
}

const IDENTITY_POLICIES: Record<string, (props: Record<string, unknown>) => [label: string, doc: unknown][]> = {
  'AWS::IAM::Policy': (p) => [['PolicyDocument', p.PolicyDocument]],
  'AWS::IAM::ManagedPolicy': (p) => [['PolicyDocument', p.PolicyDocument]],
  'AWS::IAM::Role': (p) =>
    ((p.Policies ?? []) as { PolicyDocument: unknown }[]).map((x, i) => [`Policies[${i}].PolicyDocument`, x.PolicyDocument]),
  'AWS::IAM::User': (p) =>
    ((p.Policies ?? []) as { PolicyDocument: unknown }[]).map((x, i) => [`Policies[${i}].PolicyDocument`, x.PolicyDocument]),
  'AWS::IAM::Group': (p) =>
    ((p.Policies ?? []) as { PolicyDocument: unknown }[]).map((x, i) => [`Policies[${i}].PolicyDocument`, x.PolicyDocument]),
};

/** stack name -> logical id -> construct path, for every CloudFormation resource of the app. */
function constructPaths(app: App): Map<string, Map<string, string>> {
  const paths = new Map<string, Map<string, string>>();
  for (const c of app.node.findAll()) {
    if (!CfnResource.isCfnResource(c)) continue;
    const stack = Stack.of(c);
    const byId = paths.get(stack.stackName) ?? new Map<string, string>();
    byId.set(stack.resolve(c.logicalId) as string, c.node.path);
    paths.set(stack.stackName, byId);
  }
  return paths;
}

/** Every statement of every identity policy the app synthesizes, in every stack. */
export function identityStatements(app: App): IdentityStatement[] {
  const paths = constructPaths(app);
  const out: IdentityStatement[] = [];
  for (const artifact of app.synth().stacks) {
    const resources = (artifact.template.Resources ?? {}) as Record<string, { Type: string; Properties?: Record<string, unknown> }>;
    for (const [id, resource] of Object.entries(resources)) {
      const docs = IDENTITY_POLICIES[resource.Type]?.(resource.Properties ?? {}) ?? [];
      for (const [label, doc] of docs) {
        const statements = (doc as { Statement?: unknown } | undefined)?.Statement;
        [statements ?? []].flat().forEach((statement, i) =>
          out.push({
            location: `${artifact.stackName}/${id} ${label}.Statement[${i}]`,
            constructPath: paths.get(artifact.stackName)?.get(id) ?? `${artifact.stackName}/${id}`,
            statement: statement as Record<string, unknown>,
          }),
        );
      }
    }
  }
  return out;
}

/** One action on a wildcard resource that AWS would let the policy scope. */
export interface WildcardFinding {
  readonly location: string;
  readonly constructPath: string;
  readonly action: string;
  readonly resource: string;
  readonly message: string;
}

/** The result of the check: findings, and which exceptions excused something (the test fails on an unused one). */
export interface WildcardResult {
  readonly findings: WildcardFinding[];
  readonly usedExceptions: Set<WildcardException>;
  /** Statements with a wildcard resource that passed (for the report). */
  readonly wildcardStatements: number;
}

const asList = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** The actions an entry (`logs:Put*`, `*`) expands to in the reference; unknown services expand to the entry itself. */
function expand(entry: string, reference: IamServiceReference): string[] {
  if (entry === '*') return Object.entries(reference.services).flatMap(([p, s]) => Object.keys(s.actions).map((a) => `${p}:${a}`));
  const [prefix, name] = [entry.slice(0, entry.indexOf(':')).toLowerCase(), entry.slice(entry.indexOf(':') + 1)];
  const service = reference.services[prefix];
  if (!service) return [entry];
  const re = new RegExp(
    `^${name
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );
  return Object.keys(service.actions)
    .filter((a) => re.test(a))
    .map((a) => `${prefix}:${a}`);
}

/** Whether the statement constrains `key` under any operator. */
function constrains(statement: Record<string, unknown>, key: string): boolean {
  return Object.values((statement.Condition ?? {}) as Record<string, Record<string, unknown>>).some((block) =>
    Object.keys(block).some((k) => k.toLowerCase() === key.toLowerCase()),
  );
}

/** Checks identity statements' wildcard resources against the reference's resource types. */
export function checkWildcardResources(
  statements: readonly IdentityStatement[],
  reference: IamServiceReference,
  exceptions: readonly WildcardException[] = WILDCARD_EXCEPTIONS,
): WildcardResult {
  const findings: WildcardFinding[] = [];
  const usedExceptions = new Set<WildcardException>();
  let wildcardStatements = 0;
  const fix =
    'name the resources it acts on, or, if AWS prescribes the wildcard, add an entry with that page to WILDCARD_EXCEPTIONS in test/support/wildcard-resources.ts';
  for (const { location, constructPath, statement } of statements) {
    if (statement.Effect !== 'Allow') continue;
    const at = (action: string, resource: string, message: string) =>
      findings.push({ location, constructPath, action, resource, message: `${location} (${constructPath}): ${message}` });
    if (statement.NotResource !== undefined) {
      at('', 'NotResource', `an Allow with NotResource grants its actions on everything else of the account: ${fix}`);
      continue;
    }
    const resources = asList(statement.Resource).map(intrinsicText);
    const wide = resources.map((r) => ({ resource: r, width: widthOf(r) })).filter((r) => r.width.kind !== 'narrow');
    if (wide.length === 0) continue;
    wildcardStatements++;
    const entries = asList(statement.Action).map(String);
    if (statement.NotAction !== undefined) {
      at('', wide[0].resource, `an Allow with NotAction on ${wide[0].resource} grants every other action: ${fix}`);
      continue;
    }
    for (const { resource, width } of wide) {
      for (const entry of entries) {
        for (const action of expand(entry, reference)) {
          const [prefix, name] = [action.slice(0, action.indexOf(':')).toLowerCase(), action.slice(action.indexOf(':') + 1)];
          const service = reference.services[prefix];
          if (width.kind !== 'narrow' && width.service && width.service !== prefix) continue; // an ARN of another service grants this action nothing
          const types = service?.resourceTypes[name];
          if (!types) {
            at(
              action,
              resource,
              `${action} on ${resource}: the reference has no resource types for it (service missing: add it to SERVICES in scripts/refresh-iam-reference.ts and run npm run refresh:iam-reference)`,
            );
            continue;
          }
          const typeNames = types.map((t) => t.replace(/\*$/, ''));
          const scopeable = width.kind === 'any' ? types.length > 0 : width.kind === 'type' && typeNames.includes(width.resourceType);
          if (!scopeable) continue;
          const excuse = exceptions.find(
            (e) =>
              e.action.toLowerCase() === action.toLowerCase() &&
              e.resource === (width.kind === 'any' ? '*' : (width as { resourceType: string }).resourceType) &&
              (!e.condition || constrains(statement, e.condition)),
          );
          if (excuse) {
            usedExceptions.add(excuse);
            continue;
          }
          at(
            action,
            resource,
            width.kind === 'any'
              ? `${action} on ${resource}: the Service Authorization Reference lists resource type${types.length > 1 ? 's' : ''} ${types.join(', ')} for it (\`*\`: required), so AWS allows a narrower Resource: ${fix}`
              : `${action} on ${resource} names every ${(width as { resourceType: string }).resourceType} of the account: ${fix}`,
          );
        }
      }
    }
  }
  return { findings, usedExceptions, wildcardStatements };
}
