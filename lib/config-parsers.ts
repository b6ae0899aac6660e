/**
 * Parsers for settings. A value arrives typed from cdk.json or as a string from `-c key=value`;
 * each parser accepts both and throws a ConfigError that names the setting, the value and what is allowed.
 */

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export type Parser<T> = (raw: unknown, key: string) => T;

function show(raw: unknown): string {
  if (raw === undefined) return 'unset';
  return typeof raw === 'string' ? `"${raw}"` : JSON.stringify(raw);
}

export function fail(key: string, raw: unknown, allowed: string): never {
  throw new ConfigError(`Invalid setting "${key}": ${show(raw)}; allowed: ${allowed}`);
}

export function integer(min: number, max: number): Parser<number> {
  return (raw, key) => {
    const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
      fail(key, raw, `a whole number from ${min} to ${max}`);
    }
    return n;
  };
}

export function decimal(min: number, max: number): Parser<number> {
  return (raw, key) => {
    const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
    if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > max) {
      fail(key, raw, `a number from ${min} to ${max}`);
    }
    return n;
  };
}

export const boolean: Parser<boolean> = (raw, key) => {
  if (raw === true || raw === 'true') return true;
  if (raw === false || raw === 'false') return false;
  return fail(key, raw, 'true or false');
};

export function oneOf<T extends string>(values: readonly T[]): Parser<T> {
  return (raw, key) => {
    if (typeof raw !== 'string' || !values.includes(raw as T)) fail(key, raw, values.join(', '));
    return raw as T;
  };
}

export function text(pattern: RegExp, description: string): Parser<string> {
  return (raw, key) => {
    if (typeof raw !== 'string' || !pattern.test(raw)) fail(key, raw, description);
    return raw;
  };
}

/** A list: a JSON array, or a comma-separated string from the command line. */
export function list<T>(item: Parser<T>, maxItems = 50): Parser<T[]> {
  return (raw, key) => {
    let items: unknown = raw;
    if (typeof raw === 'string') {
      const trimmed = raw.trim();
      items = trimmed.startsWith('[') ? parseJson(trimmed, key) : trimmed === '' ? [] : trimmed.split(',').map((s) => s.trim());
    }
    if (!Array.isArray(items) || items.length > maxItems) fail(key, raw, `a list of at most ${maxItems} items`);
    return items.map((v, i) => item(v, `${key}[${i}]`));
  };
}

/** An object of string values: a JSON object in cdk.json, or a JSON string from the command line. */
export function stringMap(keyPattern: RegExp, valuePattern: RegExp): Parser<Record<string, string>> {
  return (raw, key) => {
    const obj = typeof raw === 'string' ? parseJson(raw, key) : raw;
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) fail(key, raw, 'an object of name: value pairs');
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
      if (!keyPattern.test(k)) fail(`${key}.${k}`, k, `a name matching ${keyPattern}`);
      const value = typeof v === 'number' || typeof v === 'boolean' ? String(v) : v;
      if (typeof value !== 'string' || !valuePattern.test(value)) fail(`${key}.${k}`, v, `a string matching ${valuePattern}`);
      out[k] = value;
    }
    return out;
  };
}

function parseJson(raw: string, key: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return fail(key, raw, 'valid JSON');
  }
}

/** Makes a parser accept `undefined` (and an empty string from the command line) as "not set". */
export function optional<T>(parser: Parser<T>): Parser<T | undefined> {
  return (raw, key) => (raw === undefined || raw === null || raw === '' ? undefined : parser(raw, key));
}

const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
/** An IPv4 CIDR block such as 203.0.113.0/24. */
export const cidr = text(new RegExp(`^${OCTET}(\\.${OCTET}){3}/(3[0-2]|[12]?\\d)$`), 'an IPv4 CIDR block such as 203.0.113.0/24');
/** An ARN in any partition. */
export function arn(service: string): Parser<string> {
  return text(
    new RegExp(`^arn:aws(-cn|-us-gov)?:${service}:[a-z0-9-]+:\\d{12}:.+$`),
    `an ARN of the form arn:aws:${service}:<region>:<12-digit account>:<resource>`,
  );
}
