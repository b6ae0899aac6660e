import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { anchorsOf, Citation, citationsIn, foldersOf, mayCite, problemWith, repositoryFiles } from './support/cited-paths';

const ROOT = path.join(__dirname, '..');

/** `file:line: path (why)` for each citation that does not resolve under `root`. */
function missing(citations: readonly Citation[], root: string): string[] {
  return citations.flatMap((c) => {
    const why = problemWith(c, root);
    return why ? [`${c.file}:${c.line}: ${c.cited}${c.anchor ? `#${c.anchor}` : ''} (${why})`] : [];
  });
}

describe('paths cited in comments and documentation', () => {
  const files = repositoryFiles(ROOT);
  const folders = foldersOf(files);
  const citations = files.filter(mayCite).flatMap((f) => citationsIn(f, fs.readFileSync(path.join(ROOT, f), 'utf8'), folders));

  test('every repository path a comment, README or docs page cites exists, and every linked heading too', () => {
    expect(missing(citations, ROOT)).toEqual([]);
  });

  test('the check reads README, docs/, TypeScript, Python, shell and Dockerfile comments', () => {
    const cited = (pattern: RegExp) => citations.filter((c) => pattern.test(c.file)).length;
    expect(cited(/^README\.md$/)).toBeGreaterThan(10);
    expect(cited(/^docs\/.*\.md$/)).toBeGreaterThan(10);
    expect(cited(/\.ts$/)).toBeGreaterThan(10);
    expect(cited(/\.py$/)).toBeGreaterThan(3);
    expect(cited(/(\.sh|^\.ci\/run)$/)).toBeGreaterThan(1);
    expect(cited(/Dockerfile$/)).toBeGreaterThan(0);
  });

  test('README links every page under docs/', () => {
    const linked = new Set(citations.filter((c) => c.file === 'README.md' && c.link).map((c) => c.cited));
    const pages = fs
      .readdirSync(path.join(ROOT, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`);
    expect(pages.filter((p) => !linked.has(p))).toEqual([]);
  });
});

describe('what counts as a path citation', () => {
  const folders = foldersOf(['bench/a.ts', 'constructs/serving/api.ts', 'img/bench/b.py', 'img/src/pkg/c.py', 'docs/x.md']);
  const cited = (file: string, text: string) => citationsIn(file, text, folders).map((c) => c.cited);

  test('a path in a TypeScript comment is one; the same text in a string, a template or a regular expression is not', () => {
    const code = [
      '// see bench/a.ts',
      "const s = 'bench/s.ts'; const t = `bench/t.ts`; const r = /bench\\/r.ts/;",
      '/** Built by constructs/serving/api.ts. */',
      'export const x = 1; // trailing constructs/serving/gone.ts',
    ].join('\n');
    expect(cited('lib/x.ts', code)).toEqual(['bench/a.ts', 'constructs/serving/api.ts', 'constructs/serving/gone.ts']);
  });

  test('Python: comments and docstrings are read, other strings are not', () => {
    const code = '"""Benchmarked by bench/b.py."""\nX = "bench/no.py"  # see bench/c.py\nY = \'\'\'\nsrc/pkg/c.py\n\'\'\'\n';
    expect(cited('img/src/pkg/m.py', code)).toEqual(['bench/b.py', 'bench/c.py', 'src/pkg/c.py']);
  });

  test('shell: a # that starts a word outside quotes begins a comment; $#, ${#x} and a quoted # do not', () => {
    const code = 'echo "$# ${#x} # bench/quoted.ts" # runs bench/a.ts\n# bench/b.ts\n';
    expect(cited('scripts/x.sh', code)).toEqual(['bench/a.ts', 'bench/b.ts']);
    expect(cited('.ci/run', `#!/usr/bin/env bash\n${code}`)).toEqual(['bench/a.ts', 'bench/b.ts']);
  });

  test('URLs, absolute paths, container paths and patterns with placeholders are not citations', () => {
    const text =
      'https://example.com/bench/a.ts /opt/ml/bench/a.ts input/config/hyperparameters.json ' +
      'bench/<name>.ts bench/*.ts constructs/{a,b}.ts bench/... `text/csv` AWS/SageMaker';
    expect(cited('docs/x.md', text)).toEqual([]);
  });

  test("a citation may be relative to the citing file's folder or any folder above it", () => {
    const inImage = citationsIn('img/src/pkg/m.py', '# bench/b.py and pkg/c.py and bench/a.ts', folders);
    expect(inImage.map((c) => [c.cited, c.bases])).toEqual([
      ['bench/b.py', ['img', '']],
      ['pkg/c.py', ['img/src']],
      ['bench/a.ts', ['img', '']],
    ]);
  });

  test('a stale citation is reported with the citing file and line; one that exists is not', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cited-paths-'));
    try {
      fs.mkdirSync(path.join(root, 'img', 'bench'), { recursive: true });
      fs.mkdirSync(path.join(root, 'img', 'src', 'pkg'), { recursive: true });
      fs.writeFileSync(path.join(root, 'img', 'bench', 'serve_bench.py'), '');
      const text = '"""Measured with bench/serve_bench.py.\n\nNot with bench/serve-bench.py."""\n';
      const citations = citationsIn('img/src/pkg/m.py', text, folders);
      expect(missing(citations, root)).toEqual(['img/src/pkg/m.py:3: bench/serve-bench.py (no such file or folder)']);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test("a Markdown link resolves from the linking file's folder only, and its #anchor must name a heading there", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cited-paths-'));
    try {
      fs.mkdirSync(path.join(root, 'docs'));
      fs.writeFileSync(path.join(root, 'docs', 'x.md'), '# X\n\n## Calling it\n\n```\n# not a heading\n```\n');
      fs.writeFileSync(path.join(root, 'README.md'), '');
      const text = '[a](x.md#calling-it) [b](x.md#not-a-heading) [c](README.md) [d](../README.md) [e](https://x.org/y.md)';
      expect(missing(citationsIn('docs/y.md', text, folders), root)).toEqual([
        'docs/y.md:1: x.md#not-a-heading (no heading #not-a-heading in docs/x.md)',
        'docs/y.md:1: README.md (no such file or folder)',
      ]);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test('the files read: code, Markdown, Dockerfiles and scripts without an extension, not data', () => {
    const names = [
      'lib/a.ts',
      'x/b.py',
      'scripts/c.sh',
      'docs/d.md',
      'training-image/Dockerfile',
      '.ci/run',
      'LICENSE',
      'package-lock.json',
      'x/data.csv',
      'test/__snapshots__/e.test.ts.snap',
      'training-image/.dockerignore',
    ];
    expect(names.filter(mayCite)).toEqual([
      'lib/a.ts',
      'x/b.py',
      'scripts/c.sh',
      'docs/d.md',
      'training-image/Dockerfile',
      '.ci/run',
      'LICENSE',
    ]);
  });

  test('heading anchors follow GitHub: lower case, punctuation dropped, spaces to hyphens', () => {
    expect([...anchorsOf('# Which version serves: the pointer\n## Why 64 KB\n### `npm run local`, step by step\n')]).toEqual([
      'which-version-serves-the-pointer',
      'why-64-kb',
      'npm-run-local-step-by-step',
    ]);
  });
});
