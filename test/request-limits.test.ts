/**
 * One table of request limits (training-image/request-limits.json): the table is checked, every layer of the
 * inference API derives from it, the largest digits requests fit, and in local mode the largest valid JSON and
 * CSV requests pass every layer (local WAF rule, API Gateway validator, the real proxy handler, the SageMaker
 * Runtime stand-in, the real model server) while one row or one byte more is refused by the layer that owns
 * that limit, with its message.
 */
import { Template } from 'aws-cdk-lib/assertions';

import { handler } from '../constructs/serving/runtime/inference-proxy.handler';
import { MAX_CSV_ROWS, MAX_FEATURES, MAX_JSON_ROWS, PREDICTION_REQUEST_SCHEMA } from '../constructs/serving/runtime/prediction-request';
import {
  CONTENT_TYPES,
  MAX_BODY_BYTES,
  parseRequestLimits,
  REQUEST_LIMITS,
  WAF_MAX_INSPECTED_BODY_BYTES,
} from '../constructs/serving/runtime/request-limits';
import { loadConfig } from '../lib/config';
import { ApiGatewayFront, startApiGatewayFront } from '../local/api-gateway-front';
import { ModelServer, startModelServer } from '../local/model-server';
import { SageMakerRuntimeStandIn, startSageMakerRuntimeStandIn } from '../local/sagemaker-runtime-standin';
import { trainModel } from '../local/train-model';
import table from '../training-image/request-limits.json';
import { buildServing } from './support/serving';

/** The digits model's row width, and the widest value a digits pixel takes (0 to 16). */
const DIGITS_FEATURES = 64;
const WIDEST_PIXEL = 16;

/** `json.dumps` (Python's default ", " separators, the most common client): the longest way to write a row. */
function pythonJson(rows: number[][]): string {
  return `{"instances": [${rows.map((r) => `[${r.join(', ')}]`).join(', ')}]}`;
}

/** CSV as Python's csv module writes it (\r\n line ends, the longer of the usual two). */
function csv(rows: number[][]): string {
  return rows.map((r) => `${r.join(',')}\r\n`).join('');
}

const widestRows = (n: number) => Array.from({ length: n }, () => Array<number>(DIGITS_FEATURES).fill(WIDEST_PIXEL));

describe('the table', () => {
  test("holds both content types, with bodies WAF can inspect whole and within InvokeEndpoint's 6 MB", () => {
    expect(Object.keys(REQUEST_LIMITS.contentTypes).sort()).toEqual([...CONTENT_TYPES].sort());
    for (const type of CONTENT_TYPES) {
      expect(REQUEST_LIMITS.contentTypes[type].maxBytes).toBeLessThanOrEqual(WAF_MAX_INSPECTED_BODY_BYTES);
      expect(REQUEST_LIMITS.contentTypes[type].maxBytes).toBeLessThanOrEqual(REQUEST_LIMITS.endpointMaxBytes);
    }
    expect(REQUEST_LIMITS.endpointMaxBytes).toBe(6 * 1024 * 1024);
  });

  test.each([
    [
      'a body limit beyond what WAF inspects',
      { 'text/csv': { maxBytes: 65537, maxRows: 320 } },
      /contentTypes\["text\/csv"\]\.maxBytes is 65537; it must be a whole number from 1 to 65536 \(WAF inspects at most 65536 bytes/,
    ],
    [
      'a row limit of zero',
      { 'application/json': { maxBytes: 65536, maxRows: 0 } },
      /contentTypes\["application\/json"\]\.maxRows is 0; it must be a whole number from 1/,
    ],
    [
      'a missing content type',
      { 'text/csv': undefined },
      /contentTypes is \["application\/json"\]; it must be exactly application\/json and text\/csv/,
    ],
  ])('refuses %s, naming the entry', (_name, change, message) => {
    const broken = JSON.parse(JSON.stringify({ ...table, contentTypes: { ...table.contentTypes, ...change } }));
    expect(() => parseRequestLimits(broken)).toThrow(message);
  });

  test('the largest valid digits requests fit their byte limit, written the longest usual way (64 values of 16)', () => {
    const jsonBytes = Buffer.byteLength(pythonJson(widestRows(MAX_JSON_ROWS)));
    const csvBytes = Buffer.byteLength(csv(widestRows(MAX_CSV_ROWS)));
    // Printed for docs/request-limits.md.
    process.stdout.write(
      `largest digits JSON request: ${MAX_JSON_ROWS} rows = ${jsonBytes} bytes; CSV: ${MAX_CSV_ROWS} rows = ${csvBytes} bytes\n`,
    );
    expect(jsonBytes).toBeLessThanOrEqual(REQUEST_LIMITS.contentTypes['application/json'].maxBytes);
    expect(csvBytes).toBeLessThanOrEqual(REQUEST_LIMITS.contentTypes['text/csv'].maxBytes);
  });
});

describe('every deployed layer derives from the table', () => {
  test('the retired wafMaxBodyBytes setting fails at synth instead of contradicting the table', () => {
    expect(() => loadConfig({ wafMaxBodyBytes: 10000 })).toThrow(
      /^Setting "wafMaxBodyBytes" was removed: the WAF body-size rule takes its limit from training-image\/request-limits\.json/,
    );
  });

  const template = Template.fromStack(buildServing().serving);

  test('WAF blocks bodies over the largest maxBytes (with 413) and inspects that much of every body', () => {
    const [acl] = Object.values(template.findResources('AWS::WAFv2::WebACL'));
    const rule = (acl.Properties.Rules as { Name: string; Statement: { SizeConstraintStatement: { Size: number } } }[]).find(
      (r) => r.Name === 'BodySizeLimit',
    )!;
    expect(rule.Statement.SizeConstraintStatement.Size).toBe(MAX_BODY_BYTES);
    expect(acl.Properties.AssociationConfig.RequestBody.API_GATEWAY.DefaultSizeInspectionLimit).toBe(
      `KB_${Math.ceil(MAX_BODY_BYTES / 1024 / 16) * 16}`,
    );
    expect(acl.Properties.CustomResponseBodies.tooLarge.Content).toContain(`larger than ${MAX_BODY_BYTES} bytes`);
  });

  test("the API Gateway request model allows the table's JSON rows and features, no more", () => {
    const [model] = Object.values(template.findResources('AWS::ApiGateway::Model'));
    expect(model.Properties.Schema).toEqual(PREDICTION_REQUEST_SCHEMA);
    expect(PREDICTION_REQUEST_SCHEMA.properties.instances.maxItems).toBe(table.contentTypes['application/json'].maxRows);
    const [positional, named] = PREDICTION_REQUEST_SCHEMA.properties.instances.items.oneOf;
    expect(positional.maxItems).toBe(table.maxFeatures);
    expect(named.maxProperties).toBe(table.maxFeatures);
    expect(MAX_FEATURES).toBe(table.maxFeatures);
  });
});

describe('local mode: every layer, at the limits', () => {
  let server: ModelServer;
  let standIn: SageMakerRuntimeStandIn;
  let front: ApiGatewayFront;
  const saved = { ...process.env };

  beforeAll(async () => {
    const model = await trainModel();
    server = await startModelServer({ smRoot: model.smRoot });
    standIn = await startSageMakerRuntimeStandIn({ modelUrl: server.url, endpointNames: ['limits-endpoint'] });
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: standIn.url,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'dummy-secret',
      ENDPOINT_NAME: 'limits-endpoint',
    });
    front = await startApiGatewayFront({ handler });
  }, 300_000);

  afterAll(async () => {
    await front?.close();
    await standIn?.close();
    await server?.stop();
    process.env = saved;
  });

  async function post(body: string, contentType: string): Promise<{ status: number; body: { error?: string; predictions?: unknown[] } }> {
    const res = await fetch(front.predictUrl, {
      method: 'POST',
      headers: { 'content-type': contentType },
      body: new TextEncoder().encode(body),
    });
    return { status: res.status, body: (await res.json()) as { error?: string; predictions?: unknown[] } };
  }

  /** A body of exactly `bytes` bytes with `rows` valid rows: short rows padded with trailing spaces (valid JSON and CSV). */
  function padded(text: string, bytes: number): string {
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(bytes);
    return text + ' '.repeat(bytes - Buffer.byteLength(text));
  }

  test("the largest valid JSON request (the table's rows, 64 values of 16) gets a prediction per row", async () => {
    const answer = await post(pythonJson(widestRows(MAX_JSON_ROWS)), 'application/json');
    expect(answer.status).toBe(200);
    expect(answer.body.predictions).toHaveLength(MAX_JSON_ROWS);
  }, 60_000);

  test('the largest valid CSV request gets a prediction per row', async () => {
    const answer = await post(csv(widestRows(MAX_CSV_ROWS)), 'text/csv');
    expect(answer.status).toBe(200);
    expect(answer.body.predictions).toHaveLength(MAX_CSV_ROWS);
  }, 60_000);

  test('a JSON body of exactly maxBytes passes WAF and gets predictions', async () => {
    const max = REQUEST_LIMITS.contentTypes['application/json'].maxBytes;
    const answer = await post(padded(pythonJson(widestRows(10)), max), 'application/json');
    expect(answer.status).toBe(200);
  }, 60_000);

  test('one JSON row over: API Gateway\'s request model answers 400 "Invalid request body"', async () => {
    const answer = await post(
      pythonJson(Array.from({ length: MAX_JSON_ROWS + 1 }, () => Array<number>(DIGITS_FEATURES).fill(0))),
      'application/json',
    );
    expect(answer).toEqual({ status: 400, body: { error: 'Invalid request body', requestId: expect.any(String) } });
  });

  test('one CSV row over: the proxy answers 400 naming the row limit', async () => {
    const answer = await post(csv(Array.from({ length: MAX_CSV_ROWS + 1 }, () => Array<number>(DIGITS_FEATURES).fill(0))), 'text/csv');
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe(
      `Invalid request: the CSV body must hold 1 to ${MAX_CSV_ROWS} rows, got ${MAX_CSV_ROWS + 1}; split the rows into several requests`,
    );
  });

  test.each(CONTENT_TYPES)('one byte over maxBytes (%s): WAF answers 413 with its own message', async (type) => {
    const max = REQUEST_LIMITS.contentTypes[type].maxBytes;
    const small = type === 'text/csv' ? csv(widestRows(1)) : pythonJson(widestRows(1));
    const answer = await post(padded(small, max + 1), type);
    expect(answer).toEqual({
      status: 413,
      body: { error: `The request body is larger than ${MAX_BODY_BYTES} bytes; split the rows into several requests` },
    });
  });
});
