/**
 * Measures what the inference proxy costs: the size of its Lambda bundle (the asset `cdk deploy` uploads,
 * bundled by the InferenceProxy construct) and its added latency per request. Sequential one-row requests
 * go to the local SageMaker Runtime stand-in in front of the real model server, three ways: raw HTTP, the
 * SageMaker Runtime SDK client, and the bundled proxy handler with an API Gateway event. The handler's own
 * cost is the difference of the percentiles.
 *
 *   npx tsx bench/proxy-latency.ts [requests=500]
 */
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import * as fs from 'fs';
import * as http from 'http';

import { startModelServer } from '../local/model-server';
import { startSageMakerRuntimeStandIn } from '../local/sagemaker-runtime-standin';
import { trainModel } from '../local/train-model';
import { synthProxyBundle } from '../test/support/proxy-bundle';

const REQUESTS = Number(process.argv[2] ?? 500);
const WARMUP = 50;
const ENDPOINT = 'bench-endpoint';
const ROW = [
  0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0, 0, 3, 15, 2, 0, 11, 8, 0, 0, 4, 12, 0, 0, 8, 8, 0, 0, 5, 8, 0, 0, 9, 8, 0, 0, 4, 11,
  0, 1, 12, 7, 0, 0, 2, 14, 5, 10, 12, 0, 0, 0, 0, 6, 13, 10, 0, 0, 0,
];
const BODY = JSON.stringify({ instances: [ROW] });

/** Runs the calls round-robin (so drift and noisy neighbours hit all alike); sorted milliseconds per call. */
async function timeInterleaved(calls: Record<string, () => Promise<void>>): Promise<Record<string, number[]>> {
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(calls).map((k) => [k, []]));
  for (let i = 0; i < WARMUP + REQUESTS; i++) {
    for (const [name, call] of Object.entries(calls)) {
      const start = process.hrtime.bigint();
      await call();
      if (i >= WARMUP) samples[name].push(Number(process.hrtime.bigint() - start) / 1e6);
    }
  }
  for (const s of Object.values(samples)) s.sort((a, b) => a - b);
  return samples;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function main(): Promise<void> {
  // The bundle exactly as cdk deploy uploads it (the InferenceProxy construct's esbuild options).
  const bundle = synthProxyBundle();
  const bundleBytes = fs.statSync(bundle.file).size;
  const model = await trainModel();
  const server = await startModelServer({ smRoot: model.smRoot });
  const standIn = await startSageMakerRuntimeStandIn({ modelUrl: server.url, endpointNames: [ENDPOINT] });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: standIn.url,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'dummy-secret',
    ENDPOINT_NAME: ENDPOINT,
  });
  const write = process.stdout.write.bind(process.stdout);
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the bundle is plain CommonJS
    const { handler } = require(bundle.file) as {
      handler: (e: APIGatewayProxyEvent, c: Context) => Promise<{ statusCode: number; body: string }>;
    };
    const agent = new http.Agent({ keepAlive: true });
    const url = new URL(`${standIn.url}/endpoints/${ENDPOINT}/invocations`);
    const client = new SageMakerRuntimeClient({});
    const context = { awsRequestId: 'bench', getRemainingTimeInMillis: () => 27_000 } as Context;
    const event = {
      body: BODY,
      headers: { 'Content-Type': 'application/json' },
      isBase64Encoded: false,
      requestContext: { requestId: 'bench' },
    } as unknown as APIGatewayProxyEvent;
    // The handler's log lines are not part of what is measured here.
    process.stdout.write = (() => true) as typeof process.stdout.write;
    const { raw, sdk, proxied } = await timeInterleaved({
      raw: () =>
        new Promise<void>((resolve, reject) => {
          const req = http.request(
            url,
            { method: 'POST', agent, headers: { 'content-type': 'application/json', accept: 'application/json' } },
            (res) => {
              res.resume();
              res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
            },
          );
          req.on('error', reject);
          req.end(BODY);
        }),
      sdk: async () => {
        await client.send(
          new InvokeEndpointCommand({
            EndpointName: ENDPOINT,
            ContentType: 'application/json',
            Accept: 'application/json',
            Body: Buffer.from(BODY),
          }),
        );
      },
      proxied: async () => {
        const res = await handler(event, context);
        if (res.statusCode !== 200) throw new Error(`handler answered ${res.statusCode}: ${res.body}`);
      },
    });
    process.stdout.write = write;

    const row = (name: string, s: number[]) => `| ${name} | ${percentile(s, 50).toFixed(2)} | ${percentile(s, 99).toFixed(2)} |`;
    console.log(
      `Proxy bundle (the synthesized asset's index.js: esbuild, minified, SDK bundled): ${bundleBytes} bytes (${(bundleBytes / 1024).toFixed(1)} KiB)`,
    );
    console.log(
      `\n${REQUESTS} sequential one-row requests per path, round-robin (after ${WARMUP} warm-up), Node ${process.version}, ms:\n`,
    );
    console.log('| Path | p50 | p99 |\n| --- | --- | --- |');
    console.log(row('raw HTTP to the stand-in', raw));
    console.log(row('SDK InvokeEndpoint to the stand-in', sdk));
    console.log(row('handler (API Gateway event -> SDK -> stand-in)', proxied));
    console.log(
      `\nHandler's own cost over the SDK call: p50 ${(percentile(proxied, 50) - percentile(sdk, 50)).toFixed(2)} ms, p99 ${(percentile(proxied, 99) - percentile(sdk, 99)).toFixed(2)} ms`,
    );
    console.log(
      `Handler + SDK over raw HTTP: p50 ${(percentile(proxied, 50) - percentile(raw, 50)).toFixed(2)} ms, p99 ${(percentile(proxied, 99) - percentile(raw, 99)).toFixed(2)} ms`,
    );
  } finally {
    process.stdout.write = write;
    await standIn.close();
    await server.stop();
    bundle.dispose();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
