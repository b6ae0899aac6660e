/**
 * cfn-lint's CloudFormation resource schemas (the registry schemas AWS publishes), read from the project's venv:
 * which properties name a resource, what its primary identifier is, which properties exist.
 */
import * as fs from 'fs';
import * as path from 'path';

const SCHEMAS = (() => {
  const lib = path.join(__dirname, '..', '..', '.venv', 'lib');
  const python = fs.readdirSync(lib).find((d) => d.startsWith('python'));
  if (!python) throw new Error(`no Python under ${lib}: run npm run setup:python`);
  return path.join(lib, python, 'site-packages', 'cfnlint', 'data', 'schemas');
})();
const INDEX: Record<string, string> = JSON.parse(fs.readFileSync(path.join(SCHEMAS, 'providers', 'us-east-1.json'), 'utf8'));

/** The parts of a resource type's registry schema these tests read. */
export interface ResourceSchema {
  readonly properties: Record<string, unknown>;
  readonly primaryIdentifier: string[];
  readonly readOnlyProperties?: string[];
  readonly createOnlyProperties?: string[];
}

const cache = new Map<string, ResourceSchema>();

/** The schema of `type`, or undefined for types cfn-lint has none of (custom resources). */
export function resourceSchema(type: string): ResourceSchema | undefined {
  const file = INDEX[type];
  if (!file) return undefined;
  if (!cache.has(type)) cache.set(type, JSON.parse(fs.readFileSync(path.join(SCHEMAS, 'resources', `${file}.json`), 'utf8')));
  return cache.get(type);
}

/** Top-level property names of JSON pointers such as /properties/LogGroupName. */
export function topLevel(pointers: string[] | undefined): string[] {
  return (pointers ?? [])
    .map((p) => p.split('/'))
    .filter((p) => p.length === 3)
    .map((p) => p[2]);
}

/**
 * The properties that name a resource of `type`, from its schema: the writable parts of its primary
 * identifier (LogGroupName, BucketName, TableName, AliasName, ...) and the create-only top-level properties
 * whose name ends in "Name" (TopicName, QueueName, a secret's Name, EndpointName, ...), whose identifier is an
 * ARN built from them.
 */
export function nameProperties(type: string): string[] {
  const schema = resourceSchema(type);
  if (!schema) throw new Error(`cfn-lint has no schema for ${type}`);
  const readOnly = new Set(topLevel(schema.readOnlyProperties));
  const names = new Set([
    ...topLevel(schema.primaryIdentifier).filter((p) => !readOnly.has(p)),
    ...topLevel(schema.createOnlyProperties).filter((p) => /Name$/.test(p)),
  ]);
  return [...names].sort();
}
