/**
 * "Have we already handled this state change?" across every instance of the responder.
 *
 * Lambda runs many instances side by side and recycles them at will, so an in-memory set only dedupes
 * deliveries that land on the same warm instance. The DynamoDB store makes the first delivery *claim* the
 * key with a conditional put (`attribute_not_exists`): DynamoDB serialises writes to one item, so exactly one
 * concurrent claim succeeds, whichever instance makes it. Claims expire after a TTL (DynamoDB deletes them
 * lazily, so an expired claim also counts as free).
 */
import { AwsCredentials, credentialsFromEnv, signedHeaders } from './sigv4';

export interface DedupeStore {
  /** True when this call is the first to claim `key` (within the store's TTL). */
  claim(key: string): Promise<boolean>;
  /** Frees a claim, so that a retry of a failed delivery is handled again. */
  release(key: string): Promise<void>;
}

/** Only for running the handler without a table (local runs): it dedupes within one process. */
export class MemoryDedupeStore implements DedupeStore {
  private readonly claims = new Map<string, number>();

  constructor(private readonly ttlSeconds: number, private readonly now: () => number = Date.now) {}

  async claim(key: string): Promise<boolean> {
    const until = this.claims.get(key);
    if (until !== undefined && until > this.now()) return false;
    this.claims.set(key, this.now() + this.ttlSeconds * 1000);
    return true;
  }

  async release(key: string): Promise<void> {
    this.claims.delete(key);
  }
}

export class DedupeStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DedupeStoreError';
  }
}

export interface DynamoDbDedupeStoreOptions {
  /** Table with a string partition key `pk` and TTL on the number attribute `expiresAt`. */
  readonly tableName: string;
  readonly ttlSeconds: number;
  readonly region: string;
  /** @default - AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, as the AWS SDKs read them, else the regional endpoint */
  readonly endpoint?: string;
  /** @default - the credentials Lambda puts in the environment */
  readonly credentials?: () => AwsCredentials;
  /** @default 3000 */
  readonly timeoutMs?: number;
  readonly now?: () => number;
}

/** Claims in a DynamoDB table through its JSON API (two calls: PutItem with a condition, DeleteItem). */
export class DynamoDbDedupeStore implements DedupeStore {
  private readonly endpoint: URL;

  constructor(private readonly options: DynamoDbDedupeStoreOptions) {
    const host = options.region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
    this.endpoint = new URL(options.endpoint ?? process.env.AWS_ENDPOINT_URL_DYNAMODB ?? process.env.AWS_ENDPOINT_URL
      ?? `https://dynamodb.${options.region}.${host}/`);
  }

  async claim(key: string): Promise<boolean> {
    const nowSeconds = Math.floor((this.options.now ?? Date.now)() / 1000);
    const result = await this.call('PutItem', {
      TableName: this.options.tableName,
      Item: { pk: { S: key }, expiresAt: { N: String(nowSeconds + this.options.ttlSeconds) } },
      ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
      ExpressionAttributeValues: { ':now': { N: String(nowSeconds) } },
    });
    return result !== 'ConditionalCheckFailedException';
  }

  async release(key: string): Promise<void> {
    await this.call('DeleteItem', { TableName: this.options.tableName, Key: { pk: { S: key } } });
  }

  /** One signed call; answers 'ConditionalCheckFailedException' for that error and throws for any other. */
  private async call(operation: string, input: object): Promise<'ok' | 'ConditionalCheckFailedException'> {
    const body = JSON.stringify(input);
    const headers = signedHeaders(
      { method: 'POST', url: this.endpoint, body, headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `DynamoDB_20120810.${operation}` } },
      (this.options.credentials ?? credentialsFromEnv)(), this.options.region, 'dynamodb', new Date());
    delete headers.host; // fetch sets it from the URL, to the same value
    let response: Response;
    try {
      response = await fetch(this.endpoint, { method: 'POST', headers, body, signal: AbortSignal.timeout(this.options.timeoutMs ?? 3000) });
    } catch (e) {
      throw new DedupeStoreError(`DynamoDB ${operation} failed: ${(e as Error).message}`);
    }
    const text = await response.text();
    if (response.ok) return 'ok';
    const type = String((safeJson(text) as { __type?: unknown })?.__type ?? '');
    if (type.endsWith('#ConditionalCheckFailedException') || type === 'ConditionalCheckFailedException') return 'ConditionalCheckFailedException';
    throw new DedupeStoreError(`DynamoDB ${operation} failed: HTTP ${response.status} ${type || text.slice(0, 200)}`);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
