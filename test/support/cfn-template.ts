/**
 * A small evaluator of synthesized CloudFormation templates, for checks that must resolve a template the way
 * CloudFormation does for one stack instance: pseudo parameters (a stack id per instance), parameter values,
 * conditions (Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition), Fn::If, and the string functions CDK emits for names
 * (Ref, Fn::Join, Fn::Select, Fn::Split, Fn::Sub; Fn::GetAtt, Fn::GetStackOutput and Fn::ImportValue through
 * callbacks). Semantics from the intrinsic
 * function reference: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference.html
 * and conditions: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/conditions-section-structure.html
 * Tested on its own in test/cfn-template.test.ts.
 */

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Condition?: string;
  readonly DependsOn?: string | string[];
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
  readonly Metadata?: unknown;
}

export interface CfnTemplate {
  readonly Parameters?: Record<string, { Type: string; Default?: unknown }>;
  readonly Conditions?: Record<string, unknown>;
  readonly Resources: Record<string, CfnResource>;
  readonly Outputs?: Record<string, { Value: unknown; Condition?: string; Export?: unknown }>;
  readonly Rules?: unknown;
}

/** What one stack instance resolves against. */
export interface Instance {
  /** Pseudo parameters (AWS::StackId, AWS::Region, ...) and parameter values, by name. */
  readonly refs: Record<string, string>;
  /** A resource's `Ref`; unset: the logical id. */
  readonly ref?: (logicalId: string) => string;
  /** A resource's attribute. */
  readonly getAtt?: (logicalId: string, attribute: string) => string;
  /** Another stack's output (Fn::GetStackOutput), or an export by name (Fn::ImportValue, with stackName undefined). */
  readonly stackOutput?: (stackName: string | undefined, outputName: string) => string;
}

/** The marker CloudFormation removes a property for (`Ref: AWS::NoValue`). */
const NO_VALUE = Symbol('AWS::NoValue');

/** Evaluates a condition of the template by name. */
export function conditionValue(template: CfnTemplate, name: string, instance: Instance): boolean {
  const expression = template.Conditions?.[name];
  if (expression === undefined) throw new Error(`no condition ${name} in the template`);
  return evaluateCondition(template, expression, instance);
}

function evaluateCondition(template: CfnTemplate, expression: unknown, instance: Instance): boolean {
  const [fn, args] = single(expression);
  switch (fn) {
    case 'Condition':
      return conditionValue(template, args as string, instance);
    case 'Fn::Equals': {
      const [a, b] = (args as unknown[]).map((x) => resolve(template, x, instance));
      return JSON.stringify(a) === JSON.stringify(b);
    }
    case 'Fn::Not':
      return !evaluateCondition(template, (args as unknown[])[0], instance);
    case 'Fn::And':
      return (args as unknown[]).every((x) => evaluateCondition(template, x, instance));
    case 'Fn::Or':
      return (args as unknown[]).some((x) => evaluateCondition(template, x, instance));
    default:
      throw new Error(`not a condition function: ${fn}`);
  }
}

/** Resolves every intrinsic function of `value` CloudFormation would resolve at deploy time for `instance`. */
export function resolve(template: CfnTemplate, value: unknown, instance: Instance): unknown {
  const out = resolveInner(template, value, instance);
  return out === NO_VALUE ? undefined : out;
}

function resolveInner(template: CfnTemplate, value: unknown, instance: Instance): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveInner(template, v, instance)).filter((v) => v !== NO_VALUE);
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'))) {
    const [fn, args] = single(value);
    const arg = (i: number) => resolveInner(template, (args as unknown[])[i], instance);
    switch (fn) {
      case 'Ref': {
        const name = args as string;
        if (name === 'AWS::NoValue') return NO_VALUE;
        if (name in instance.refs) return instance.refs[name];
        if (template.Resources[name]) return instance.ref ? instance.ref(name) : name;
        const parameter = template.Parameters?.[name];
        if (parameter?.Default !== undefined) return parameter.Default;
        throw new Error(`Ref to ${name}: no such parameter, pseudo parameter or resource`);
      }
      case 'Fn::GetAtt': {
        const [id, attribute] = Array.isArray(args) ? (args as [string, string]) : (String(args).split('.') as [string, string]);
        if (!template.Resources[id]) throw new Error(`Fn::GetAtt of ${id}: no such resource`);
        if (!instance.getAtt) throw new Error(`Fn::GetAtt ${id}.${attribute}: the instance resolves no attributes`);
        return instance.getAtt(id, attribute);
      }
      case 'Fn::GetStackOutput':
      case 'Fn::ImportValue': {
        const [stackName, outputName] =
          fn === 'Fn::ImportValue'
            ? [undefined, String(resolveInner(template, args, instance))]
            : [
                String(resolveInner(template, (args as { StackName: unknown }).StackName, instance)),
                String((args as { OutputName: string }).OutputName),
              ];
        if (!instance.stackOutput) throw new Error(`${fn} ${outputName}: the instance resolves no other stack's outputs`);
        return instance.stackOutput(stackName, outputName);
      }
      case 'Fn::Join':
        return (arg(1) as unknown[]).map(String).join(arg(0) as string);
      case 'Fn::Split':
        return String(arg(1)).split(arg(0) as string);
      case 'Fn::Select': {
        const list = arg(1) as unknown[];
        const index = Number(arg(0));
        if (!Array.isArray(list) || index < 0 || index >= list.length) throw new Error(`Fn::Select index ${index} out of range`);
        return list[index];
      }
      case 'Fn::Sub': {
        const [text, variables] = Array.isArray(args)
          ? [args[0] as string, resolveInner(template, args[1], instance) as Record<string, string>]
          : [args as string, {}];
        return text.replace(/\$\{([^}!]+)\}/g, (_m, name: string) => {
          if (name in variables) return variables[name];
          return String(
            name.includes('.') ? resolveInner(template, { 'Fn::GetAtt': name }, instance) : resolveInner(template, { Ref: name }, instance),
          );
        });
      }
      case 'Fn::If': {
        const [condition, whenTrue, whenFalse] = args as [string, unknown, unknown];
        return resolveInner(template, conditionValue(template, condition, instance) ? whenTrue : whenFalse, instance);
      }
      default:
        throw new Error(`${fn} is not evaluated here`);
    }
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const r = resolveInner(template, v, instance);
    if (r !== NO_VALUE) out[k] = r;
  }
  return out;
}

function single(expression: unknown): [string, unknown] {
  if (expression === null || typeof expression !== 'object' || Object.keys(expression).length !== 1) {
    throw new Error(`not an intrinsic function: ${JSON.stringify(expression)}`);
  }
  return Object.entries(expression)[0] as [string, unknown];
}

/**
 * The template as CloudFormation deploys it for `instance`: resources and outputs whose condition is false are
 * gone, and every Fn::If is replaced by the branch its condition picks (a branch of `Ref: AWS::NoValue` removes the
 * property). Other intrinsic functions stay as they are, so references can still be followed.
 */
export function withConditions(template: CfnTemplate, instance: Instance): CfnTemplate {
  const holds = (name?: string) => name === undefined || conditionValue(template, name, instance);
  const pick = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(pick).filter((v) => v !== NO_VALUE);
    if (value === null || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === 'Fn::If') {
      const [condition, whenTrue, whenFalse] = (value as { 'Fn::If': [string, unknown, unknown] })['Fn::If'];
      return pick(conditionValue(template, condition, instance) ? whenTrue : whenFalse);
    }
    if (keys.length === 1 && keys[0] === 'Ref' && (value as { Ref: string }).Ref === 'AWS::NoValue') return NO_VALUE;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const p = pick(v);
      if (p !== NO_VALUE) out[k] = p;
    }
    return out;
  };
  const resources = Object.fromEntries(
    Object.entries(template.Resources)
      .filter(([, r]) => holds(r.Condition))
      .map(([id, r]) => [id, pick(r) as CfnResource]),
  );
  const outputs = Object.fromEntries(
    Object.entries(template.Outputs ?? {})
      .filter(([, o]) => holds(o.Condition))
      .map(([id, o]) => [id, pick(o) as { Value: unknown }]),
  );
  return { ...template, Resources: resources, Outputs: outputs };
}

/**
 * Every Ref, Fn::GetAtt, `${...}` of Fn::Sub and DependsOn in resources and outputs that names neither a resource
 * of the template, a parameter nor a pseudo parameter: what CloudFormation refuses as an unresolved dependency.
 */
export function danglingReferences(template: CfnTemplate): string[] {
  const known = (name: string) => name.startsWith('AWS::') || name in template.Resources || name in (template.Parameters ?? {});
  const found: string[] = [];
  const walk = (where: string, value: unknown): void => {
    if (Array.isArray(value)) return value.forEach((v) => walk(where, v));
    if (value === null || typeof value !== 'object') return;
    for (const [k, v] of Object.entries(value)) {
      if (k === 'Ref' && typeof v === 'string' && !known(v)) found.push(`${where} refers to ${v}`);
      if (k === 'Fn::GetAtt') {
        const id = Array.isArray(v) ? String(v[0]) : String(v).split('.')[0];
        if (!(id in template.Resources)) found.push(`${where} reads an attribute of ${id}`);
      }
      if (k === 'Fn::Sub') {
        const text = Array.isArray(v) ? String(v[0]) : String(v);
        const variables = Array.isArray(v) ? Object.keys((v[1] ?? {}) as object) : [];
        for (const [, name] of text.matchAll(/\$\{([^}!]+)\}/g)) {
          const id = name.split('.')[0];
          if (!variables.includes(id) && !known(id)) found.push(`${where} substitutes ${name}`);
        }
      }
      walk(where, v);
    }
  };
  for (const [id, resource] of Object.entries(template.Resources)) {
    walk(`resource ${id}`, resource.Properties);
    for (const dependency of [resource.DependsOn ?? []].flat()) {
      if (!(dependency in template.Resources)) found.push(`resource ${id} depends on ${dependency}`);
    }
  }
  for (const [id, output] of Object.entries(template.Outputs ?? {})) walk(`output ${id}`, output);
  return found;
}
