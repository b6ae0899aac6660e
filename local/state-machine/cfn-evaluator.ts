/**
 * Evaluates a set of CloudFormation templates as one deployment would: each stack gets its own stack id (an ARN
 * with its own UUID) and name, and every intrinsic function is resolved in the template it is written in.
 * Cross-stack values come only through Fn::ImportValue (an Outputs Export) or Fn::GetStackOutput (an output of
 * a named stack), evaluated in the producing stack. Resources get physical names from their name property, or
 * the name CloudFormation would generate (stack name, logical id, random suffix); ids a service generates are
 * stable placeholders. SSM-typed parameters resolve to `{{ssm:<parameter name>}}` (or the value a test says SSM
 * holds) and every read is recorded.
 *
 * Intrinsic functions: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference.html
 * Pseudo parameters: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/pseudo-parameter-reference.html
 * Fn::GetStackOutput: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-getstackoutput.html
 *
 * Why not a library: cfn-resolver-lib (the one maintained npm resolver found) leaves `${Resource}` in Fn::Sub
 * and an unknown Ref as the logical id's text, and knows neither Fn::GetStackOutput nor stacks: a name it cannot
 * resolve would look like a name. This evaluator throws instead, naming the template and path.
 */
import { createHash } from 'crypto';

import { RESOURCE_TYPES, ResourceTypeRule } from './cfn-resource-types';

/** A template as JSON. */
export type TemplateJson = {
  Parameters?: Record<string, { Type: string; Default?: unknown }>;
  Conditions?: Record<string, unknown>;
  Mappings?: Record<string, Record<string, Record<string, unknown>>>;
  Resources?: Record<string, { Type: string; Properties?: Record<string, unknown>; Condition?: string }>;
  Outputs?: Record<string, { Value: unknown; Condition?: string; Export?: { Name: unknown } }>;
};

/** One stack of the deployment. */
export interface StackInput {
  readonly stackName: string;
  readonly template: TemplateJson;
  /** Unset: the deployment's account and region (an environment-agnostic stack). */
  readonly account?: string;
  readonly region?: string;
}

/** How many references of each kind were resolved while evaluating every template once. */
export interface ReferenceCounts {
  ref: number;
  pseudo: number;
  getAtt: number;
  subVariable: number;
  importValue: number;
  getStackOutput: number;
}

/** An evaluation failure, naming where it happened (stack/logical id/property path). */
export class CfnEvaluationError extends Error {}

const NO_VALUE = Symbol('AWS::NoValue');
const INTRINSICS = new Set(['Ref', 'Condition']);

/** A value only the deployment knows (a custom resource's attribute, an unlisted type's identifier). */
export const opaque = (what: string) => `{{opaque:${what}}}`;
export const isOpaque = (value: unknown) => typeof value === 'string' && /\{\{opaque:/.test(value);

function hex(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/** The deployment: every stack, evaluated on demand and memoized. */
export class CfnDeployment {
  readonly stacks: CfnStack[];
  /** SSM parameter names read by SSM-typed parameters: "stack/parameter" -> name. */
  readonly ssmReads: { stack: string; parameter: string; name: string }[] = [];

  /**
   * `ssmValues`: what the account's SSM parameters hold, by name; an SSM-typed template parameter that names one
   * evaluates to its value, any other to `{{ssm:<name>}}`.
   */
  constructor(
    inputs: StackInput[],
    readonly defaults: { account: string; region: string } = { account: '111122223333', region: 'us-east-2' },
    readonly ssmValues: Record<string, string> = {},
  ) {
    this.stacks = inputs.map((input) => new CfnStack(this, input));
  }

  stack(name: string): CfnStack {
    const stack = this.stacks.find((s) => s.name === name);
    if (!stack)
      throw new CfnEvaluationError(`no stack named ${name} in this deployment (stacks: ${this.stacks.map((s) => s.name).join(', ')})`);
    return stack;
  }

  /** The export named `name` (Outputs.*.Export.Name, evaluated in its stack). */
  exported(name: string, counts?: ReferenceCounts): unknown {
    for (const stack of this.stacks) {
      for (const [id, output] of Object.entries(stack.template.Outputs ?? {})) {
        if (output.Export && stack.evaluate(output.Export.Name, `Outputs.${id}.Export.Name`) === name) return stack.output(id, counts);
      }
    }
    throw new CfnEvaluationError(`Fn::ImportValue: no stack exports ${name}`);
  }
}

/** One stack: its identity and its template's values. */
export class CfnStack {
  readonly name: string;
  readonly account: string;
  readonly region: string;
  readonly id: string;
  readonly template: TemplateJson;
  private readonly names = new Map<string, string>();
  private readonly conditions = new Map<string, boolean>();
  private readonly outputs = new Map<string, unknown>();
  private readonly resolving = new Set<string>();

  constructor(
    private readonly deployment: CfnDeployment,
    input: StackInput,
  ) {
    this.name = input.stackName;
    this.account = input.account ?? deployment.defaults.account;
    this.region = input.region ?? deployment.defaults.region;
    const uuid = hex(`stack:${this.name}`, 32).replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');
    this.id = `arn:aws:cloudformation:${this.region}:${this.account}:stack/${this.name}/${uuid}`;
    this.template = input.template;
  }

  /** The value `value` (any part of this template) evaluates to; `counts` tallies the references met on the way. */
  evaluate(value: unknown, path: string, counts?: ReferenceCounts): unknown {
    const result = this.eval(value, path, counts);
    return result === NO_VALUE ? undefined : result;
  }

  /** Every resource that the template's conditions create. */
  resourceIds(): string[] {
    return Object.entries(this.template.Resources ?? {})
      .filter(([, r]) => r.Condition === undefined || this.condition(r.Condition, `Resources.${r.Condition}`))
      .map(([id]) => id);
  }

  resourceType(id: string): string {
    const resource = this.template.Resources?.[id];
    if (!resource) throw new CfnEvaluationError(`${this.name}: no resource ${id}`);
    return resource.Type;
  }

  /** The resource's evaluated properties. */
  properties(id: string, counts?: ReferenceCounts): Record<string, unknown> {
    this.resourceType(id);
    return (this.evaluate(this.template.Resources![id].Properties ?? {}, `Resources.${id}.Properties`, counts) ?? {}) as Record<
      string,
      unknown
    >;
  }

  /** The physical name: the name property's value, or the name CloudFormation generates. */
  physicalName(id: string): string {
    const cached = this.names.get(id);
    if (cached !== undefined) return cached;
    const type = this.resourceType(id);
    const rule = RESOURCE_TYPES[type];
    let name: string;
    const given = rule?.nameProperty ? this.template.Resources![id].Properties?.[rule.nameProperty] : undefined;
    if (given !== undefined) {
      name = this.guard(`name of ${id}`, () => {
        const value = this.evaluate(given, `Resources.${id}.Properties.${rule!.nameProperty}`);
        if (typeof value !== 'string')
          throw new CfnEvaluationError(`${this.name}/${id}: ${rule!.nameProperty} is not a string: ${JSON.stringify(value)}`);
        return value;
      });
    } else if (rule?.nameProperty) {
      // CloudFormation's generated names: <stack name>-<logical id>-<random>, cut to the service's limit.
      const max = rule.generated?.maxLength ?? 64;
      const random = hex(`${this.id}/${id}`, 12).toUpperCase();
      const head = `${this.name}-${id}`.slice(0, max - random.length - 1);
      name = `${head}-${random}`;
      if (rule.generated?.lowerCase) name = name.toLowerCase();
    } else {
      name = this.generatedId(id);
    }
    this.names.set(id, name);
    return name;
  }

  /** An identifier the service generates for the resource (a key id, a REST API id). */
  generatedId(id: string): string {
    return hex(`${this.id}/${id}/id`, 32).replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');
  }

  /** The ARN of a resource whose type the table lists, else undefined. */
  arn(id: string): string | undefined {
    const rule = RESOURCE_TYPES[this.resourceType(id)];
    return rule?.arn ? this.fill(rule.arn, id, rule) : undefined;
  }

  /** Every ARN (glob) that names the resource or a part of it. */
  arns(id: string): string[] {
    const rule = RESOURCE_TYPES[this.resourceType(id)];
    if (!rule?.arn) return [];
    return [rule.arn, ...(rule.alsoNamedBy ?? [])].map((t) => this.fill(t, id, rule));
  }

  /** An output's value, evaluated here (the producing stack). */
  output(name: string, counts?: ReferenceCounts): unknown {
    const output = this.template.Outputs?.[name];
    if (!output) throw new CfnEvaluationError(`stack ${this.name} has no output ${name}`);
    if (counts) return this.evaluate(output.Value, `Outputs.${name}.Value`, counts);
    if (!this.outputs.has(name)) this.outputs.set(name, this.evaluate(output.Value, `Outputs.${name}.Value`));
    return this.outputs.get(name);
  }

  condition(name: string, path: string): boolean {
    if (this.conditions.has(name)) return this.conditions.get(name)!;
    const body = this.template.Conditions?.[name];
    if (body === undefined) throw new CfnEvaluationError(`${this.name} ${path}: no condition ${name}`);
    const value = this.guard(`condition ${name}`, () => this.evaluate(body, `Conditions.${name}`));
    if (typeof value !== 'boolean')
      throw new CfnEvaluationError(`${this.name} Conditions.${name} is not a boolean: ${JSON.stringify(value)}`);
    this.conditions.set(name, value);
    return value;
  }

  private guard<T>(what: string, fn: () => T): T {
    if (this.resolving.has(what)) throw new CfnEvaluationError(`${this.name}: circular reference through ${what}`);
    this.resolving.add(what);
    try {
      return fn();
    } finally {
      this.resolving.delete(what);
    }
  }

  private fill(template: string, id: string, rule: ResourceTypeRule): string {
    return template.replace(/\{([A-Za-z:]+)\}/g, (whole, key: string) => {
      switch (key) {
        case 'partition':
          return 'aws';
        case 'region':
          return this.region;
        case 'account':
          return this.account;
        case 'urlSuffix':
          return 'amazonaws.com';
        case 'name':
          return this.physicalName(id);
        case 'nameWithoutLeadingSlash':
          return this.physicalName(id).replace(/^\//, '');
        case 'id':
          return this.generatedId(id);
        case 'arn':
          return this.fill(rule.arn!, id, rule);
        default: {
          if (!key.startsWith('prop:')) throw new CfnEvaluationError(`unknown placeholder ${whole}`);
          const prop = key.slice('prop:'.length);
          return String(this.evaluate(this.template.Resources![id].Properties?.[prop], `Resources.${id}.Properties.${prop}`));
        }
      }
    });
  }

  private pseudo(name: string): unknown {
    switch (name) {
      case 'AWS::AccountId':
        return this.account;
      case 'AWS::Region':
        return this.region;
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackId':
        return this.id;
      case 'AWS::StackName':
        return this.name;
      case 'AWS::NotificationARNs':
        return [];
      case 'AWS::NoValue':
        return NO_VALUE;
      default:
        throw new CfnEvaluationError(`unknown pseudo parameter ${name}`);
    }
  }

  private parameter(name: string, path: string): unknown {
    const parameter = this.template.Parameters?.[name];
    if (!parameter) return undefined;
    if (parameter.Default === undefined)
      throw new CfnEvaluationError(`${this.name} ${path}: parameter ${name} has no default and the rehearsal passes none`);
    const ssm = /^AWS::SSM::Parameter::Value<(.*)>$/.exec(parameter.Type);
    if (ssm) {
      const ssmName = String(parameter.Default);
      if (!this.deployment.ssmReads.some((r) => r.stack === this.name && r.parameter === name)) {
        this.deployment.ssmReads.push({ stack: this.name, parameter: name, name: ssmName });
      }
      const held = this.deployment.ssmValues[ssmName];
      if (held !== undefined) return ssm[1].startsWith('List<') ? held.split(',') : held;
      return ssm[1].startsWith('List<') ? [`{{ssm:${ssmName}}}`] : `{{ssm:${ssmName}}}`;
    }
    if (parameter.Type === 'CommaDelimitedList' || parameter.Type.startsWith('List<')) return String(parameter.Default).split(',');
    return parameter.Default;
  }

  private ref(target: string, path: string, counts?: ReferenceCounts): unknown {
    if (target.startsWith('AWS::')) {
      if (counts) counts.pseudo++;
      return this.pseudo(target);
    }
    if (counts) counts.ref++;
    const parameter = this.parameter(target, path);
    if (parameter !== undefined) return parameter;
    const resource = this.template.Resources?.[target];
    if (!resource)
      throw new CfnEvaluationError(`${this.name} ${path}: Ref to ${target}, which is neither a parameter nor a resource of this template`);
    const rule = RESOURCE_TYPES[resource.Type];
    return rule ? this.fill(rule.ref, target, rule) : opaque(`${this.name}/${target}.Ref`);
  }

  private getAtt(id: string, attribute: string, path: string, counts?: ReferenceCounts): unknown {
    if (counts) counts.getAtt++;
    const resource = this.template.Resources?.[id];
    if (!resource) throw new CfnEvaluationError(`${this.name} ${path}: Fn::GetAtt of ${id}, which is no resource of this template`);
    const rule = RESOURCE_TYPES[resource.Type];
    if (rule?.attributes?.[attribute]) return this.fill(rule.attributes[attribute], id, rule);
    if (rule && attribute === rule.nameProperty) return this.physicalName(id);
    if (rule?.arn && attribute === 'Arn') return this.fill(rule.arn, id, rule);
    if (rule && resource.Properties?.[attribute] !== undefined)
      return this.evaluate(resource.Properties[attribute], `Resources.${id}.Properties.${attribute}`);
    return opaque(`${this.name}/${id}.${attribute}`);
  }

  private sub(arg: unknown, path: string, counts?: ReferenceCounts): string {
    const [text, vars] = (Array.isArray(arg) ? arg : [arg, {}]) as [unknown, Record<string, unknown>];
    if (typeof text !== 'string') throw new CfnEvaluationError(`${this.name} ${path}: Fn::Sub needs a string`);
    const values: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(vars ?? {})) values[k] = this.eval(v, `${path}.${k}`, counts);
    return text.replace(/\$\{([^}]*)\}/g, (whole, name: string) => {
      if (name.startsWith('!')) return `\${${name.slice(1)}}`;
      if (counts) counts.subVariable++;
      let value: unknown;
      if (name in values) value = values[name];
      else if (name.includes('.')) value = this.getAtt(name.slice(0, name.indexOf('.')), name.slice(name.indexOf('.') + 1), path);
      else value = this.ref(name, path);
      if (typeof value !== 'string' && typeof value !== 'number')
        throw new CfnEvaluationError(`${this.name} ${path}: ${whole} is not a string: ${JSON.stringify(value)}`);
      return String(value);
    });
  }

  private eval(value: unknown, path: string, counts?: ReferenceCounts): unknown {
    if (value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) {
      return value.map((v, i) => this.eval(v, `${path}[${i}]`, counts)).filter((v) => v !== NO_VALUE);
    }
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1 && (entries[0][0].startsWith('Fn::') || INTRINSICS.has(entries[0][0]))) {
      return this.intrinsic(entries[0][0], entries[0][1], `${path}.${entries[0][0]}`, counts);
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries) {
      const result = this.eval(v, `${path}.${k}`, counts);
      if (result !== NO_VALUE) out[k] = result;
    }
    return out;
  }

  private list(value: unknown, path: string, counts?: ReferenceCounts): unknown[] {
    const result = this.eval(value, path, counts);
    if (!Array.isArray(result)) throw new CfnEvaluationError(`${this.name} ${path}: not a list: ${JSON.stringify(result)}`);
    return result;
  }

  private intrinsic(fn: string, arg: unknown, path: string, counts?: ReferenceCounts): unknown {
    const args = () => {
      if (!Array.isArray(arg)) throw new CfnEvaluationError(`${this.name} ${path}: ${fn} needs a list`);
      return arg;
    };
    switch (fn) {
      case 'Ref':
        return this.ref(String(arg), path, counts);
      case 'Condition':
        return this.condition(String(arg), path);
      case 'Fn::GetAtt': {
        const [id, ...attribute] = Array.isArray(arg)
          ? arg.map((a, i) => (i === 1 ? this.eval(a, path, counts) : a))
          : String(arg).split('.');
        return this.getAtt(String(id), attribute.join('.'), path, counts);
      }
      case 'Fn::Join': {
        const [separator, items] = args();
        const parts = this.list(items, path, counts);
        for (const p of parts)
          if (typeof p !== 'string' && typeof p !== 'number')
            throw new CfnEvaluationError(`${this.name} ${path}: Fn::Join of a non-string ${JSON.stringify(p)}`);
        return parts.join(String(separator));
      }
      case 'Fn::Select': {
        const [index, items] = args();
        const list = this.list(items, path, counts);
        const i = Number(this.eval(index, path, counts));
        if (!Number.isInteger(i) || i < 0 || i >= list.length)
          throw new CfnEvaluationError(`${this.name} ${path}: Fn::Select index ${i} out of ${JSON.stringify(list)}`);
        return list[i];
      }
      case 'Fn::Split': {
        const [separator, text] = args();
        const value = this.eval(text, path, counts);
        if (typeof value !== 'string')
          throw new CfnEvaluationError(`${this.name} ${path}: Fn::Split of a non-string ${JSON.stringify(value)}`);
        return value.split(String(separator));
      }
      case 'Fn::Sub':
        return this.sub(arg, path, counts);
      case 'Fn::If': {
        const [condition, whenTrue, whenFalse] = args();
        return this.condition(String(condition), path) ? this.eval(whenTrue, path, counts) : this.eval(whenFalse, path, counts);
      }
      case 'Fn::Equals': {
        const [a, b] = args().map((x) => this.eval(x, path, counts));
        return JSON.stringify(a) === JSON.stringify(b);
      }
      case 'Fn::And':
        return args().every((c) => this.eval(c, path, counts) === true);
      case 'Fn::Or':
        return args().some((c) => this.eval(c, path, counts) === true);
      case 'Fn::Not':
        return !(this.eval(args()[0], path, counts) === true);
      case 'Fn::Contains': {
        const [items, item] = args();
        return this.list(items, path, counts).some((x) => JSON.stringify(x) === JSON.stringify(this.eval(item, path, counts)));
      }
      case 'Fn::FindInMap': {
        const [map, top, second] = args().map((x) => String(this.eval(x, path, counts)));
        const found = this.template.Mappings?.[map]?.[top]?.[second];
        if (found === undefined)
          throw new CfnEvaluationError(`${this.name} ${path}: Fn::FindInMap ${map}/${top}/${second} is not in Mappings`);
        return found;
      }
      case 'Fn::GetAZs':
        return ['a', 'b', 'c'].map((z) => `${this.region}${z}`);
      case 'Fn::Base64':
        return Buffer.from(String(this.eval(arg, path, counts))).toString('base64');
      case 'Fn::ImportValue': {
        if (counts) counts.importValue++;
        return this.deployment.exported(String(this.eval(arg, path, counts)));
      }
      case 'Fn::GetStackOutput': {
        if (counts) counts.getStackOutput++;
        const { StackName, OutputName, Region } = this.eval(arg, path, counts) as Record<string, unknown>;
        const producer = this.deployment.stack(String(StackName));
        if (Region !== undefined && Region !== producer.region) {
          throw new CfnEvaluationError(
            `${this.name} ${path}: Fn::GetStackOutput names ${producer.name} in ${String(Region)}, but it is deployed in ${producer.region}`,
          );
        }
        return producer.output(String(OutputName));
      }
      default:
        throw new CfnEvaluationError(`${this.name} ${path}: ${fn} is not supported by this evaluator`);
    }
  }
}

/** A new, zeroed tally. */
export function newCounts(): ReferenceCounts {
  return { ref: 0, pseudo: 0, getAtt: 0, subVariable: 0, importValue: 0, getStackOutput: 0 };
}
