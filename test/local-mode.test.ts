/**
 * `npm run local` end to end: bin/local.ts as a child process, from a clean work dir, preparing the bundled raw
 * digits, training quickly (few epochs), evaluating, registering, serving through the real proxy handler behind
 * the local API Gateway front, and stopping every process it started.
 */
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';

import { alive, LocalRun, runLocal } from './support/local-run';

/** Few epochs: the digits CNN passes 95% test accuracy after 5, in seconds. */
const QUICK = ['--epochs', '5'];

/** The machine-readable line the runner prints after the sample prediction. */
function result(stdout: string): {
  status: number;
  predicted: string;
  expected: string;
  correct: boolean;
  modelVersion?: string;
  modelServerPid: number;
  runnerPid: number;
} {
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`no RESULT line in:\n${stdout}`);
  return JSON.parse(line.slice('RESULT '.length));
}

/** After a failed test: kills the runner's group and, when it printed its pid, the model server's group. */
function killAll(run: LocalRun): void {
  for (const pid of [run.child.pid, run.stdout().includes('RESULT ') ? result(run.stdout()).modelServerPid : undefined]) {
    if (pid !== undefined && alive(pid, true)) process.kill(-pid, 'SIGKILL');
  }
}

let workDir: string;
beforeAll(() => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-mode-'));
});
afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));

/** The path printed after `label: ` on a line of its own. */
function printedPath(stdout: string, label: string): string {
  const match = stdout.match(new RegExp(`^${label}: (.+)$`, 'm'));
  if (!match) throw new Error(`no "${label}:" line in:\n${stdout}`);
  return match[1];
}

test('--once prepares the raw digits, trains, evaluates, registers and answers a test row through the API, leaving reports on disk and no process behind', async () => {
  const run = runLocal(['--once', '--port', '0', '--work-dir', workDir, ...QUICK]);
  try {
    expect(await run.exited).toBe(0);
  } finally {
    killAll(run);
  }
  const out = run.stdout();
  expect(out).toMatch(/prepare \| rows: 1822 in, 1797 out; dropped: exact duplicate of an earlier row: 25/);
  expect(out).toMatch(/train \| epoch=1; train_loss=/);
  expect(out).toMatch(/train \| epoch=5; /);
  expect(out).toMatch(/\d+ test rows: accuracy 0\.\d{4}, macro precision/);
  expect(out).toMatch(
    /curl -s -H 'content-type: application\/json' -d '\{"instances":\[\[[\d,]+\]\]\}' http:\/\/127\.0\.0\.1:\d+\/v1\/predict/,
  );
  expect(out).toMatch(
    /curl -s -H 'content-type: application\/json' -d '\{"instances":\[\{"p0":\d+,"p1":\d+,[^']*\}\]\}' http:\/\/127\.0\.0\.1:\d+\/v1\/predict/,
  );
  const answer = result(out);
  const [prepared] = fs.readdirSync(path.join(workDir, 'prepared'));
  const sample = JSON.parse(
    fs.readFileSync(path.join(workDir, 'prepared', prepared, 'processing', 'output', 'report', 'sample-requests.json'), 'utf8'),
  );
  expect(answer).toMatchObject({ status: 200, expected: sample.labels[0], predicted: sample.labels[0], correct: true });
  expect(alive(answer.modelServerPid, true)).toBe(false);
  expect(alive(answer.runnerPid)).toBe(false);
  expect(fs.readdirSync(path.join(workDir, 'models')).filter((f) => !f.includes('.partial-'))).toHaveLength(1);

  const evaluationReport = printedPath(out, 'Evaluation report');
  expect(fs.readFileSync(evaluationReport, 'utf8')).toMatch(
    /<svg[^>]*aria-label="Confusion matrix"[\s\S]*<svg[^>]*aria-label="Reliability diagram"/,
  );
  const evaluation = JSON.parse(fs.readFileSync(path.join(path.dirname(evaluationReport), 'evaluation.json'), 'utf8'));
  expect(fs.readFileSync(printedPath(out, 'Data report'), 'utf8')).toMatch(/^<!DOCTYPE html>[\s\S]*Data report/);
  const record = JSON.parse(fs.readFileSync(printedPath(out, 'Registry record'), 'utf8'));
  expect(record).toMatchObject({
    version: 1,
    modelVersion: answer.modelVersion,
    approvalStatus: 'Approved',
    dataHash: expect.stringMatching(/^[0-9a-f]{64}$/),
    metrics: { test_accuracy: evaluation.accuracy, test_macro_f1: evaluation.macro_avg.f1 },
    evaluationReport,
  });
  expect(record.statusReason).toMatch(/^test_accuracy 0\.\d+ meets the bar 0\.95; no approved model to compare with$/);
}, 240_000);

test("serving mode answers API Gateway's errors for bad requests and stops everything on SIGINT with exit 0", async () => {
  const run = runLocal(['--port', '0', '--work-dir', workDir, '--reuse', ...QUICK]);
  try {
    const [, url] = await run.waitFor(/Serving on (http:\/\/127\.0\.0\.1:\d+\/v1\/predict) \(listening/);
    expect(run.stdout()).toMatch(/reused the cached model/);
    expect(run.stdout()).toMatch(/already registered \(same content hash\): not gated again/);
    // A byte body, so that fetch adds no Content-Type of its own.
    const post = (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }, target = url) =>
      fetch(target, { method: 'POST', headers, body: new TextEncoder().encode(body) }).then(async (r) => ({
        status: r.status,
        body: (await r.json()) as { error: string; requestId: string },
      }));

    // The request validator's JSON-schema model (gateway response DEFAULT_4XX shape).
    const malformed = await post('{"rows": [[1, 2]]}');
    expect(malformed.status).toBe(400);
    expect(malformed.body).toEqual({ error: 'Invalid request body', requestId: expect.any(String) });
    expect((await post('{"instances": [')).body.error).toBe('Invalid request body');
    // The required Content-Type header.
    expect(await post('{"instances": [[1]]}', {})).toMatchObject({
      status: 400,
      body: { error: 'Missing required request parameters: [Content-Type]' },
    });
    // No model for other content types: the proxy itself answers 415.
    expect((await post('x=1', { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(415);
    // Unknown routes and methods: IAM-authorised REST APIs answer 403 Missing Authentication Token.
    expect(await post('{}', { 'content-type': 'application/json' }, url.replace('/v1/predict', '/v1/nothing'))).toMatchObject({
      status: 403,
      body: { error: 'Missing Authentication Token' },
    });
    expect((await fetch(url)).status).toBe(403);
    // A well-formed request still gets predictions after the errors.
    const ok = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: `${Array(64).fill(0).join(',')}\n` });
    expect(ok.status).toBe(200);

    const { modelServerPid } = result(run.stdout());
    expect(alive(modelServerPid, true)).toBe(true);
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(0);
    expect(run.stdout()).toMatch(/Stopped every process it started/);
    expect(alive(modelServerPid, true)).toBe(false);
  } finally {
    killAll(run);
  }
}, 180_000);

test('a busy port fails fast with exit 1 and one line naming the port', async () => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
  const { port } = blocker.address() as net.AddressInfo;
  try {
    const run = runLocal(['--once', '--port', String(port), '--work-dir', workDir]);
    expect(await run.exited).toBe(1);
    const lines = run
      .stderr()
      .split('\n')
      .filter((l) => l.trim() !== '');
    expect(lines).toEqual([expect.stringMatching(new RegExp(`^error: port ${port} on 127\\.0\\.0\\.1 is already in use; .*--port`))]);
    expect(run.stdout()).not.toMatch(/\[1\/\d\]/);
  } finally {
    await new Promise((resolve) => blocker.close(resolve));
  }
}, 60_000);

test('--data with a single class fails at prepare with exit 1 and one line naming the file and the problem', async () => {
  const data = path.join(workDir, 'one-class.csv');
  fs.writeFileSync(data, `x1,x2,label\n${Array.from({ length: 8 }, (_, i) => `${i},${i * 2},a`).join('\n')}\n`);
  const run = runLocal(['--once', '--port', '0', '--work-dir', workDir, '--data', data]);
  expect(await run.exited).toBe(1);
  const lines = run
    .stderr()
    .split('\n')
    .filter((l) => l.trim() !== '');
  expect(lines).toEqual([
    'error: prepare failed: Only one class ("a") in column "label" of one-class.csv after cleaning; a classifier needs rows of two or more classes',
  ]);
  expect(run.stdout()).not.toMatch(/\[3\/8\] Training/);
}, 120_000);

test('--help prints the usage and exits 0', async () => {
  const run = runLocal(['--help']);
  expect(await run.exited).toBe(0);
  expect(run.stdout()).toMatch(/--port[\s\S]*--data[\s\S]*--once[\s\S]*--reuse[\s\S]*--model-dir/);
}, 60_000);

test("reads the settings cdk deploy reads: a bad -c setting fails with exit 1 and the configuration's one line, before any work", async () => {
  const run = runLocal(['--once', '--port', '0', '--work-dir', workDir, '-c', 'prepareMissingValues=zero']);
  expect(await run.exited).toBe(1);
  expect(
    run
      .stderr()
      .split('\n')
      .filter((l) => l.trim() !== ''),
  ).toEqual(['error: cdk.json or -c has an invalid setting: Invalid setting "prepareMissingValues": "zero"; allowed: median, mean, drop']);
  expect(run.stdout()).not.toMatch(/\[1\/\d\]/);
}, 60_000);

test('a PREPARE_* variable in the shell is refused with exit 2, naming the -c that replaces it', async () => {
  const run = runLocal(['--once', '--port', '0', '--work-dir', workDir], { PREPARE_SEED: '7' });
  try {
    expect(await run.exited).toBe(2);
  } finally {
    killAll(run);
  }
  expect(run.stderr()).toMatch(/^error: PREPARE_SEED set in the environment: .*pass -c prepareSeed=7 \(see --help\)\n$/);
}, 60_000);

/** A generated table: three well-separated classes; `text` adds a text column that follows the class. */
function table(file: string, header: string[], row: (label: number, i: number) => (string | number)[]): string {
  const lines = Array.from({ length: 300 }, (_, i) => row(i % 3, i).join(','));
  fs.writeFileSync(file, `${header.join(',')}\n${lines.join('\n')}\n`);
  return file;
}

test('two tables of different problems in one work dir: the second is refused as a different problem, never as a regression, and served once accepted', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-tables-'));
  const noise = (i: number) => ((i * 37) % 11) / 20 - 0.25;
  const fruit = table(path.join(dir, 'fruit.csv'), ['x', 'region', 'kind'], (label, i) => [
    (label * 3 + noise(i)).toFixed(3),
    ['north', 'south', 'east'][label],
    ['apple', 'pear', 'plum'][label],
  ]);
  const wine = table(path.join(dir, 'wine.csv'), ['alcohol', 'acidity', 'colour', 'quality'], (label, i) => [
    (10 + label * 2 + noise(i)).toFixed(3),
    (label - noise(i)).toFixed(3),
    label === 2 ? 'white' : 'red',
    `q${label}`,
  ]);
  const runs: LocalRun[] = [];
  const once = async (args: string[]) => {
    const run = runLocal(['--once', '--port', '0', '--work-dir', dir, '--epochs', '30', ...args]);
    runs.push(run);
    return { code: await run.exited, out: run.stdout(), err: run.stderr() };
  };
  try {
    const first = await once(['--data', fruit, '--label', 'kind']);
    expect(first.code).toBe(0);
    // The sample request is sent by feature name, the text column as text.
    expect(first.out).toMatch(/curl -s .*'\{"instances":\[\{"x":[-\d.]+,"region":"(north|south|east)"\}\]\}'/);
    expect(result(first.out)).toMatchObject({ status: 200, correct: true });

    const second = await once(['--data', wine, '--label', 'quality']);
    expect(second.code).toBe(1);
    expect(second.err).toMatch(
      /quality gate: model \w+ is refused: a different problem from the approved model version 1 \(\w+\) \(input columns: the candidate adds "alcohol", "acidity", "colour" and lacks "x", "region"; label column: "quality" against "kind"; labels: "q0", "q1", "q2" against the approved model's "apple", "pear", "plum"\): not compared and not a regression; train it into a new model group \(locally: another --work-dir\), or set qualityGateSchemaChange=accept/,
    );
    expect(second.err).not.toMatch(/below the approved/);

    const accepted = await once(['--data', wine, '--label', 'quality', '--reuse', '-c', 'qualityGateSchemaChange=accept']);
    expect(accepted.code).toBe(0);
    expect(accepted.out).toMatch(/reused the cached model/);
    expect(accepted.out).toMatch(
      /version 2: Approved \(test_accuracy [\d.]+ meets the bar 0\.95; a different problem from the approved model version 1 .*accepted by qualityGateSchemaChange=accept: judged on the bar alone\)/,
    );
    expect(result(accepted.out)).toMatchObject({ status: 200, correct: true });
  } finally {
    runs.forEach(killAll);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 420_000);
