/**
 * Local mode's data capture and drift check end to end: `npm run local` (bin/local.ts as a child process) serves a
 * quickly trained model; 500 rows of the test split, then 500 rows with two features shifted, go through the local
 * API; the SageMaker Runtime stand-in captures them in SageMaker's format; `npm run local -- --drift` runs the real
 * `monitor` over each half (split by inference time) and finds no drift in the first and exactly the two shifted
 * features in the second.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { CaptureWriter } from '../local/capture-writer';
import { LocalRun, runLocal } from './support/local-run';

const REPO = path.resolve(__dirname, '..');
const TEST_CSV = path.join(REPO, 'training-image', 'sample-data', 'test.csv');
const SHIFTED = ['p20', 'p43'];

/** How long each step may take: these runs train, serve and check drift, slower than local mode's own waits. */
const STEP_MS = 200_000;

/** Kills what a failed run left: the runner's process group (the model server has its own, stopped by the runner). */
function kill(run: LocalRun): void {
  try {
    process.kill(-run.child.pid!, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** The test split as clients send it: header, rows of the 64 pixels, labels dropped. */
function testRows(): { names: string[]; rows: number[][] } {
  const [header, ...lines] = fs.readFileSync(TEST_CSV, 'utf8').trim().split(/\r?\n/);
  const columns = header.split(',');
  const label = columns.indexOf('label');
  return {
    names: columns.filter((_, i) => i !== label),
    rows: lines.map((l) =>
      l
        .split(',')
        .filter((_, i) => i !== label)
        .map(Number),
    ),
  };
}

/** Sends `rows` ten at a time, JSON and CSV in turn, as clients would; every request must be answered. */
async function send(url: string, names: string[], rows: number[][]): Promise<void> {
  for (let i = 0; i < rows.length; i += 10) {
    const chunk = rows.slice(i, i + 10);
    const csv = (i / 10) % 2 === 1;
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': csv ? 'text/csv' : 'application/json' },
      body: csv ? `${names.join(',')}\n${chunk.map((r) => r.join(',')).join('\n')}\n` : JSON.stringify({ instances: chunk }),
    });
    expect([res.status, await res.text()]).toEqual([200, expect.stringContaining('predictions')]);
  }
}

function driftLine(stdout: string): { status: string; records: number; drifted: string[]; report: string } {
  const line = stdout.split('\n').find((l) => l.startsWith('DRIFT '));
  if (!line) throw new Error(`no DRIFT line in:\n${stdout}`);
  return JSON.parse(line.slice('DRIFT '.length));
}

let workDir: string;
beforeAll(() => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-drift-'));
});
afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));

test('the capture writer lays records out as an endpoint does: <endpoint>/<variant>/yyyy/mm/dd/hh/, one JSON line per invocation', () => {
  const times = [new Date('2026-12-31T23:59:59.500Z'), new Date('2027-01-01T00:00:01Z')];
  const writer = new CaptureWriter({ directory: workDir, now: () => times.shift()! });
  const first = writer.record(
    'ep',
    { contentType: 'text/csv; charset=utf-8', body: Buffer.from('1,2\n') },
    { contentType: 'application/json', body: Buffer.from('{"predictions":[]}') },
  );
  const second = writer.record(
    'ep',
    { contentType: 'application/x-npy', body: Buffer.from([0, 1, 2]) },
    { contentType: 'application/json', body: Buffer.from('{}') },
  );
  expect(path.relative(workDir, first)).toMatch(/^ep\/AllTraffic\/2026\/12\/31\/23\/59-59-500-[0-9a-f-]{36}\.jsonl$/);
  expect(path.relative(workDir, second)).toMatch(/^ep\/AllTraffic\/2027\/01\/01\/00\/00-01-000-[0-9a-f-]{36}\.jsonl$/);
  const [record] = fs
    .readFileSync(first, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  expect(record).toEqual({
    captureData: {
      endpointInput: { observedContentType: 'text/csv; charset=utf-8', mode: 'INPUT', data: '1,2\n', encoding: 'CSV' },
      endpointOutput: { observedContentType: 'application/json', mode: 'OUTPUT', data: '{"predictions":[]}', encoding: 'JSON' },
    },
    eventMetadata: { eventId: expect.stringMatching(/^[0-9a-f-]{36}$/), inferenceTime: '2026-12-31T23:59:59Z' },
    eventVersion: '0',
  });
  // A type the endpoint config does not list is captured as base64, as SageMaker does.
  expect(JSON.parse(fs.readFileSync(second, 'utf8')).captureData.endpointInput).toMatchObject({ encoding: 'BASE64', data: 'AAEC' });
  fs.rmSync(path.join(workDir, 'ep'), { recursive: true });
});

test('500 test rows show no drift; 500 rows with p20 and p43 shifted drift on exactly those two', async () => {
  const serving = runLocal(['--port', '0', '--work-dir', workDir, '--epochs', '5'], {}, STEP_MS);
  let boundary: string;
  try {
    const [, url] = await serving.waitFor(/Serving on (http:\/\/\S+) /);
    const { names, rows } = testRows();
    const test = Array.from({ length: 500 }, (_, i) => rows[i % rows.length]);
    // Shifted by about two of the training split's standard deviations: 8 on pixels of 0 to 16.
    const shifted = test.map((r) => r.map((v, j) => (SHIFTED.includes(names[j]) ? v + 8 : v)));
    await send(url, names, test);
    // Inference times have whole seconds: the halves are split at the next second.
    await new Promise((r) => setTimeout(r, 1100));
    boundary = `${new Date().toISOString().slice(0, 19)}Z`;
    await new Promise((r) => setTimeout(r, 1100));
    await send(url, names, shifted);
    serving.child.kill('SIGINT');
    expect(await serving.exited).toBe(0);
  } finally {
    kill(serving);
  }
  expect(serving.stdout()).toContain(`requests and answers are captured in ${path.join(workDir, 'capture')}`);

  const before = runLocal(['--drift', '--work-dir', workDir, '--drift-until', boundary], {}, STEP_MS);
  expect(await before.exited).toBe(0);
  // The runner's own sample request, sent when it starts serving, is captured too: 501 records.
  expect(driftLine(before.stdout())).toMatchObject({ status: 'ok', records: 501, drifted: [] });

  const after = runLocal(['--drift', '--work-dir', workDir, '--drift-since', boundary], {}, STEP_MS);
  expect(await after.exited).toBe(0);
  const report = driftLine(after.stdout());
  expect(report).toMatchObject({ status: 'drift', records: 500 });
  expect(report.drifted.sort()).toEqual(SHIFTED);
  expect(after.stdout()).toMatch(/most drifted features \(PSI; drifted at 0\.25 or more\):\n.* {2}p(20|43): \d+\.\d{3} {2}DRIFTED/);
  expect(after.stdout()).toContain(`Drift report: ${report.report}`);
  expect(fs.readFileSync(report.report, 'utf8')).toMatch(/<svg/);
}, 420_000);
