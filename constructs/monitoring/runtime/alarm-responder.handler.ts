/**
 * The alarm responder: CloudWatch alarm actions and the training-failure EventBridge rule invoke it
 * (asynchronously). Each state change becomes one incident record, logged as JSON and, when a webhook is
 * configured, posted to it.
 *
 * Environment: DEDUPE_TABLE_NAME, DEDUPE_TTL_SECONDS, RUNBOOK_URL, WEBHOOK_SECRET_ARN (optional; the secret
 * holds the URL), WEBHOOK_TIMEOUT_MS, WEBHOOK_URL_CACHE_SECONDS.
 */
import { DedupeStore, DynamoDbDedupeStore, MemoryDedupeStore } from './dedupe-store';
import { parseIncident } from './incident';
import { postJson, WebhookUrlSource } from './webhook';

export type ResponderResult =
  | { readonly status: 'rejected'; readonly reason: string }
  | { readonly status: 'duplicate'; readonly incidentId: string }
  | { readonly status: 'recorded'; readonly incidentId: string; readonly delivery: 'webhook' | 'log-only' };

/** Thrown when the webhook post fails: the invocation fails on purpose, so Lambda's async retries deliver it later. */
export class WebhookDeliveryError extends Error {
  constructor(incidentId: string, cause: string) {
    super(`incident ${incidentId} was not delivered to the webhook: ${cause}`);
    this.name = 'WebhookDeliveryError';
  }
}

interface Runtime {
  readonly dedupe: DedupeStore;
  readonly webhook?: WebhookUrlSource;
  readonly runbookUrl: string;
  readonly webhookTimeoutMs: number;
}

function positive(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

function runtimeFromEnv(env: NodeJS.ProcessEnv): Runtime {
  const ttlSeconds = positive(env.DEDUPE_TTL_SECONDS, 2 * 24 * 3600);
  const region = env.AWS_REGION ?? 'us-east-1';
  return {
    dedupe: env.DEDUPE_TABLE_NAME
      ? new DynamoDbDedupeStore({ tableName: env.DEDUPE_TABLE_NAME, ttlSeconds, region })
      : new MemoryDedupeStore(ttlSeconds),
    webhook: env.WEBHOOK_SECRET_ARN
      ? new WebhookUrlSource(env.WEBHOOK_SECRET_ARN, positive(env.WEBHOOK_URL_CACHE_SECONDS, 300) * 1000)
      : undefined,
    runbookUrl: env.RUNBOOK_URL || 'docs/runbook.md',
    webhookTimeoutMs: positive(env.WEBHOOK_TIMEOUT_MS, 5000),
  };
}

// One per instance: the secret cache lives as long as the instance.
let runtime: Runtime | undefined;

// Lambda's JSON log format turns a logged object into the record's `message`, so fields stay queryable.
const log = {
  info: (fields: object) => console.info(fields),
  warn: (fields: object) => console.warn(fields),
  error: (fields: object) => console.error(fields),
};

/** Lambda entry point. Returns a result for every event; throws only to ask Lambda for a retry. */
export async function handler(event: unknown): Promise<ResponderResult> {
  const rt = (runtime ??= runtimeFromEnv(process.env));
  const parsed = parseIncident(event, { runbookUrl: rt.runbookUrl });
  if (!parsed.ok) {
    // Not retried: a malformed event stays malformed. Logged (truncated) so it can be looked at.
    log.warn({ msg: 'event rejected', reason: parsed.reason, event: JSON.stringify(event ?? null)?.slice(0, 2000) });
    return { status: 'rejected', reason: parsed.reason };
  }
  const { incident } = parsed;

  // The claim comes before delivery. A webhook failure releases it (below); only an instance dying mid-delivery
  // leaves it held, and then the retry counts as a duplicate: the alarm topic has the alarm all the same.
  if (!(await rt.dedupe.claim(incident.dedupeKey))) {
    log.info({ msg: 'duplicate delivery ignored', incidentId: incident.incidentId, dedupeKey: incident.dedupeKey });
    return { status: 'duplicate', incidentId: incident.incidentId };
  }
  log.info({ msg: 'incident', incident });
  if (!rt.webhook) return { status: 'recorded', incidentId: incident.incidentId, delivery: 'log-only' };

  try {
    const url = await rt.webhook.url();
    await postJson(url, { text: incident.summary, incident }, incident.incidentId, rt.webhookTimeoutMs);
  } catch (e) {
    // The webhook is where people get paged, so a lost post must not pass silently: free the claim and fail
    // the invocation. Lambda retries it twice (then sends it to the on-failure destination, the alarm topic);
    // the Idempotency-Key header lets the receiver drop a repeat of a post whose answer was lost.
    rt.webhook.forget();
    await rt.dedupe.release(incident.dedupeKey).catch((err: Error) => {
      // The retry will then be taken for a duplicate; the log (and the topic) still hold the incident.
      log.error({ msg: 'could not release the dedupe claim', incidentId: incident.incidentId, cause: err.message });
    });
    const cause = (e as Error).message;
    log.error({ msg: 'webhook delivery failed', incidentId: incident.incidentId, cause });
    throw new WebhookDeliveryError(incident.incidentId, cause);
  }
  log.info({ msg: 'incident delivered', incidentId: incident.incidentId });
  return { status: 'recorded', incidentId: incident.incidentId, delivery: 'webhook' };
}
