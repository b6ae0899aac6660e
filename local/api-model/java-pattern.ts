/**
 * Smithy/botocore `pattern` constraints are Java regular expressions (the services validate with
 * java.util.regex); this turns one into an equivalent JavaScript RegExp, or throws naming the Java feature it
 * cannot translate, so a pattern is never silently checked with the wrong meaning.
 *
 * The differences handled (Java: https://docs.oracle.com/javase/8/docs/api/java/util/regex/Pattern.html):
 * - Unicode categories (`\p{L}`, `\p{N}`, ...) and `\p{ASCII}`: JavaScript needs the `u` flag, which every
 *   translated pattern gets; under `u`, identity escapes of ordinary characters (`\_`, `\@`, `\:`) are errors,
 *   so they become the plain character.
 * - Java's POSIX classes (`\p{Print}`, `\p{Alnum}`, `\p{Alpha}`, ...), which are ASCII-only in Java and absent
 *   from JavaScript: replaced by their ASCII ranges.
 * - `\A`, `\z` (input start/end) become `^`, `$`; `\Z` becomes `(?=\n?$)`.
 * - `\s`/`\S`: Java's is ASCII whitespace only ([ \t\n\x0B\f\r]), JavaScript's also Unicode spaces: spelled out;
 *   a negated set inside a class (`[\s\S]`, `[a\P{Print}]`) becomes an alternation, as JavaScript cannot nest it.
 * - A `-` next to a class escape (`[\p{Z}-_]`) is a literal in Java, an error under `u`: escaped.
 * - Leading inline flags (`(?s)`, `(?i)`) become JavaScript flags.
 * - Property names JavaScript spells differently (`all`, `IsWhitespace`, `IsAlphabetic`).
 * - A quantified anchor (`${1,128}`, seen in SageMaker's tag patterns) is legal in Java, an error in
 *   JavaScript: the quantifier is dropped (an anchor repeated is the same anchor).
 * - Matching is whole-value, as the services match (DynamoDB refuses the table name `"smart-dcb-messages"`,
 *   quotes included, against `[a-zA-Z0-9_.-]+`, which an unanchored search would accept:
 *   https://github.com/aws/aws-cli/issues/790), so the pattern is wrapped in `^(?:...)$`.
 * Not translated (they throw): possessive quantifiers, atomic groups, `\Q...\E`, nested classes and class
 * intersection (`[a[b]]`, `&&`), inline flags after the start, `\h`, `\R`, `\X`, `\G`. No model this project
 * uses needs them (a test compiles every pattern of those models).
 */

/** Java's POSIX character classes (US-ASCII only unless UNICODE_CHARACTER_CLASS, which AWS models never set). */
const POSIX: Record<string, string> = {
  Lower: 'a-z',
  Upper: 'A-Z',
  ASCII: '\\x00-\\x7F',
  Alpha: 'a-zA-Z',
  Digit: '0-9',
  Alnum: 'a-zA-Z0-9',
  Punct: '!-\\/:-@\\[-`{-~',
  Graph: '!-~',
  Print: ' -~',
  Blank: ' \\t',
  Cntrl: '\\x00-\\x1F\\x7F',
  XDigit: '0-9a-fA-F',
  Space: ' \\t\\n\\x0B\\f\\r',
};
const JAVA_SPACE = ' \\t\\n\\x0B\\f\\r';
/** Characters that keep their backslash under the `u` flag: syntax characters and `/` (and `-`, only in a class). */
const KEEP_ESCAPED = new Set('^$\\.*+?()[]{}|/'.split(''));

export class UnsupportedJavaPattern extends Error {
  constructor(pattern: string, feature: string) {
    super(`Java pattern ${pattern} uses ${feature}, which has no JavaScript translation here`);
    this.name = 'UnsupportedJavaPattern';
  }
}

/** Java property names that JavaScript spells differently. */
const PROPERTY_ALIASES: Record<string, string> = {
  all: 'Any',
  IsWhitespace: 'White_Space',
  IsWhite_Space: 'White_Space',
  IsAlphabetic: 'Alphabetic',
};

/** The translation of a Java pattern: a JavaScript `u` regex body (not anchored) and its flags. */
export interface TranslatedPattern {
  readonly source: string;
  readonly flags: string;
}

/** Translates the Java pattern (see the module comment for what changes and what is refused). */
export function translateJavaPattern(pattern: string): TranslatedPattern {
  const unsupported = (feature: string): never => {
    throw new UnsupportedJavaPattern(pattern, feature);
  };
  let flags = 'u';
  let i = 0;
  // Leading inline flags ((?s), (?i)) apply to the whole pattern: JavaScript flags. Elsewhere they are refused.
  for (let m = /^\(\?([is]+)\)/.exec(pattern); m; m = /^\(\?([is]+)\)/.exec(pattern.slice(i))) {
    flags += m[1];
    i += m[0].length;
  }

  /** One escape at `at` (a backslash): its JS text, whether it is a class escape, and for \S/\P its negated set. */
  const escape = (at: number, inClass: boolean): { text: string; length: number; classEscape: boolean; negated?: string } => {
    const n = pattern[at + 1];
    if (n === undefined) unsupported('a trailing backslash');
    if (n === 'p' || n === 'P') {
      const m = /^\{(\w+)\}/.exec(pattern.slice(at + 2));
      if (!m) unsupported(`\\${n} without {name}`);
      const name = m![1];
      const length = 2 + m![0].length;
      const posix = POSIX[name];
      if (posix !== undefined && name !== 'ASCII') {
        if (n === 'P')
          return inClass ? { text: '', length, classEscape: true, negated: posix } : { text: `[^${posix}]`, length, classEscape: true };
        return { text: inClass ? posix : `[${posix}]`, length, classEscape: true };
      }
      // Unicode general categories (L, N, Lu, ...), ASCII and binary properties: JavaScript's \p under `u`.
      return { text: `\\${n}{${PROPERTY_ALIASES[name] ?? name}}`, length, classEscape: true };
    }
    if (n === 's') return { text: inClass ? JAVA_SPACE : `[${JAVA_SPACE}]`, length: 2, classEscape: true };
    if (n === 'S')
      return inClass
        ? { text: '', length: 2, classEscape: true, negated: JAVA_SPACE }
        : { text: `[^${JAVA_SPACE}]`, length: 2, classEscape: true };
    if (!inClass && n === 'A') return { text: '^', length: 2, classEscape: false };
    if (!inClass && n === 'z') return { text: '$', length: 2, classEscape: false };
    if (!inClass && n === 'Z') return { text: '(?=\\n?$)', length: 2, classEscape: false };
    if (n === 'Q') unsupported('\\Q...\\E quoting');
    if ('hHRXGvV'.includes(n)) unsupported(`\\${n}`);
    // \d \w \W \D \b \t \n \xHH \uHHHH \1 ...: the same meaning in both.
    if (/[0-9a-zA-Z]/.test(n)) return { text: `\\${n}`, length: 2, classEscape: 'dDwW'.includes(n) };
    return { text: KEEP_ESCAPED.has(n) || (inClass && n === '-') ? `\\${n}` : n, length: 2, classEscape: false };
  };

  /** A character class at `at` (a `[`): its JS text and length. */
  const charClass = (at: number): { text: string; length: number } => {
    let j = at + 1;
    let negate = false;
    if (pattern[j] === '^') {
      negate = true;
      j += 1;
    }
    let body = '';
    const negatedSets: string[] = [];
    let previousWasClassEscape = false;
    let first = true;
    for (;;) {
      const c = pattern[j];
      if (c === undefined) unsupported('an unterminated character class');
      if (c === ']' && !first) break;
      first = false;
      if (c === '[') unsupported('a nested character class');
      if (c === '&' && pattern[j + 1] === '&') unsupported('class intersection (&&)');
      if (c === '\\') {
        const e = escape(j, true);
        if (e.negated !== undefined) negatedSets.push(e.negated);
        body += e.text;
        previousWasClassEscape = e.classEscape;
        j += e.length;
        continue;
      }
      // Java reads a `-` next to a class escape (\p{Z}-_) as a literal; JavaScript's `u` mode refuses it.
      const nextIsClassEscape = c === '-' && pattern[j + 1] === '\\' && /[pPsSdDwW]/.test(pattern[j + 2] ?? '');
      body += c === ']' ? '\\]' : c === '-' && (previousWasClassEscape || nextIsClassEscape) ? '\\-' : c;
      previousWasClassEscape = false;
      j += 1;
    }
    const length = j + 1 - at;
    if (negatedSets.length === 0) return { text: `[${negate ? '^' : ''}${body}]`, length };
    // A negated set inside a class (Java's [a\S]): written as an alternation, since JavaScript cannot nest it.
    if (negatedSets.length > 1) unsupported('two negated sets in one class');
    const [set] = negatedSets;
    if (negate) return { text: `(?:${body ? `(?![${body}])` : ''}[${set}])`, length };
    return { text: body ? `(?:[${body}]|[^${set}])` : `[^${set}]`, length };
  };

  let out = '';
  while (i < pattern.length) {
    const c = pattern[i];
    if (c === '\\') {
      const e = escape(i, false);
      out += e.text;
      i += e.length;
    } else if (c === '[') {
      const k = charClass(i);
      out += k.text;
      i += k.length;
    } else if (c === '(' && pattern[i + 1] === '?' && pattern[i + 2] === '>') {
      unsupported('an atomic group');
    } else if (c === '(' && pattern[i + 1] === '?' && /[a-zA-Z]/.test(pattern[i + 2] ?? '')) {
      unsupported('inline flags after the start');
    } else if (c === '^' || c === '$') {
      out += c;
      i += 1;
      // Java allows quantifying an anchor; JavaScript does not. The anchor, repeated, is the same anchor.
      const q = /^(\{\d+(,\d*)?\}|[*+?])\??/.exec(pattern.slice(i));
      if (q) i += q[0].length;
    } else {
      if ((c === '*' || c === '+' || c === '?' || c === '}') && pattern[i + 1] === '+') unsupported('a possessive quantifier');
      out += c;
      i += 1;
    }
  }
  return { source: out, flags };
}

const compiled = new Map<string, RegExp>();

/** A RegExp that tests whether a whole value matches the Java pattern, as the services check it. */
export function compileJavaPattern(pattern: string): RegExp {
  let re = compiled.get(pattern);
  if (!re) {
    const { source, flags } = translateJavaPattern(pattern);
    re = new RegExp(`^(?:${source})$`, flags);
    compiled.set(pattern, re);
  }
  return re;
}
