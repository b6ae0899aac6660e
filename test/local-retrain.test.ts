/**
 * `npm run local -- --retrain` end to end (bin/local.ts as a child process, local/retrain/): in one work dir, a first
 * version served, then new data of the same problem retrained through the synthesized retraining state machine while a
 * client keeps calling the API: version 2 registered and served with no request failing across the blue/green swap;
 * the same data again ends as Unchanged; data the gate rejects leaves version 2 serving and fails the run.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { loadLocalConfig } from '../local/local-config';
import { parseLocalOptions } from '../local/local-options';
import { Progress } from '../local/progress';
import { taskHandlers } from '../local/retrain/task-handlers';
import { retrainingDefinition } from '../local/state-machine/retraining-definition';
import { allStates } from '../local/state-machine/state-machine-runner';
import { alive, LocalRun, runLocal } from './support/local-run';

/** A small three-class table trains in seconds. */
const QUICK = ['--label', 'kind', '--epochs', '30'];

let workDir: string;
const runs: LocalRun[] = [];
beforeAll(() => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-retrain-'));
});
afterAll(() => {
  for (const run of runs) if (run.child.pid !== undefined && alive(run.child.pid, true)) process.kill(-run.child.pid, 'SIGKILL');
  fs.rmSync(workDir, { recursive: true, force: true });
});

function start(args: string[]): LocalRun {
  const run = runLocal(['--port', '0', '--work-dir', workDir, ...QUICK, ...args]);
  runs.push(run);
  return run;
}

/**
 * Three well-separated classes of the same problem (columns x, y; label kind); `variant` moves every point, so each
 * variant is other data; `wrong` labels that share of the rows with another class (a model of it misses the bar).
 */
function table(name: string, variant: number, wrong = 0): string {
  const rows = Array.from({ length: 300 }, (_, i) => {
    const label = i % 3;
    const noise = (((i + variant) * 37) % 11) / 20 - 0.25 + variant / 100;
    const given = i % 10 < wrong * 10 ? (label + 1) % 3 : label;
    return [(label * 3 + noise).toFixed(3), ((label % 2) * 2 - noise).toFixed(3), ['apple', 'pear', 'plum'][given]].join(',');
  });
  const file = path.join(workDir, name);
  fs.writeFileSync(file, `x,y,kind\n${rows.join('\n')}\n`);
  return file;
}

function result(stdout: string): Record<string, unknown> & { version: number; modelVersion: string; previousModelServerPid: number } {
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`no RESULT line in:\n${stdout}`);
  return JSON.parse(line.slice('RESULT '.length));
}

function records(): { version: number; modelVersion: string; approvalStatus: string }[] {
  const dir = path.join(workDir, 'registry');
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')))
    .sort((a, b) => a.version - b.version);
}

/** Clients calling the API back to back until `until` resolves: each answer's status and the model version that gave it. */
async function callContinuously(url: string, until: Promise<unknown>, clients = 3): Promise<{ status: number; modelVersion?: string }[]> {
  let stop = false;
  void until.finally(() => {
    stop = true;
  });
  const answers: { status: number; modelVersion?: string }[] = [];
  const client = async () => {
    while (!stop) {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ instances: [{ x: 3.1, y: 2.0 }] }),
      }).catch((e: Error) => ({ status: 0, text: async () => e.message }));
      const body = await res.text();
      answers.push({
        status: res.status,
        modelVersion: res.status === 200 ? (JSON.parse(body) as { model_version: string }).model_version : body,
      });
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  return answers;
}

test('--retrain needs --data and takes neither --drift nor --reuse', () => {
  expect(() => parseLocalOptions(['--retrain'], {})).toThrow('--retrain needs --data <the new raw CSV file or folder>');
  expect(() => parseLocalOptions(['--retrain', '--data', 'x.csv', '--drift'], {})).toThrow(/--drift/);
  expect(() => parseLocalOptions(['--retrain', '--data', 'x.csv', '--reuse'], {})).toThrow(/takes no --reuse/);
  expect(parseLocalOptions(['--retrain', '--data', 'x.csv'], {})).toMatchObject({ retrain: true, data: path.resolve('x.csv') });
});

test('every Task state of the synthesized retraining state machine has a local handler, and no handler answers a state it lacks', () => {
  const options = parseLocalOptions(['--retrain', '--data', 'x.csv', '--work-dir', workDir], {});
  const run = {
    options,
    local: loadLocalConfig(),
    progress: new Progress(1, () => undefined),
    signal: new AbortController().signal,
    onCleanup: () => undefined,
  };
  const tasks = allStates(retrainingDefinition(run.local).definition)
    .filter(([, state]) => state.Type === 'Task')
    .map(([name]) => name);
  expect(Object.keys(taskHandlers(run, {})).sort()).toEqual(tasks.sort());
});

test('new data: version 2 is trained by the synthesized pipeline, registered and swapped in blue/green while every request is answered', async () => {
  const first = start(['--once', '--data', table('first.csv', 0)]);
  expect(await first.exited).toBe(0);
  const v1 = result(first.stdout()).modelVersion;

  const retrain = start(['--retrain', '--data', table('second.csv', 5)]);
  const [, url] = await retrain.waitFor(/Listening on (http:\/\/127\.0\.0\.1:\d+\/v1\/predict)/);
  const answered = retrain.waitFor(/^RESULT /m, 240_000);
  const answers = await callContinuously(url, answered);
  await answered;
  const out = retrain.stdout();
  const answer = result(out);
  retrain.child.kill('SIGINT');
  expect(await retrain.exited).toBe(0);

  // The definition's states, in its order, with the local tasks.
  expect(out).toMatch(/DlPlatform-Training\/RetrainingStateMachine\w+: \d+ states, valid ASL/);
  const outcome = JSON.parse(out.match(/^OUTCOME (.*)$/m)![1]);
  expect(outcome).toMatchObject({
    result: 'Approved',
    modelPackageVersion: 2,
    fingerprint: expect.stringMatching(/^dlplatform-training-/),
  });
  expect(outcome.states).toEqual(
    expect.arrayContaining(['Plan', 'Prepare', 'Fingerprint', 'Train', 'Evaluate', 'Register', 'EmitOutcome']),
  );
  expect(answer).toMatchObject({ status: 200, version: 2, previousVersion: 1, correct: true });
  expect(records().map((r) => [r.version, r.approvalStatus])).toEqual([
    [1, 'Approved'],
    [2, 'Approved'],
  ]);
  expect(records()[1].modelVersion).toBe(answer.modelVersion);

  // Served before and after the swap, and no request failed.
  expect(answers.length).toBeGreaterThan(10);
  expect(answers.filter((a) => a.status !== 200)).toEqual([]);
  expect(answers[0].modelVersion).toBe(v1);
  expect(answers[answers.length - 1].modelVersion).toBe(answer.modelVersion);
  expect(alive(answer.previousModelServerPid, true)).toBe(false);
  expect(out).toMatch(/old model server pid \d+ stopped/);
}, 360_000);

test('the same data again ends as Unchanged, naming the version it matches, without training', async () => {
  const run = start(['--retrain', '--once', '--data', path.join(workDir, 'second.csv')]);
  expect(await run.exited).toBe(0);
  const out = run.stdout();
  expect(out).toMatch(/Unchanged: --data, the image and the hyperparameters match version 2 \(Approved\); nothing trained or registered\./);
  expect(JSON.parse(out.match(/^OUTCOME (.*)$/m)![1])).toMatchObject({ result: 'Unchanged', modelPackageVersion: 2 });
  expect(out).not.toMatch(/Training \(training-image/);
  expect(records()).toHaveLength(2);
}, 180_000);

test('data the gate rejects: version 3 is recorded Rejected, version 2 keeps answering, and the run exits 1 with the reason', async () => {
  const run = start(['--retrain', '--data', table('mislabelled.csv', 9, 0.4)]);
  const [, url] = await run.waitFor(/Listening on (http:\/\/127\.0\.0\.1:\d+\/v1\/predict)/);
  const answers = await callContinuously(url, run.exited, 1);
  expect(await run.exited).toBe(1);
  expect(run.stderr()).toMatch(
    /^error: quality gate: version 3 was Rejected: test_accuracy 0\.\d+ is below the minimum 0\.95; version 2 kept serving/,
  );
  expect(records().map((r) => r.approvalStatus)).toEqual(['Approved', 'Approved', 'Rejected']);
  // Until the run ended, every answer came from version 2 (the requests cut off by the exit itself aside).
  const v2 = records()[1].modelVersion;
  const answered = answers.filter((a) => a.status !== 0);
  expect(answered.length).toBeGreaterThan(0);
  expect(answered.every((a) => a.status === 200 && a.modelVersion === v2)).toBe(true);
}, 240_000);
