/**
 * Checks an operation's input against the service's API model the way the service's request validation does,
 * and reports every violation: required members, enums, string patterns and lengths, number ranges, list,
 * map and blob sizes, nested structures, unions, wrong JSON types and members the model does not define.
 *
 * Constraint meanings follow the Smithy spec (https://smithy.io/2.0/spec/constraint-traits.html): a string's
 * length counts Unicode code points, a blob's bytes, a list's or map's entries; `min`/`max` on numbers are
 * inclusive ranges. Messages follow the services' own ValidationException text ("1 validation error detected:
 * Value 'x' at 'trainingJobName' failed to satisfy constraint: Member must satisfy regular expression pattern:
 * ..."), as in https://docs.aws.amazon.com/sagemaker/latest/APIReference/CommonErrors.html (ValidationError).
 * Members the model does not define are reported too: the real service ignores them, but the SDK drops them
 * before sending, so one in our code is a setting that silently never reaches AWS.
 */
import * as fs from 'fs';

import { compileJavaPattern } from './java-pattern';
import { MemberRef, ServiceModel, Shape } from './service-model';

export interface Violation {
  /** Where, in the services' notation: lower-camel member names, 1-based list indexes (`inputDataConfig.1.member.s3Uri`). */
  readonly path: string;
  /** The offending value as the message shows it (undefined: hidden, e.g. a sensitive or binary value). */
  readonly value?: string;
  /** The constraint, as the service words it. */
  readonly constraint: string;
}

const LONGEST_SHOWN = 200;

function camel(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

function shown(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > LONGEST_SHOWN ? `${text.slice(0, LONGEST_SHOWN)}...` : text;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/** A blob's size in bytes: raw bytes, or base64 text as the JSON protocols carry it. */
function blobBytes(value: unknown): number | undefined {
  if (value instanceof Uint8Array) return value.byteLength;
  if (typeof value === 'string') return Buffer.from(value, 'base64').byteLength;
  return undefined;
}

class Checker {
  readonly violations: Violation[] = [];

  constructor(private readonly model: ServiceModel) {}

  private shape(name: string): Shape {
    const shape = this.model.shapes[name];
    if (!shape) throw new Error(`${this.model.metadata.serviceId} model has no shape ${name}`);
    return shape;
  }

  private report(path: string, value: unknown, shape: Shape | undefined, constraint: string): void {
    const hidden = shape?.sensitive || shape?.type === 'blob' || value === undefined;
    this.violations.push({ path, value: hidden ? undefined : shown(value), constraint });
  }

  check(ref: MemberRef, value: unknown, path: string): void {
    const shape = this.shape(ref.shape);
    switch (shape.type) {
      case 'structure':
        return this.structure(ref.shape, shape, value, path);
      case 'list':
        return this.list(shape, value, path);
      case 'map':
        return this.map(shape, value, path);
      case 'string':
        return this.string(shape, value, path);
      case 'blob':
        return this.blob(shape, value, path);
      case 'boolean':
        if (typeof value !== 'boolean') this.report(path, value, shape, 'Member must be a boolean');
        return;
      case 'timestamp':
        if (typeof value !== 'number' && !(value instanceof Date) && typeof value !== 'string')
          this.report(path, value, shape, 'Member must be a timestamp');
        return;
      case 'integer':
      case 'long':
      case 'float':
      case 'double':
        return this.number(shape, value, path);
      default:
        throw new Error(`unknown shape type ${String((shape as Shape).type)} at ${path}`);
    }
  }

  private structure(name: string, shape: Shape, value: unknown, path: string): void {
    if (!isObject(value)) return this.report(path, value, shape, `Member must be a structure (${name})`);
    const members = shape.members ?? {};
    const at = (member: string) => (path ? `${path}.${camel(member)}` : camel(member));
    for (const required of shape.required ?? []) {
      if (value[required] === undefined || value[required] === null)
        this.violations.push({ path: at(required), value: 'null', constraint: 'Member must not be null' });
    }
    let set = 0;
    for (const [member, memberValue] of Object.entries(value)) {
      if (memberValue === undefined || memberValue === null) continue;
      set += 1;
      const ref = members[member];
      if (!ref) {
        this.violations.push({
          path: at(member),
          constraint: `Member is not defined in ${name} (the SDK drops it; the service ignores it)`,
        });
        continue;
      }
      this.check(ref, memberValue, at(member));
    }
    if (shape.union && set !== 1) this.report(path, undefined, shape, `Union ${name} must have exactly one member set, not ${set}`);
  }

  private sizes(shape: Shape, size: number, value: unknown, path: string): void {
    if (shape.min !== undefined && size < shape.min)
      this.report(path, value, shape, `Member must have length greater than or equal to ${shape.min}`);
    if (shape.max !== undefined && size > shape.max)
      this.report(path, value, shape, `Member must have length less than or equal to ${shape.max}`);
  }

  private list(shape: Shape, value: unknown, path: string): void {
    if (!Array.isArray(value)) return this.report(path, value, shape, 'Member must be a list');
    this.sizes(shape, value.length, value, path);
    value.forEach((item, index) => this.check(shape.member!, item, `${path}.${index + 1}.member`));
  }

  private map(shape: Shape, value: unknown, path: string): void {
    if (!isObject(value)) return this.report(path, value, shape, 'Member must be a map');
    const entries = Object.entries(value);
    this.sizes(shape, entries.length, value, path);
    for (const [key, entry] of entries) {
      this.check(shape.key!, key, `${path}.key(${shown(key)})`);
      this.check(shape.value!, entry, `${path}.${key}`);
    }
  }

  private string(shape: Shape, value: unknown, path: string): void {
    if (typeof value !== 'string') return this.report(path, value, shape, 'Member must be a string');
    this.sizes(shape, [...value].length, value, path);
    if (shape.enum && !shape.enum.includes(value))
      this.report(path, value, shape, `Member must satisfy enum value set: [${shape.enum.join(', ')}]`);
    if (shape.pattern !== undefined && !compileJavaPattern(shape.pattern).test(value)) {
      this.report(path, value, shape, `Member must satisfy regular expression pattern: ${shape.pattern}`);
    }
  }

  private blob(shape: Shape, value: unknown, path: string): void {
    const bytes = blobBytes(value);
    if (bytes === undefined) return this.report(path, value, shape, 'Member must be a blob');
    this.sizes(shape, bytes, value, path);
  }

  private number(shape: Shape, value: unknown, path: string): void {
    if (typeof value !== 'number' || !Number.isFinite(value))
      return this.report(path, value, shape, `Member must be a number (${shape.type})`);
    if ((shape.type === 'integer' || shape.type === 'long') && !Number.isInteger(value))
      return this.report(path, value, shape, `Member must be an ${shape.type}`);
    if (shape.min !== undefined && value < shape.min)
      this.report(path, value, shape, `Member must have value greater than or equal to ${shape.min}`);
    if (shape.max !== undefined && value > shape.max)
      this.report(path, value, shape, `Member must have value less than or equal to ${shape.max}`);
  }
}

/**
 * Every violation of `input` (the operation's input structure: a JSON protocol's request body, or a REST
 * request's members gathered from its URI, headers and body) against the model. Empty when valid.
 */
export function validateInput(model: ServiceModel, operation: string, input: unknown): Violation[] {
  const op = model.operations[operation];
  if (!op) throw new Error(`${model.metadata.serviceId} has no operation ${operation}`);
  if (!op.input) return [];
  const checker = new Checker(model);
  checker.check(op.input, input ?? {}, '');
  return checker.violations;
}

/**
 * Every violation of `output` (a response's members, as a stand-in is about to answer them) against the
 * operation's output structure: a stand-in checks its own answers with this, so that it answers in the shape
 * the real service does and the SDK parses. Empty when valid (and for an operation without output).
 */
export function validateOutput(model: ServiceModel, operation: string, output: unknown): Violation[] {
  const op = model.operations[operation];
  if (!op) throw new Error(`${model.metadata.serviceId} has no operation ${operation}`);
  if (!op.output) return [];
  const checker = new Checker(model);
  checker.check(op.output, output ?? {}, '');
  return checker.violations;
}

/** The services' ValidationException message for the violations. */
export function validationMessage(violations: readonly Violation[]): string {
  const n = violations.length;
  const each = violations.map(
    (v) =>
      `Value ${v.value === undefined ? '' : v.value === 'null' ? 'null ' : `'${v.value}' `}at '${v.path}' failed to satisfy constraint: ${v.constraint}`,
  );
  return `${n} validation error${n === 1 ? '' : 's'} detected: ${each.join('; ')}`;
}

/**
 * For the stand-ins, after checking a request they received: with API_MODEL_VALIDATION_LOG set to a file,
 * appends one JSON line (service, operation, number of violations), which is how a test run counts the
 * requests it checked.
 */
export function recordCheckedRequest(model: ServiceModel, operation: string, violations: readonly Violation[]): void {
  const file = process.env.API_MODEL_VALIDATION_LOG;
  if (!file) return;
  fs.appendFileSync(file, `${JSON.stringify({ service: model.metadata.serviceId, operation, violations: violations.length })}\n`);
}
