/**
 * The proxy Lambda's handler, run for real: API Gateway proxy events into its exported `handler`, the
 * unmodified SageMaker Runtime SDK client (pointed with AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME) to the local
 * stand-in, which forwards to the real model server of training-image/ serving a model trained by the real
 * `train` entry point.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import * as fs from 'fs';
import * as path from 'path';

import { handler } from '../constructs/serving/runtime/inference-proxy.handler';
import { MAX_CSV_ROWS, MAX_JSON_ROWS } from '../constructs/serving/runtime/prediction-request';
import { REQUEST_LIMITS } from '../constructs/serving/runtime/request-limits';
import { startApiGatewayFront } from '../local/api-gateway-front';
import { freePort, ModelServer, startModelServer } from '../local/model-server';
import { SageMakerRuntimeStandIn, startSageMakerRuntimeStandIn } from '../local/sagemaker-runtime-standin';
import { TRAINING_IMAGE_DIR, trainModel } from '../local/train-model';
import { invokeBundle, synthProxyBundle } from './support/proxy-bundle';

const ENDPOINT = 'digits-endpoint';
const SAMPLE = fs
  .readFileSync(path.join(TRAINING_IMAGE_DIR, 'sample-data', 'test.csv'), 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((line) => line.split(',').map(Number));
const ROWS = SAMPLE.map((r) => r.slice(0, 64));
const LABELS = SAMPLE.map((r) => String(r[64]));

let server: ModelServer;
let standIn: SageMakerRuntimeStandIn;
let logs: string[] = [];
const saved = { ...process.env };

beforeAll(async () => {
  const model = await trainModel();
  server = await startModelServer({ smRoot: model.smRoot });
  standIn = await startSageMakerRuntimeStandIn({ modelUrl: server.url, endpointNames: [ENDPOINT] });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: standIn.url,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'dummy-secret',
    ENDPOINT_NAME: ENDPOINT,
  });
}, 300_000);

afterAll(async () => {
  await standIn?.close();
  await server?.stop();
  process.env = saved;
});

beforeEach(() => {
  standIn.clearFault();
  process.env.ENDPOINT_NAME = ENDPOINT;
  delete process.env.INVOKE_TIMEOUT_MS;
  logs = [];
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    logs.push(String(chunk));
    return true;
  });
});

afterEach(() => jest.restoreAllMocks());

let seq = 0;
/** A REST API (v1) Lambda proxy event for POST /predict, as API Gateway sends it. */
/** `contentType` null: no Content-Type header. */
function event(body: string | null, contentType: string | null = 'application/json', isBase64Encoded = false): APIGatewayProxyEvent {
  const requestId = `req-${++seq}`;
  const headers: Record<string, string> = { Host: 'abc123.execute-api.eu-west-1.amazonaws.com', 'User-Agent': 'jest' };
  if (contentType !== null) headers['Content-Type'] = contentType;
  return {
    resource: '/predict',
    path: '/predict',
    httpMethod: 'POST',
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    body,
    isBase64Encoded,
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      authorizer: null,
      domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
      domainPrefix: 'abc123',
      extendedRequestId: `ext-${seq}`,
      httpMethod: 'POST',
      identity: {
        accessKey: 'ASIAEXAMPLE',
        accountId: '123456789012',
        apiKey: null,
        apiKeyId: null,
        caller: 'AROAEXAMPLE:client',
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: '203.0.113.9',
        user: 'AROAEXAMPLE:client',
        userAgent: 'jest',
        userArn: 'arn:aws:sts::123456789012:assumed-role/client/client',
      },
      path: '/v1/predict',
      protocol: 'HTTP/1.1',
      requestId,
      requestTimeEpoch: Date.now(),
      resourceId: 'res123',
      resourcePath: '/predict',
      stage: 'v1',
    },
  };
}

function context(remainingMs = 27_000): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'proxy',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:proxy',
    memoryLimitInMB: '256',
    awsRequestId: `lambda-${seq}`,
    logGroupName: '/aws/lambda/proxy',
    logStreamName: 'stream',
    getRemainingTimeInMillis: () => remainingMs,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

const json = (instances: unknown) => JSON.stringify({ instances });

/** Asserts a JSON error answer: the status, `{"error", "requestId"}` and nothing else (no stack, no internals). */
function expectError(res: APIGatewayProxyResult, status: number, message: RegExp, ev?: APIGatewayProxyEvent): void {
  expect(res.statusCode).toBe(status);
  expect(res.headers?.['content-type']).toBe('application/json');
  const body = JSON.parse(res.body);
  expect(Object.keys(body).sort()).toEqual(['error', 'requestId']);
  expect(body.error).toMatch(message);
  if (ev) expect(body.requestId).toBe(ev.requestContext.requestId);
  expect(res.body).not.toMatch(/\bat .+\.(ts|js):\d+|Error:|arn:aws/);
}

/** The handler's log records of this test. */
function records(): Record<string, unknown>[] {
  return logs
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
}

describe('successful predictions', () => {
  test('answers one prediction per JSON row from the real model, mostly right', async () => {
    const res = await handler(event(json(ROWS.slice(0, 50))), context());
    expect(res.statusCode).toBe(200);
    expect(res.headers).toMatchObject({ 'content-type': 'application/json', 'cache-control': 'no-store' });
    const body = JSON.parse(res.body);
    expect(body.predictions).toHaveLength(50);
    expect(Object.keys(body.predictions[0].probabilities).sort()).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(body.model_version).toEqual(expect.any(String));
    const right = body.predictions.filter((p: { label: string }, i: number) => p.label === LABELS[i]).length;
    expect(right).toBeGreaterThanOrEqual(40);
  });

  test('answers CSV rows (text/csv with a charset parameter)', async () => {
    const res = await handler(
      event(
        ROWS.slice(0, 3)
          .map((r) => r.join(','))
          .join('\n'),
        'text/csv; charset=utf-8',
      ),
      context(),
    );
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body).predictions).toHaveLength(3);
  });

  test('decodes a base64-encoded body', async () => {
    const res = await handler(event(Buffer.from(json([ROWS[0]])).toString('base64'), 'application/json', true), context());
    expect(res.statusCode).toBe(200);
  });

  test('a request without Content-Type gets 400 naming the header, from the proxy as from the API in front of it', async () => {
    // The API's request validator requires the header (inference-api.ts, openapi/inference-api.yaml); the proxy
    // agrees instead of guessing JSON, so a direct invocation answers what the API answers.
    for (const missing of [null, ' ']) {
      const ev = event(json([ROWS[0]]), missing);
      expectError(
        await handler(ev, context()),
        400,
        /^Missing required request header Content-Type; send application\/json or text\/csv$/,
        ev,
      );
    }
    const front = await startApiGatewayFront({ handler });
    try {
      const viaApi = await fetch(front.predictUrl, { method: 'POST', body: new Blob([json([ROWS[0]])]) });
      expect(viaApi.status).toBe(400);
      expect(((await viaApi.json()) as { error: string }).error).toMatch(/Content-Type/);
    } finally {
      await front.close();
    }
  });

  test('retries a throttled call and succeeds within the attempt limit', async () => {
    standIn.injectFault({ kind: 'throttling', times: 1 });
    const before = standIn.invocations;
    const res = await handler(event(json([ROWS[0]])), context());
    expect(res.statusCode).toBe(200);
    expect(standIn.invocations - before).toBe(2);
  });
});

describe('no model approved yet (the Serving stack created no endpoint)', () => {
  test('every request gets 503 saying no model is approved, without a call to SageMaker', async () => {
    process.env.ENDPOINT_DEPLOYED = 'false';
    try {
      const before = standIn.invocations;
      const ev = event(json([ROWS[0]]));
      expectError(
        await handler(ev, context()),
        503,
        /^No model is approved for serving yet; try again once a model version is approved and deployed$/,
        ev,
      );
      expect(standIn.invocations).toBe(before);
      expect(records().at(-1)).toMatchObject({ status: 503, outcome: 'unavailable', errorName: 'NoApprovedModel' });
      process.env.ENDPOINT_DEPLOYED = 'true';
      expect((await handler(event(json([ROWS[0]])), context())).statusCode).toBe(200);
    } finally {
      delete process.env.ENDPOINT_DEPLOYED;
    }
  });
});

describe('requests the proxy rejects itself (no call to SageMaker)', () => {
  test.each([
    ['an empty body', 400, '', 'application/json', /body is empty/],
    ['a body that is not JSON', 400, '{"instances": [', 'application/json', /not valid JSON/],
    ['a body without instances', 400, '{"rows": [[1, 2]]}', 'application/json', /unknown field "rows"/],
    [
      'instances that are not rows',
      400,
      json([1, 2, 3]),
      'application/json',
      /instances\[0\] must be an array of values or an object of feature: value/,
    ],
    [
      'a value that is neither a number, a text nor null',
      400,
      json([[1, true, 3]]),
      'application/json',
      /instances\[0\]\[1\] must be a number, a text or null/,
    ],
    [
      'a named feature whose value is a list',
      400,
      json([{ x: [1] }]),
      'application/json',
      /instances\[0\]\["x"\] must be a number, a text or null/,
    ],
    ['a named row without features', 400, json([{}]), 'application/json', /instances\[0\] must name 1 to \d+ features, got 0/],
    ['no rows', 400, json([]), 'application/json', /must hold at least 1 row, got 0/],
    [
      `more than ${MAX_JSON_ROWS} JSON rows`,
      400,
      json(Array.from({ length: MAX_JSON_ROWS + 1 }, () => [1])),
      'application/json',
      new RegExp(`must hold 1 to ${MAX_JSON_ROWS} rows, got ${MAX_JSON_ROWS + 1}; split the rows into several requests`),
    ],
    [
      `more than ${MAX_CSV_ROWS} CSV rows`,
      400,
      '1\n'.repeat(MAX_CSV_ROWS + 1),
      'text/csv',
      new RegExp(`the CSV body must hold 1 to ${MAX_CSV_ROWS} rows, got ${MAX_CSV_ROWS + 1}; split the rows into several requests`),
    ],
    ['a CSV body of blank lines', 400, '\n\n', 'text/csv', /no rows/],
    ['an unsupported content type', 415, 'x=1', 'application/x-www-form-urlencoded', /Unsupported content type/],
  ])('%s: %i', async (_name, status, body, contentType, message) => {
    const before = standIn.invocations;
    const ev = event(body, contentType);
    expectError(await handler(ev, context()), status as number, message as RegExp, ev);
    expect(standIn.invocations).toBe(before);
  });

  test.each(['application/json', 'text/csv'] as const)(
    "a %s body one byte over the table's maxBytes: 413 naming the limit",
    async (type) => {
      const max = REQUEST_LIMITS.contentTypes[type].maxBytes;
      const ev = event(' '.repeat(max + 1), type);
      expectError(
        await handler(ev, context()),
        413,
        new RegExp(`^The request body is larger than ${max} bytes \\(the limit for ${type.replace('/', '\\/')}\\); split the rows`),
        ev,
      );
    },
  );
});

describe('model errors (ModelError from InvokeEndpoint)', () => {
  test("the real model rejects a row of the wrong width: 422 with the model's message", async () => {
    const ev = event(json([ROWS[0].slice(1)]));
    expectError(await handler(ev, context()), 422, /^instances\[0\] has 63 values; the model expects 64$/, ev);
  });

  test('the real model rejects a CSV row of the wrong width: 422', async () => {
    expectError(await handler(event('1,2,3', 'text/csv'), context()), 422, /CSV row 1 has 3 values; the model expects 64/);
  });

  test('the container answers 413: 413 with its message', async () => {
    standIn.injectFault({ kind: 'model-error', status: 413, message: 'The payload is over the limit', times: 1 });
    expectError(await handler(event(json([ROWS[0]])), context()), 413, /^The payload is over the limit$/);
  });

  test('the container answers 415: 415 with its message', async () => {
    standIn.injectFault({ kind: 'model-error', status: 415, message: 'Unsupported Content-Type', times: 1 });
    expectError(await handler(event(json([ROWS[0]])), context()), 415, /^Unsupported Content-Type$/);
  });

  test("the container fails (500): 502 with a generic message and the request id, not the model's", async () => {
    standIn.injectFault({ kind: 'model-error', status: 500, message: 'CUDA out of memory at layer 3', times: 1 });
    const ev = event(json([ROWS[0]]));
    const res = await handler(ev, context());
    expectError(res, 502, new RegExp(`quote request id ${ev.requestContext.requestId}`), ev);
    expect(res.body).not.toContain('CUDA');
  });
});

describe('SageMaker errors', () => {
  test('ThrottlingException on every attempt: 429 with Retry-After, after exactly 3 attempts', async () => {
    standIn.injectFault({ kind: 'throttling' });
    const before = standIn.invocations;
    const res = await handler(event(json([ROWS[0]])), context());
    expectError(res, 429, /Too many requests/);
    expect(res.headers?.['retry-after']).toBe('1');
    expect(standIn.invocations - before).toBe(3);
  });

  test('ModelNotReadyException (429): 429', async () => {
    standIn.injectFault({ kind: 'model-not-ready' });
    expectError(await handler(event(json([ROWS[0]])), context()), 429, /Too many requests/);
  });

  test('ServiceUnavailable (503): 503', async () => {
    standIn.injectFault({ kind: 'unavailable' });
    expectError(await handler(event(json([ROWS[0]])), context()), 503, /unavailable/);
  });

  test('an endpoint that does not exist (ValidationError "not found"): 503, not retried', async () => {
    process.env.ENDPOINT_NAME = 'no-such-endpoint';
    const before = standIn.invocations;
    expectError(await handler(event(json([ROWS[0]])), context()), 503, /not available/);
    expect(standIn.invocations - before).toBe(1);
  });

  test('another ValidationError: 400 with its message', async () => {
    standIn.injectFault({ kind: 'validation', message: 'Inference Component Name header is required', times: 1 });
    expectError(await handler(event(json([ROWS[0]])), context()), 400, /Inference Component Name header is required/);
  });

  test('InternalFailure (500): 502 with a generic message', async () => {
    standIn.injectFault({ kind: 'internal' });
    expectError(await handler(event(json([ROWS[0]])), context()), 502, /The prediction failed; quote request id/);
  });

  // The stand-in runs on this test's event loop, so its 3 s delay cannot end before the handler's shorter deadline:
  // a 504 means the handler gave up at its deadline, and the logged timeoutMs says which deadline (no clock read).
  test('a model slower than the deadline: 504 at the configured deadline', async () => {
    process.env.INVOKE_TIMEOUT_MS = '800';
    standIn.injectFault({ kind: 'slow', delayMs: 3_000, times: 1 });
    expectError(await handler(event(json([ROWS[0]])), context()), 504, /did not answer in time/);
    expect(records()).toEqual([expect.objectContaining({ status: 504, outcome: 'timeout', timeoutMs: 800 })]);
  });

  test("the deadline also respects the Lambda's remaining time (less the time kept to answer)", async () => {
    standIn.injectFault({ kind: 'slow', delayMs: 3_000, times: 1 });
    expectError(await handler(event(json([ROWS[0]])), context(1_700)), 504, /did not answer in time/);
    expect(records()).toEqual([expect.objectContaining({ status: 504, outcome: 'timeout', timeoutMs: 1_200 })]);
  });

  test('SageMaker unreachable (connection refused): 503', async () => {
    const closed = await freePort();
    // A fresh copy of the module, so its client is created with the unreachable endpoint URL.
    let fresh: typeof handler | undefined;
    process.env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME = `http://127.0.0.1:${closed}`;
    try {
      jest.isolateModules(() => {
        fresh = jest.requireActual<typeof import('../constructs/serving/runtime/inference-proxy.handler')>(
          '../constructs/serving/runtime/inference-proxy.handler',
        ).handler;
      });
      expectError(await fresh!(event(json([ROWS[0]])), context()), 503, /unavailable/);
    } finally {
      process.env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME = standIn.url;
    }
  });

  test('no endpoint configured: 502 with a generic message', async () => {
    delete process.env.ENDPOINT_NAME;
    expectError(await handler(event(json([ROWS[0]])), context()), 502, /The prediction failed/);
  });
});

describe('the bundle cdk deploy uploads', () => {
  test('answers predictions and maps model errors and throttling like the source, in plain Node.js', async () => {
    const bundle = synthProxyBundle();
    try {
      const ok = await invokeBundle(bundle.file, event(json([ROWS[0]])));
      expect(ok.result.statusCode).toBe(200);
      expect(JSON.parse(ok.result.body).predictions).toHaveLength(1);
      expect(JSON.parse(ok.logs.trim())).toMatchObject({ level: 'INFO', status: 200, outcome: 'ok' });
      expectError((await invokeBundle(bundle.file, event(json([ROWS[0].slice(2)])))).result, 422, /has 62 values; the model expects 64/);
      expectError(
        (await invokeBundle(bundle.file, event(json([ROWS[0]]), null))).result,
        400,
        /^Missing required request header Content-Type/,
      );
      standIn.injectFault({ kind: 'model-not-ready' });
      expectError((await invokeBundle(bundle.file, event(json([ROWS[0]])))).result, 429, /Too many requests/);
    } finally {
      bundle.dispose();
    }
  });
});

describe('logs', () => {
  test("one JSON record per request with the request id and outcome, and never the payload or the model's message", async () => {
    const marker = 13.371337;
    const ev = event(json([[marker, ...ROWS[0].slice(1)]]));
    await handler(ev, context());
    await handler(event(json([[marker, 1, 2]])), context());
    const [ok, rejected] = records();
    expect(ok).toMatchObject({
      level: 'INFO',
      message: 'prediction request',
      requestId: ev.requestContext.requestId,
      status: 200,
      outcome: 'ok',
      attempts: 1,
    });
    expect(ok.timestamp).toEqual(expect.any(String));
    expect(rejected).toMatchObject({ level: 'WARN', status: 422, outcome: 'model-error', modelStatus: 400 });
    expect(logs.join('')).not.toContain('13.371');
    expect(logs.join('')).not.toContain('the model expects');
  });
});
