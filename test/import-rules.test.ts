/**
 * The layout's import rules: no import cycle anywhere, and the eslint rules that keep constructs/ free of the
 * app (lib/) and runtime/ code free of the CDK, imports in order and lines within 140 characters do fire.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

const ROOT = path.join(__dirname, '..');
const SOURCE_DIRS = ['bin', 'lib', 'constructs', 'local', 'scripts', 'bench', 'test'];

function sourceFiles(dir: string): string[] {
  return (fs.readdirSync(path.join(ROOT, dir), { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => path.join(dir, f));
}

/** The project files a file imports (relative imports only, type-only imports included). */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(fs.readFileSync(path.join(ROOT, file), 'utf8'), true, true);
  return info.importedFiles
    .map((i) => i.fileName)
    .filter((s) => s.startsWith('.'))
    .flatMap((spec) => {
      const base = path.join(path.dirname(file), spec.replace(/\.js$/, ''));
      const hit = [`${base}.ts`, path.join(base, 'index.ts')].find((c) => fs.existsSync(path.join(ROOT, c)));
      return hit ? [hit] : [];
    });
}

/** Every cycle in the import graph, each as the list of files around it (Tarjan's strongly connected components). */
function importCycles(graph: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return cycles;
}

/** eslint's messages for `text` as if it were the file `file` (through the project's eslint.config.mjs). */
function lint(file: string, text: string): string[] {
  let out: string;
  try {
    out = execFileSync(path.join(ROOT, 'node_modules', '.bin', 'eslint'), ['--stdin', '--stdin-filename', file, '--format', 'json'], {
      cwd: ROOT,
      input: text,
      encoding: 'utf8',
    });
  } catch (e) {
    out = (e as { stdout: string }).stdout;
  }
  return (JSON.parse(out) as { messages: { ruleId: string; message: string }[] }[])[0].messages.map((m) => `${m.ruleId}: ${m.message}`);
}

describe('import graph', () => {
  const graph = new Map(SOURCE_DIRS.flatMap(sourceFiles).map((f) => [f, importsOf(f)] as const));

  test('has no cycle: no file imports another that imports it back', () => {
    expect(importCycles(graph)).toEqual([]);
  });

  test('the cycle check finds a cycle when there is one', () => {
    expect(
      importCycles(
        new Map([
          ['a.ts', ['b.ts']],
          ['b.ts', ['c.ts']],
          ['c.ts', ['a.ts']],
          ['d.ts', ['a.ts']],
        ]),
      ),
    ).toEqual([['a.ts', 'b.ts', 'c.ts']]);
  });

  test('no file under constructs/ imports lib/, bin/ or the tools', () => {
    const outward = [...graph].flatMap(([file, deps]) =>
      file.startsWith('constructs/') ? deps.filter((d) => !d.startsWith('constructs/')).map((d) => `${file} -> ${d}`) : [],
    );
    expect(outward).toEqual([]);
  });
});

describe('eslint import rules', () => {
  test('reject aws-cdk-lib and construct code in runtime/ code', () => {
    const messages = lint(
      'constructs/serving/runtime/example.ts',
      "import { Duration } from 'aws-cdk-lib';\n\nimport { X } from '../inference-proxy';\nexport const y = [Duration, X];\n",
    );
    expect(messages).toEqual([
      expect.stringMatching(/^no-restricted-imports: .*runtime\/ code runs inside a Lambda: no CDK imports/),
      expect.stringMatching(/^no-restricted-imports: .*runtime\/ code may import only from its own runtime\/ folder/),
    ]);
  });

  test("reject lib/ in constructs/, and any package's lib/ internals", () => {
    const messages = lint(
      'constructs/serving/example.ts',
      "import { x } from 'cdk-nag/lib/utils/flatten-cfn-reference';\n\nimport { loadConfig } from '../../lib/config';\nexport const y = [loadConfig, x];\n",
    );
    expect(messages).toEqual([
      expect.stringMatching(/^no-restricted-imports: .*not its lib\/ internals/),
      expect.stringMatching(/^no-restricted-imports: .*constructs\/ must not import the app/),
    ]);
  });

  test('reject the unscoped stack id and name, which CloudFormation resolves in whichever template they land in', () => {
    const messages = lint(
      'constructs/serving/example.ts',
      "import { Aws, Stack } from 'aws-cdk-lib';\nexport const f = (s: Stack) => [Aws.STACK_ID, Aws.STACK_NAME, s.stackId, Aws.REGION];\n",
    );
    expect(messages).toEqual([
      expect.stringMatching(/^no-restricted-properties: 'Aws.STACK_ID' is restricted .*Stack.of\(this\).stackId/),
      expect.stringMatching(/^no-restricted-properties: 'Aws.STACK_NAME' is restricted/),
    ]);
  });

  test('reject imports out of order and a code line over 140 characters; a long string alone may run past', () => {
    const longCode = `export const values = [${Array.from({ length: 40 }, (_, i) => i + 100).join(', ')}];`;
    const longString = `export const text = '${'word '.repeat(40)}';`;
    const messages = lint(
      'lib/example.ts',
      `import * as path from 'path';\nimport * as fs from 'fs';\n${longCode}\n${longString}\nexport const p = [path, fs];\n`,
    );
    expect(messages).toEqual([
      expect.stringMatching(/^simple-import-sort\/imports: Run autofix to sort these imports!/),
      expect.stringMatching(/^max-len: This line has a length of \d+\. Maximum allowed is 140/),
    ]);
  });

  test('accept what the rules allow', () => {
    expect(
      lint(
        'constructs/serving/runtime/example.ts',
        "import { MAX_INSTANCES } from './prediction-request';\nexport const y = MAX_INSTANCES;\n",
      ),
    ).toEqual([]);
  });
});
