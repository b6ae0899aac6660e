/**
 * Finds the repository paths that comments and documentation cite, so a test can check each still exists.
 *
 * Where citations are looked for:
 * - TypeScript and JavaScript: comments (`//`, `/* *\/`, JSDoc), found by the TypeScript parser, so text in
 *   strings and regular expressions is not mistaken for one;
 * - Python: `#` comments and triple-quoted strings (docstrings); shell scripts (`.sh`, or a `#!` line naming
 *   sh or bash): `#` comments; Dockerfiles: `#` lines;
 * - Markdown: all of the text, and the target of every relative link.
 *
 * What counts as a path citation: a word (split at spaces, quotes, backticks, brackets, commas and semicolons;
 * trailing `.`, `:`, `!`, `?` and a `#anchor` dropped) that holds a `/` and whose first folder is a folder of the
 * repository in one of the places a citation may point (below): `constructs/serving/api-waf.ts` anywhere,
 * `src/...` or `sample-data/...` in training-image/. A word starting with `./` or `../` counts too. Not citations:
 * URLs (`://`), absolute paths (`/opt/ml/...`), container paths whose first folder the repository lacks
 * (`input/config/hyperparameters.json`), and patterns with placeholders or globs (`<`, `>`, `{`, `}`, `*`, `$`,
 * `~`, `@`, `...`).
 *
 * Where a citation may point: the citing file's folder, or any folder above it up to the repository root; so in
 * training-image/src/dlplatform/, `bench/<name>.py` may mean training-image/bench/<name>.py. A Markdown link's
 * target is resolved from the linking file's folder only, as GitHub resolves it, and a `#anchor` on a Markdown
 * target must name one of that file's headings.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

/** A piece of a file that may cite paths: comment text, or a whole Markdown file. */
interface Span {
  readonly text: string;
  /** Offset of `text` in the file, to give line numbers. */
  readonly offset: number;
}

/** One path a file cites. */
export interface Citation {
  /** The citing file, relative to the repository root. */
  readonly file: string;
  readonly line: number;
  /** The path as written, without a `#anchor`. */
  readonly cited: string;
  /** The folders (relative to the root; `''` is the root) it may be relative to; it must exist in one of them. */
  readonly bases: readonly string[];
  /** A Markdown link (resolved from the citing file's folder only). */
  readonly link: boolean;
  /** A heading anchor the link names, without `#`. */
  readonly anchor?: string;
}

const PLACEHOLDER = /[<>{}*$~@]|\.\.\./;

/** Comment ranges of a TypeScript or JavaScript file, from the parsed tree. */
function tsComments(text: string, fileName: string): Span[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const seen = new Map<number, Span>();
  const add = (ranges: readonly ts.CommentRange[] | undefined) => {
    for (const r of ranges ?? []) seen.set(r.pos, { text: text.slice(r.pos, r.end), offset: r.pos });
  };
  const visit = (node: ts.Node) => {
    add(ts.getLeadingCommentRanges(text, node.getFullStart()));
    add(ts.getTrailingCommentRanges(text, node.getEnd()));
    for (const child of node.getChildren(source)) visit(child);
  };
  visit(source);
  return [...seen.values()].sort((x, y) => x.offset - y.offset);
}

/** `#` comments and triple-quoted strings of a Python file; other strings are skipped. */
function pythonComments(text: string): Span[] {
  const spans: Span[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '#') {
      const end = text.indexOf('\n', i);
      const stop = end < 0 ? text.length : end;
      spans.push({ text: text.slice(i, stop), offset: i });
      i = stop;
    } else if (c === '"' || c === "'") {
      const triple = text.startsWith(c.repeat(3), i);
      const quote = triple ? c.repeat(3) : c;
      let j = i + quote.length;
      while (j < text.length && !text.startsWith(quote, j) && (triple || text[j] !== '\n')) j += text[j] === '\\' ? 2 : 1;
      if (triple) spans.push({ text: text.slice(i + 3, j), offset: i + 3 });
      i = j + quote.length;
    } else {
      i += 1;
    }
  }
  return spans;
}

/** `#` comments of a shell script: a `#` at the start of a word, outside quotes. */
function shellComments(text: string): Span[] {
  const spans: Span[] = [];
  let offset = 0;
  for (const line of text.split('\n')) {
    let quote = '';
    for (let i = 0; i < line.length; i += 1) {
      const c = line[i];
      if (quote) {
        if (c === quote) quote = '';
      } else if (c === "'" || c === '"') {
        quote = c;
      } else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]))) {
        spans.push({ text: line.slice(i), offset: offset + i });
        break;
      }
    }
    offset += line.length + 1;
  }
  return spans;
}

/** `#` lines of a Dockerfile (Docker reads `#` as a comment only at the start of a line). */
function dockerfileComments(text: string): Span[] {
  const spans: Span[] = [];
  let offset = 0;
  for (const line of text.split('\n')) {
    if (/^\s*#/.test(line)) spans.push({ text: line, offset });
    offset += line.length + 1;
  }
  return spans;
}

/** The parts of `file` that may cite paths, or none for a kind of file the check does not read. */
export function citingSpans(file: string, text: string): Span[] {
  const base = path.basename(file);
  if (/\.(ts|js|mjs|cjs)$/.test(base)) return tsComments(text, base);
  if (base.endsWith('.py')) return pythonComments(text);
  if (base.endsWith('.sh') || /^#!.*\b(ba)?sh\b/.test(text)) return shellComments(text);
  if (base === 'Dockerfile') return dockerfileComments(text);
  if (base.endsWith('.md')) return [{ text, offset: 0 }];
  return [];
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) line += 1;
  return line;
}

/** The repository's folders, relative to its root (`constructs`, `constructs/serving`, ...), from its file list. */
export function foldersOf(files: readonly string[]): Set<string> {
  const folders = new Set<string>();
  for (const f of files) {
    for (let dir = path.posix.dirname(f); dir !== '.'; dir = path.posix.dirname(dir)) folders.add(dir);
  }
  return folders;
}

/** The folders a citation in `file` may be relative to: its own, then each above it, up to the root (`''`). */
export function basesOf(file: string): string[] {
  const bases: string[] = [];
  for (let dir = path.posix.dirname(file); dir !== '.'; dir = path.posix.dirname(dir)) bases.push(dir);
  return [...bases, ''];
}

/** The folders of `bases` that hold the first folder of `word`, or undefined when `word` is no path citation. */
export function citationBases(word: string, bases: readonly string[], folders: ReadonlySet<string>): string[] | undefined {
  if (!word.includes('/') || word.startsWith('/') || word.includes('://') || PLACEHOLDER.test(word)) return undefined;
  if (/^\.\.?\//.test(word)) return [bases[0]];
  const first = word.split('/')[0];
  const holding = bases.filter((b) => folders.has(b ? `${b}/${first}` : first));
  return holding.length > 0 ? holding : undefined;
}

/** Every path citation in `text`, the content of `file` (relative to the repository root). */
export function citationsIn(file: string, text: string, folders: ReadonlySet<string>): Citation[] {
  const out: Citation[] = [];
  const bases = basesOf(file);
  for (const span of citingSpans(file, text)) {
    const linkTargets = new Set<number>();
    if (file.endsWith('.md')) {
      for (const m of span.text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const at = span.offset + m.index! + 2;
        linkTargets.add(at);
        if (/^[a-z][a-z0-9+.-]*:/i.test(m[1]) || m[1].startsWith('#')) continue;
        const [cited, anchor] = m[1].split('#');
        out.push({ file, line: lineAt(text, at), cited, bases: [bases[0]], link: true, anchor });
      }
    }
    for (const m of span.text.matchAll(/[^\s`'"()[\],;|]+/g)) {
      const at = span.offset + m.index!;
      if (linkTargets.has(at)) continue;
      if (PLACEHOLDER.test(m[0])) continue;
      const cited = m[0].split('#')[0].replace(/[.:!?]+$/, '');
      const citedFrom = citationBases(cited, bases, folders);
      if (citedFrom) out.push({ file, line: lineAt(text, at), cited, bases: citedFrom, link: false });
    }
  }
  return out;
}

/** GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces to hyphens. */
export function headingAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[`*_]/g, '')
    .replace(/[^\p{L}\p{N}\s-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of a Markdown file's headings (outside fenced code blocks). */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    const m = !fenced && /^#{1,6}\s+(.*)$/.exec(line);
    if (m) anchors.add(headingAnchor(m[1]));
  }
  return anchors;
}

/** Why `c` does not resolve in the repository at `root`, or undefined when it does. */
export function problemWith(c: Citation, root: string): string | undefined {
  const targets = c.bases.map((b) => path.resolve(root, b, c.cited || path.posix.basename(c.file)));
  const target = targets.find((t) => fs.existsSync(t));
  if (!target) return 'no such file or folder';
  if (c.anchor && target.endsWith('.md') && !anchorsOf(fs.readFileSync(target, 'utf8')).has(c.anchor)) {
    return `no heading #${c.anchor} in ${path.relative(root, target)}`;
  }
  return undefined;
}

/** Whether the check reads `file`, by its name: code, Markdown, Dockerfiles, and files without an extension (scripts). */
export function mayCite(file: string): boolean {
  return /\.(ts|js|mjs|cjs|py|sh|md)$|(^|\/)Dockerfile$|(^|\/)[^./]+$/.test(file);
}

/** The repository's files, relative to `root`, skipping the folders .gitignore names (node_modules/, .venv/, ...) and .git. */
export function repositoryFiles(root: string): string[] {
  const ignored = new Set(['.git']);
  for (const line of fs.readFileSync(path.join(root, '.gitignore'), 'utf8').split('\n')) {
    if (/^[^#*!?[\]]+\/$/.test(line.trim())) ignored.add(line.trim().slice(0, -1));
  }
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
      if (ignored.has(entry.name)) continue;
      const rel = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(rel);
      else if (entry.isFile()) out.push(rel);
    }
  };
  walk('');
  return out.sort();
}
