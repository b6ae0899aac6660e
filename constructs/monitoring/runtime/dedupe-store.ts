/**
 * "Have we already handled this state change?" across every instance of the responder.
 *
 * Lambda runs many instances side by side and recycles them at will, so an in-memory set only dedupes
 * deliveries that land on the same warm instance. The DynamoDB store makes the first delivery *claim* the
 * key with a conditional put (`attribute_not_exists`): DynamoDB serialises writes to one item, so exactly one
 * concurrent claim succeeds, whichever instance makes it. Claims expire after a TTL (DynamoDB deletes them
 * lazily, so an expired claim also counts as free).
 */
import { ConditionalCheckFailedException, DeleteItemCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';

export interface DedupeStore {
  /** True when this call is the first to claim `key` (within the store's TTL). */
  claim(key: string): Promise<boolean>;
  /** Frees a claim, so that a retry of a failed delivery is handled again. */
  release(key: string): Promise<void>;
}

/** Only for running the handler without a table (local runs): it dedupes within one process. */
export class MemoryDedupeStore implements DedupeStore {
  private readonly claims = new Map<string, number>();

  constructor(
    private readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
  ) {}

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
  /**
   * The client to call DynamoDB with.
   * @default - a client for `region`, with the SDK's defaults: the credentials Lambda puts in the environment,
   * and AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL when set, else the regional endpoint
   */
  readonly client?: DynamoDBClient;
  /** Longest wait for one call, the SDK's retries included. @default 3000 */
  readonly timeoutMs?: number;
  readonly now?: () => number;
}

/** Claims in a DynamoDB table: PutItem with a condition, DeleteItem to release. */
export class DynamoDbDedupeStore implements DedupeStore {
  private readonly client: DynamoDBClient;

  constructor(private readonly options: DynamoDbDedupeStoreOptions) {
    this.client = options.client ?? new DynamoDBClient({ region: options.region });
  }

  async claim(key: string): Promise<boolean> {
    const nowSeconds = Math.floor((this.options.now ?? Date.now)() / 1000);
    try {
      await this.bounded('PutItem', (options) =>
        this.client.send(
          new PutItemCommand({
            TableName: this.options.tableName,
            Item: { pk: { S: key }, expiresAt: { N: String(nowSeconds + this.options.ttlSeconds) } },
            ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
            ExpressionAttributeValues: { ':now': { N: String(nowSeconds) } },
          }),
          options,
        ),
      );
      return true;
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) return false; // claimed already, and not expired
      throw e;
    }
  }

  async release(key: string): Promise<void> {
    await this.bounded('DeleteItem', (options) =>
      this.client.send(new DeleteItemCommand({ TableName: this.options.tableName, Key: { pk: { S: key } } }), options),
    );
  }

  /** One call, bounded in time; a failure other than a failed condition becomes a DedupeStoreError. */
  private async bounded<T>(operation: string, call: (options: { abortSignal: AbortSignal }) => Promise<T>): Promise<T> {
    try {
      return await call({ abortSignal: AbortSignal.timeout(this.options.timeoutMs ?? 3000) });
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) throw e;
      throw new DedupeStoreError(`DynamoDB ${operation} failed: ${(e as Error).name}: ${(e as Error).message}`);
    }
  }
}
