/**
 * The inference API's request limits, read from the one table every layer derives from:
 * training-image/request-limits.json (bytes and rows per content type, features per row, SageMaker's payload
 * limit). The WAF body-size rule, the API Gateway request model, the proxy Lambda, local mode's API Gateway
 * front and the model server all read it, so they cannot disagree. The table is checked when it is loaded:
 * a limit no layer could honour fails at synth (and in every test) instead of in production.
 */
import table from '../../../training-image/request-limits.json';

/** Content types the API accepts. */
export const CONTENT_TYPES = ['application/json', 'text/csv'] as const;
export type PredictionContentType = (typeof CONTENT_TYPES)[number];

/**
 * The most of an API Gateway request body AWS WAF inspects (64 KB, the largest inspection limit). A body limit
 * above it would let the part of a body WAF never sees bypass its rules.
 * https://docs.aws.amazon.com/waf/latest/developerguide/web-acl-setting-body-inspection-limit.html
 */
export const WAF_MAX_INSPECTED_BODY_BYTES = 64 * 1024;

/** The limits of one content type. */
export interface ContentTypeLimits {
  /** Largest request body, in bytes. */
  readonly maxBytes: number;
  /** Most rows (instances) one request may carry. */
  readonly maxRows: number;
}

/** The validated table. */
export interface RequestLimits {
  readonly maxFeatures: number;
  readonly contentTypes: Readonly<Record<PredictionContentType, ContentTypeLimits>>;
  /** SageMaker InvokeEndpoint's payload limit (6 MB). */
  readonly endpointMaxBytes: number;
}

/**
 * Checks a request-limits table and returns it typed; throws naming the entry that is wrong and what is allowed.
 * Exported for tests, which feed it tables that must be refused.
 */
export function parseRequestLimits(raw: unknown, source = 'training-image/request-limits.json'): RequestLimits {
  const fail = (what: string, value: unknown, allowed: string): never => {
    throw new Error(`${source}: ${what} is ${JSON.stringify(value)}; it must be ${allowed}`);
  };
  const wholeFrom = (what: string, value: unknown, min: number, max: number, why = ''): number => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      fail(what, value, `a whole number from ${min} to ${max}${why}`);
    }
    return value as number;
  };
  const t = (raw ?? {}) as {
    maxFeatures?: unknown;
    contentTypes?: Record<string, { maxBytes?: unknown; maxRows?: unknown }>;
    endpointMaxBytes?: unknown;
  };
  // InvokeEndpoint's Body: at most 6291456 bytes (botocore's sagemaker-runtime model, BodyBlob max;
  // https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html).
  const endpointMaxBytes = wholeFrom('endpointMaxBytes', t.endpointMaxBytes, 1, 6 * 1024 * 1024, " (InvokeEndpoint's payload limit)");
  const maxFeatures = wholeFrom('maxFeatures', t.maxFeatures, 1, 1_000_000);
  const given = Object.keys(t.contentTypes ?? {}).sort();
  if (JSON.stringify(given) !== JSON.stringify([...CONTENT_TYPES].sort()))
    fail('contentTypes', given, `exactly ${CONTENT_TYPES.join(' and ')}`);
  const contentTypes = Object.fromEntries(
    CONTENT_TYPES.map((type) => {
      const row = t.contentTypes![type];
      const bodyCap = Math.min(WAF_MAX_INSPECTED_BODY_BYTES, endpointMaxBytes);
      return [
        type,
        {
          maxBytes: wholeFrom(
            `contentTypes["${type}"].maxBytes`,
            row.maxBytes,
            1,
            bodyCap,
            ` (WAF inspects at most ${WAF_MAX_INSPECTED_BODY_BYTES} bytes of an API Gateway body; a larger limit would let the rest bypass its rules)`,
          ),
          maxRows: wholeFrom(`contentTypes["${type}"].maxRows`, row.maxRows, 1, 1_000_000),
        },
      ];
    }),
  ) as Record<PredictionContentType, ContentTypeLimits>;
  return { maxFeatures, contentTypes, endpointMaxBytes };
}

/** The table in force. */
export const REQUEST_LIMITS: RequestLimits = parseRequestLimits(table);

/** The largest body any content type allows: what the WAF body-size rule lets through. */
export const MAX_BODY_BYTES = Math.max(...CONTENT_TYPES.map((type) => REQUEST_LIMITS.contentTypes[type].maxBytes));

/**
 * What the WAF body-size rule answers (constructs/serving/api-waf.ts deploys it as a custom response; local
 * mode's API Gateway front sends the same), so clients and tests see one message whichever layer refuses.
 */
export function wafBodyTooLargeResponse(maxBytes: number): { status: 413; contentType: 'application/json'; body: string } {
  return {
    status: 413,
    contentType: 'application/json',
    body: JSON.stringify({ error: `The request body is larger than ${maxBytes} bytes; split the rows into several requests` }),
  };
}
