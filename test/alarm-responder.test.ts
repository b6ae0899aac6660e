/**
 * The responder's real entry point (`handler`) on recorded-shape events, against real local processes:
 * moto_server on 127.0.0.1 for DynamoDB (the dedupe table) and Secrets Manager (the webhook URL), reached
 * through AWS_ENDPOINT_URL_*, and an HTTP server on 127.0.0.1 as the webhook.
 */
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as http from 'http';
import { AddressInfo } from 'net';

import { DynamoDbDedupeStore } from '../constructs/monitoring/runtime/dedupe-store';
import { alarmEvent, MALFORMED_EVENTS, trainingFailedEvent } from './alarm-responder.fixtures';
import { MotoServer, startMoto } from './support/moto-server';

type HandlerModule = typeof import('../constructs/monitoring/runtime/alarm-responder.handler');

/** A new module instance: what a new Lambda execution environment starts with (no cache, no state). */
function newInstance(): HandlerModule {
  let mod: HandlerModule | undefined;
  jest.isolateModules(() => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require('../constructs/monitoring/runtime/alarm-responder.handler');
  });
  return mod!;
}

/** The webhook: answers as `mode` says and keeps what it received. */
class Webhook {
  mode: 'ok' | 'error' | 'hang' = 'ok';
  readonly received: { headers: http.IncomingHttpHeaders; body: { text: string; incident: Record<string, unknown> } }[] = [];
  private readonly server = http.createServer((req, res) => {
    let data = '';
    req.on('data', (c) => {
      data += c;
    });
    req.on('end', () => {
      if (this.mode === 'hang') return; // never answers
      this.received.push({ headers: req.headers, body: JSON.parse(data) });
      res.writeHead(this.mode === 'ok' ? 204 : 500).end();
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/incidents`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

let moto: MotoServer;
let webhook: Webhook;
let webhookUrl: string;
let secrets: SecretsManagerClient;
let secretArn: string;
const savedEnv = { ...process.env };
let clock = 0;

/** A state change nobody has seen yet (each test gets its own, so the dedupe table never leaks between tests). */
function freshAlarm(state = 'ALARM') {
  clock += 1;
  return alarmEvent({ state, timestamp: `2025-03-04T10:${String(clock).padStart(2, '0')}:00.000+0000` });
}

beforeAll(async () => {
  moto = await startMoto();
  webhook = new Webhook();
  webhookUrl = await webhook.start();
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_SESSION_TOKEN: 'testing-session',
    AWS_REGION: 'eu-west-1',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: moto.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: moto.endpoint,
    // Tests run on the repository's Node; the function runs on Node 24, where the SDK does not warn.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  });
  const dynamodb = new DynamoDBClient({});
  await dynamodb.send(
    new CreateTableCommand({
      TableName: 'incident-claims',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  dynamodb.destroy();
  secrets = new SecretsManagerClient({});
  const created = await secrets.send(
    new CreateSecretCommand({ Name: 'incident-webhook', SecretString: JSON.stringify({ url: webhookUrl }) }),
  );
  secretArn = created.ARN!;
});

afterAll(async () => {
  secrets?.destroy();
  await webhook?.stop();
  await moto?.stop();
  process.env = savedEnv;
});

beforeEach(async () => {
  webhook.mode = 'ok';
  webhook.received.length = 0;
  await secrets.send(new PutSecretValueCommand({ SecretId: secretArn, SecretString: JSON.stringify({ url: webhookUrl }) }));
  Object.assign(process.env, {
    DEDUPE_TABLE_NAME: 'incident-claims',
    WEBHOOK_SECRET_ARN: secretArn,
    WEBHOOK_TIMEOUT_MS: '400',
    RUNBOOK_URL: 'https://example.com/runbook.md',
  });
  jest.spyOn(console, 'info').mockImplementation(() => undefined);
  jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  jest.spyOn(console, 'error').mockImplementation(() => undefined);
});

afterEach(() => jest.restoreAllMocks());

/** What the responder logged at `level`, as the objects it logged. */
function logged(level: 'info' | 'warn' | 'error'): Record<string, unknown>[] {
  return (console[level] as jest.Mock).mock.calls.map((c) => c[0]);
}

describe('alarm responder', () => {
  test('records an alarm state change: logs the incident as JSON and posts it to the webhook', async () => {
    const { handler } = newInstance();
    const result = await handler(freshAlarm());

    expect(result).toEqual({ status: 'recorded', incidentId: expect.stringMatching(/^[0-9a-f]{20}$/), delivery: 'webhook' });
    const [entry] = logged('info').filter((l) => l.msg === 'incident');
    expect(entry.incident).toMatchObject({
      source: 'cloudwatch-alarm',
      status: 'triggered',
      metric: { namespace: 'AWS/SageMaker', name: 'Invocation5XXErrors' },
      threshold: 5,
      links: { runbook: 'https://example.com/runbook.md#endpoint-5xx-errors' },
    });
    // Lambda's JSON log format serialises the logged object: it must survive JSON.
    expect(JSON.parse(JSON.stringify(entry))).toEqual(entry);

    expect(webhook.received).toHaveLength(1);
    const [post] = webhook.received;
    expect(post.headers['content-type']).toBe('application/json');
    expect(post.headers['idempotency-key']).toBe(result.status === 'recorded' ? result.incidentId : '');
    expect(post.body.text).toMatch(/^ALARM: DlPlatform-Monitoring-endpoint-5xx-errors/);
    expect(post.body.incident).toEqual(JSON.parse(JSON.stringify(entry.incident)));
  });

  test('records a failed training job from its EventBridge event', async () => {
    const { handler } = newInstance();
    const event = trainingFailedEvent();
    event.detail.TrainingJobName = `dlplatform-train-${Date.now()}`;
    event.detail.TrainingJobArn = `arn:aws:sagemaker:eu-west-1:123456789012:training-job/${event.detail.TrainingJobName}`;
    const result = await handler(event);

    expect(result).toMatchObject({ status: 'recorded', delivery: 'webhook' });
    expect(webhook.received[0].body.incident).toMatchObject({
      source: 'sagemaker-training-job',
      state: { current: 'Failed', reason: expect.stringContaining('below the quality bar') },
      links: { runbook: 'https://example.com/runbook.md#training-job-failed' },
    });
  });

  test('a repeated delivery of the same state change, even to another instance, is one incident', async () => {
    const event = freshAlarm();
    const first = await newInstance().handler(event);
    const again = await newInstance().handler(structuredClone(event));

    expect(first.status).toBe('recorded');
    expect(again).toEqual({ status: 'duplicate', incidentId: first.status === 'recorded' ? first.incidentId : '' });
    expect(webhook.received).toHaveLength(1);
  });

  test('concurrent deliveries on five instances give exactly one incident', async () => {
    const event = freshAlarm();
    const results = await Promise.all([1, 2, 3, 4, 5].map(() => newInstance().handler(structuredClone(event))));

    expect(results.filter((r) => r.status === 'recorded')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'duplicate')).toHaveLength(4);
    expect(webhook.received).toHaveLength(1);
  });

  test('the alarm returning to OK is a new incident (resolved)', async () => {
    const { handler } = newInstance();
    await handler(freshAlarm('ALARM'));
    const ok = await handler(freshAlarm('OK'));

    expect(ok.status).toBe('recorded');
    expect(webhook.received.map((r) => r.body.incident.status)).toEqual(['triggered', 'resolved']);
  });

  test.each(MALFORMED_EVENTS)('rejects %s: logged, returned, not thrown, not posted', async (_name, event) => {
    const { handler } = newInstance();
    const result = await handler(event);

    expect(result).toEqual({ status: 'rejected', reason: expect.any(String) });
    expect(logged('warn')).toEqual([expect.objectContaining({ msg: 'event rejected' })]);
    expect(webhook.received).toHaveLength(0);
  });

  test("a webhook answering 500 fails the invocation, and Lambda's retry delivers the incident", async () => {
    const { handler } = newInstance();
    const event = freshAlarm();
    webhook.mode = 'error';
    await expect(handler(event)).rejects.toMatchObject({ name: 'WebhookDeliveryError', message: expect.stringContaining('HTTP 500') });
    expect(logged('error')).toEqual([expect.objectContaining({ msg: 'webhook delivery failed' })]);

    // The failed attempt released its claim, so the retry is not mistaken for a duplicate.
    webhook.mode = 'ok';
    await expect(handler(structuredClone(event))).resolves.toMatchObject({ status: 'recorded', delivery: 'webhook' });
    expect(webhook.received).toHaveLength(2);
  });

  test('a webhook that never answers is given up on at the configured timeout', async () => {
    const { handler } = newInstance();
    const event = freshAlarm();
    webhook.mode = 'hang';
    // The webhook never answers: only the handler's own timeout ends the wait, and the message names which one.
    await expect(handler(event)).rejects.toMatchObject({ name: 'WebhookDeliveryError', message: expect.stringContaining('within 400 ms') });

    webhook.mode = 'ok';
    await expect(handler(structuredClone(event))).resolves.toMatchObject({ status: 'recorded' });
  });

  test('caches the webhook URL, and reads it again after a failed post (a rotated URL is picked up)', async () => {
    const { handler } = newInstance();
    await handler(freshAlarm());
    expect(webhook.received).toHaveLength(1);

    // Rotate the secret to a receiver that does not exist: the cached URL keeps working.
    await secrets.send(new PutSecretValueCommand({ SecretId: secretArn, SecretString: 'http://127.0.0.1:9/gone' }));
    await handler(freshAlarm());
    expect(webhook.received).toHaveLength(2);

    // A failure drops the cache: the next attempt reads the secret again and fails against the new URL.
    webhook.mode = 'error';
    await expect(handler(freshAlarm())).rejects.toThrow(/HTTP 500/);
    await expect(handler(freshAlarm())).rejects.toThrow(/could not be reached/);
  });

  test('without a webhook secret, incidents are only logged', async () => {
    delete process.env.WEBHOOK_SECRET_ARN;
    const { handler } = newInstance();
    await expect(handler(freshAlarm())).resolves.toMatchObject({ status: 'recorded', delivery: 'log-only' });
    expect(logged('info').filter((l) => l.msg === 'incident')).toHaveLength(1);
    expect(webhook.received).toHaveLength(0);
  });

  test('an unreachable dedupe table fails the invocation (to be retried) rather than risking a lost incident', async () => {
    process.env.AWS_ENDPOINT_URL_DYNAMODB = 'http://127.0.0.1:9';
    try {
      await expect(newInstance().handler(freshAlarm())).rejects.toMatchObject({ name: 'DedupeStoreError' });
    } finally {
      process.env.AWS_ENDPOINT_URL_DYNAMODB = moto.endpoint;
    }
    expect(webhook.received).toHaveLength(0);
  });
});

describe('DynamoDB dedupe store', () => {
  test('a claim expires after its TTL, even before DynamoDB deletes the item', async () => {
    let now = 1_000_000_000_000;
    const store = new DynamoDbDedupeStore({ tableName: 'incident-claims', ttlSeconds: 60, region: 'eu-west-1', now: () => now });
    const key = `ttl-${Date.now()}`;
    expect(await store.claim(key)).toBe(true);
    expect(await store.claim(key)).toBe(false);
    now += 61_000;
    expect(await store.claim(key)).toBe(true);
    await store.release(key);
    expect(await store.claim(key)).toBe(true);
  });
});
