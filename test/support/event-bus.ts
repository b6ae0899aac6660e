/**
 * What EventBridge does with an event on a bus, for the synthesized rules and schedules: whether a rule's event
 * pattern matches it (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html, values only),
 * and what a target then delivers: the whole event, its `Input`, its `InputPath`, or its `InputTransformer` applied
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html). Pattern syntax or a path
 * not written here throws rather than answer a guess. Not moto's: moto 5.2.5 has no TestEventPattern, sends to no
 * Step Functions target, and puts a string value into an InputTemplate without its quotes.
 */

/** A rule's target, or a schedule's, as the template has it (evaluated). */
export interface EventTarget {
  readonly Arn: unknown;
  readonly Input?: string;
  readonly InputPath?: string;
  readonly InputTransformer?: { readonly InputPathsMap?: Record<string, string>; readonly InputTemplate: string };
}

/**
 * Whether `pattern` matches `event`: every field the pattern names is in the event and equals one of the pattern's
 * values (an array in the event: one of its elements does). Content filters (prefix, anything-but, exists, ...) and
 * `$or` are not written here: they throw.
 */
export function patternMatches(pattern: Record<string, unknown>, event: unknown): boolean {
  return Object.entries(pattern).every(([field, expected]) => {
    if (field.startsWith('$')) throw new Error(`event pattern: "${field}" is not supported here`);
    const value = isObject(event) ? event[field] : undefined;
    if (isObject(expected)) return isObject(value) && patternMatches(expected, value);
    if (!Array.isArray(expected)) throw new Error(`event pattern: ${field} must be an array or an object, got ${JSON.stringify(expected)}`);
    const filter = expected.find((e) => typeof e === 'object' && e !== null);
    if (filter) throw new Error(`event pattern: the content filter ${JSON.stringify(filter)} is not supported here`);
    return value !== undefined && expected.some((e) => [value].flat().includes(e));
  });
}

/** The value at a JSON path of dot notation (`$.detail.object.key`), or undefined. */
function valueAt(event: unknown, path: string): unknown {
  if (!/^\$(\.[A-Za-z0-9_-]+)*$/.test(path)) throw new Error(`JSON path ${path}: only dot notation is supported here`);
  return path
    .split('.')
    .slice(1)
    .reduce<unknown>((node, key) => (isObject(node) ? node[key] : undefined), event);
}

/**
 * What the target delivers for `event`, parsed as JSON. In an InputTemplate, a placeholder outside a JSON string
 * takes the value as JSON (a string quoted); inside one, the value's text (eb-transform-target-input.html).
 */
export function deliveredInput(target: EventTarget, event: unknown): unknown {
  if (target.Input !== undefined) return JSON.parse(target.Input);
  if (target.InputPath !== undefined) return valueAt(event, target.InputPath);
  if (target.InputTransformer === undefined) return event;
  const { InputPathsMap = {}, InputTemplate } = target.InputTransformer;
  let text = '';
  let inString = false;
  for (let i = 0; i < InputTemplate.length; i++) {
    const c = InputTemplate[i];
    const placeholder = c === '<' ? /^<([A-Za-z0-9_.-]+)>/.exec(InputTemplate.slice(i)) : null;
    if (placeholder) {
      const name = placeholder[1];
      if (!(name in InputPathsMap)) throw new Error(`InputTemplate: <${name}> is not in InputPathsMap`);
      const value = valueAt(event, InputPathsMap[name]);
      const json = value === undefined ? 'null' : JSON.stringify(value);
      text += inString && typeof value === 'string' ? json.slice(1, -1) : json;
      i += placeholder[0].length - 1;
      continue;
    }
    if (c === '"' && InputTemplate[i - 1] !== '\\') inString = !inString;
    text += c;
  }
  return JSON.parse(text);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
