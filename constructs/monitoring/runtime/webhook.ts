/**
 * Delivery of incidents to a webhook: the URL lives in Secrets Manager (never in the function's
 * configuration), is cached for a few minutes, and every post has a bounded wait.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** A post that did not get a 2xx answer in time. */
export class WebhookError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookError';
  }
}

/**
 * Reads the webhook URL from a secret whose value is the URL itself or `{"url": "..."}`. The value is cached
 * for `ttlMs` (fewer calls, lower latency); `forget()` drops it, so a rotated URL is read again at once.
 */
export class WebhookUrlSource {
  private cached?: { url: string; until: number };

  constructor(
    private readonly secretArn: string,
    private readonly ttlMs: number,
    private readonly client: SecretsManagerClient = new SecretsManagerClient({}),
  ) {}

  async url(now = Date.now()): Promise<string> {
    if (this.cached && this.cached.until > now) return this.cached.url;
    const out = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretArn }));
    const url = urlFromSecret(out.SecretString);
    this.cached = { url, until: now + this.ttlMs };
    return url;
  }

  forget(): void {
    this.cached = undefined;
  }
}

/** The URL in a secret value; only https, or http to this machine (a local test receiver). */
export function urlFromSecret(value: string | undefined): string {
  let raw = value?.trim() ?? '';
  if (raw.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(raw);
      raw =
        typeof parsed === 'object' && parsed !== null && typeof (parsed as { url?: unknown }).url === 'string'
          ? (parsed as { url: string }).url
          : '';
    } catch {
      raw = '';
    }
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookError('the webhook secret holds no URL (expected the URL, or {"url": "https://..."})');
  }
  const loopback = url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new WebhookError(`the webhook URL must use https (got ${url.protocol})`);
  }
  return url.toString();
}

/**
 * Posts JSON and waits at most `timeoutMs` for a 2xx answer. `idempotencyKey` travels as the
 * Idempotency-Key header so a receiver can drop the repeat of a post whose answer was lost.
 */
export async function postJson(url: string, body: unknown, idempotencyKey: string, timeoutMs: number): Promise<number> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
      body: JSON.stringify(body),
      redirect: 'error',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    const name = (e as Error).name;
    throw new WebhookError(
      name === 'TimeoutError' || name === 'AbortError'
        ? `the webhook did not answer within ${timeoutMs} ms`
        : `the webhook could not be reached: ${(e as Error).message}`,
    );
  }
  // Drain the body so the connection is released; its content is not needed.
  await response.arrayBuffer().catch(() => undefined);
  if (response.status < 200 || response.status >= 300) throw new WebhookError(`the webhook answered HTTP ${response.status}`);
  return response.status;
}
