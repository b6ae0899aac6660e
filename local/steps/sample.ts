/**
 * Step: one sample row through the API, as a client sends it (a raw row of the prepared test split by feature
 * name, or with --model-dir a positional row of the bundled test.csv), with curl lines to try both forms by hand.
 */
import * as fs from 'fs';
import * as path from 'path';

import type { ApiGatewayFront } from '../api-gateway-front';
import { PreparedData, readSampleRequests } from '../prepare-data';
import { TRAINING_IMAGE_DIR } from '../train-model';
import { LocalModeError, LocalRun } from './run';

/** A feature value as a client sends it: a number, or a text column's category. */
type Value = number | string;

/** One row to send: its features (positional, and by name when the columns are known), its true label and where it comes from. */
export interface Sample {
  readonly features: Value[];
  readonly named?: Record<string, Value>;
  readonly label: string;
  readonly origin: string;
}

/** The API's answer: its status and body, and for a 200 the predicted label and its probability. */
export interface Answer {
  readonly status: number;
  readonly body: string;
  readonly label?: string;
  readonly probability?: number;
}

/** Sends the --sample row, shows the answer, and returns it; a failed prediction fails the run. */
export async function sendSample(
  run: LocalRun,
  front: ApiGatewayFront,
  prepared?: PreparedData,
): Promise<{ sample: Sample; answer: Answer }> {
  const { options, progress } = run;
  progress.step(prepared ? 'Sending a sample row of the test split...' : 'Sending a sample digit...');
  const sample = prepared ? preparedSample(prepared, options.sample) : bundledSample(options.sample);
  progress.detail(`sample: ${sample.origin}`);
  progress.detail('try it yourself, positional or by feature name:');
  const curl = (row: unknown) =>
    `  curl -s -H 'content-type: application/json' -d '${JSON.stringify({ instances: [row] }).replace(/'/g, "'\\''")}' ${front.predictUrl}`;
  progress.detail(curl(sample.features));
  if (sample.named) progress.detail(curl(sample.named));
  const answer = await predict(front.predictUrl, sample.named ?? sample.features);
  const correct = answer.label === sample.label;
  progress.detail(
    answer.status === 200
      ? `answer: predicted ${answer.label} (probability ${answer.probability}), true label ${sample.label}: ${correct ? 'correct' : 'WRONG'}`
      : `answer: HTTP ${answer.status} ${answer.body}`,
  );
  return { sample, answer };
}

/** The machine-readable RESULT line of the sample prediction, with what the flow adds (model version, server pid). */
export function printResult(run: LocalRun, sample: Sample, answer: Answer, fields: Record<string, unknown>): void {
  const correct = answer.label === sample.label;
  console.log(
    `RESULT ${JSON.stringify({ status: answer.status, predicted: answer.label, expected: sample.label, correct, sample: run.options.sample, ...fields, runnerPid: process.pid })}`,
  );
}

/** The failure of a sample prediction that did not answer 200. */
export function predictionError(answer: Answer): LocalModeError {
  return new LocalModeError(`the sample prediction failed with HTTP ${answer.status}: ${answer.body}`);
}

/** One data row of the bundled test set: its 64 pixels and its label (for --model-dir, where nothing is prepared). */
function bundledSample(index: number): Sample {
  const [header, ...rows] = fs
    .readFileSync(path.join(TRAINING_IMAGE_DIR, 'sample-data', 'test.csv'), 'utf8')
    .trim()
    .split(/\r?\n/);
  if (index >= rows.length) throw new LocalModeError(`--sample ${index} is past the last row of test.csv; use 0 to ${rows.length - 1}`);
  const labelAt = header.split(',').indexOf('label');
  const values = rows[index].split(',');
  return {
    features: values.filter((_, i) => i !== labelAt).map(Number),
    label: values[labelAt],
    origin: `training-image/sample-data/test.csv row ${index}`,
  };
}

/** A raw row of the prepared test split, as a client sends it (prepare's sample-requests.json). */
function preparedSample(prepared: PreparedData, index: number): Sample {
  const requests = readSampleRequests(prepared.reportDir);
  if (requests.instances.length === 0) throw new LocalModeError('the test split has no row without missing values to send as a sample');
  if (index >= requests.instances.length)
    throw new LocalModeError(`--sample ${index} is past the last sample row; use 0 to ${requests.instances.length - 1}`);
  return {
    features: requests.instances[index],
    named: requests.instances_by_name[index],
    label: requests.labels[index],
    origin: `${requests.origins[index]} (in the test split)`,
  };
}

async function predict(url: string, features: Value[] | Record<string, Value>): Promise<Answer> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ instances: [features] }),
  });
  const body = await res.text();
  if (res.status !== 200) return { status: res.status, body };
  const prediction = (JSON.parse(body) as { predictions: { label: string; probabilities: Record<string, number> }[] }).predictions[0];
  return { status: res.status, body, label: prediction.label, probability: prediction.probabilities[prediction.label] };
}
