/**
 * The proxy Lambda's cold start, side by side: the bundle `cdk deploy` uploads (the InferenceProxy
 * construct's esbuild options) against a naive bundle of the same SDK client (esbuild --bundle --minify with
 * default options, so the SDK's CommonJS builds). Prints each file's size and the time a fresh Node.js
 * process takes to load it (`require`, which is what Lambda's init phase does with the handler module),
 * median of alternating runs.
 *
 *   npx tsx bench/proxy-cold-start.ts [runs=30]
 */
import { execFileSync } from 'child_process';
import { buildSync } from 'esbuild';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { synthProxyBundle } from '../test/support/proxy-bundle';

const RUNS = Number(process.argv[2] ?? 30);
const GOAL_BYTES = 200 * 1024;
/** Loads the file given as argv[1] and prints how many milliseconds `require` took. */
const PROBE =
  'const s=process.hrtime.bigint();require(process.argv[1]);process.stdout.write(String(Number(process.hrtime.bigint()-s)/1e6))';

function naiveBundle(dir: string): string {
  const outfile = path.join(dir, 'naive.js');
  buildSync({
    stdin: {
      contents: "export { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';",
      resolveDir: path.join(__dirname, '..'),
      loader: 'ts',
    },
    bundle: true,
    minify: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    outfile,
    logLevel: 'warning',
  });
  return outfile;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function main(): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'proxy-cold-start-'));
  const proxy = synthProxyBundle();
  try {
    const files = { 'proxy (as deployed)': proxy.file, 'naive bundle of the client': naiveBundle(dir) };
    const times: Record<string, number[]> = Object.fromEntries(Object.keys(files).map((k) => [k, []]));
    for (let i = 0; i < RUNS + 3; i++) {
      for (const [name, file] of Object.entries(files)) {
        const ms = Number(execFileSync(process.execPath, ['-e', PROBE, file]).toString());
        if (i >= 3) times[name].push(ms); // the first runs warm the file cache
      }
    }
    console.log(`Proxy Lambda cold start: module load in a fresh Node.js ${process.version} process, median of ${RUNS} alternating runs\n`);
    console.log('| Bundle | Bytes | KiB | Load ms |\n| --- | --- | --- | --- |');
    for (const [name, file] of Object.entries(files)) {
      const bytes = fs.statSync(file).size;
      console.log(`| ${name} | ${bytes} | ${(bytes / 1024).toFixed(1)} | ${median(times[name]).toFixed(1)} |`);
    }
    const [ours, naive] = Object.keys(files);
    const bytes = fs.statSync(proxy.file).size;
    const ratio = median(times[ours]) / median(times[naive]);
    console.log(
      `\nBundle ${(bytes / 1024).toFixed(1)} KiB (goal: under ${GOAL_BYTES / 1024} KiB: ${bytes < GOAL_BYTES ? 'met' : 'NOT met'}); ` +
        `load time ${ratio.toFixed(2)}x the naive bundle's (goal: under 0.5x: ${ratio < 0.5 ? 'met' : 'NOT met'})`,
    );
  } finally {
    proxy.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main();
