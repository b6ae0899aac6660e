/**
 * The inference API's request contract, in one place: the JSON schema API Gateway validates JSON bodies
 * with, and the same rules as functions the proxy Lambda runs (for CSV, for body sizes and for direct
 * invocations). Every number comes from training-image/request-limits.json (see request-limits.ts).
 * Only local imports: the Lambda bundle includes this file.
 */
import { CONTENT_TYPES, PredictionContentType, REQUEST_LIMITS } from './request-limits';

export { CONTENT_TYPES };
export type { PredictionContentType };

/** Most rows (instances) one JSON request may carry. */
export const MAX_JSON_ROWS = REQUEST_LIMITS.contentTypes['application/json'].maxRows;
/** Most rows one CSV request may carry (a header line, when sent, counts as a row). */
export const MAX_CSV_ROWS = REQUEST_LIMITS.contentTypes['text/csv'].maxRows;
/** Most features one row may carry. */
export const MAX_FEATURES = REQUEST_LIMITS.maxFeatures;
/** SageMaker InvokeEndpoint's payload limit. */
export const MAX_PAYLOAD_BYTES = REQUEST_LIMITS.endpointMaxBytes;

/** What a client with more rows than one request allows should do. */
const SPLIT_HINT = 'split the rows into several requests';

/**
 * What one feature value may be: a number, a text column's category as text, or null for a gap (the model
 * server refuses what the model cannot take, naming the feature: text in a numeric column, a gap without
 * imputation, an unknown category with prepareUnseenCategories=refuse).
 */
const VALUE_SCHEMA = { type: ['number', 'string', 'null'] } as const;

/**
 * JSON schema of a JSON prediction request: rows as arrays of values in the training columns' order, or as
 * objects of feature name: value. Draft 4, what API Gateway models use (oneOf is a draft 4 keyword):
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/models-mappings-models.html
 */
export const PREDICTION_REQUEST_SCHEMA = {
  $schema: 'http://json-schema.org/draft-04/schema#',
  title: 'PredictionRequest',
  type: 'object',
  required: ['instances'],
  additionalProperties: false,
  properties: {
    instances: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_JSON_ROWS,
      items: {
        oneOf: [
          { type: 'array', minItems: 1, maxItems: MAX_FEATURES, items: VALUE_SCHEMA },
          { type: 'object', minProperties: 1, maxProperties: MAX_FEATURES, additionalProperties: VALUE_SCHEMA },
        ],
      },
    },
  },
} as const;

/** The problem with one feature value, or undefined when it is a finite number, a text or null. */
function valueProblem(value: unknown, where: string): string | undefined {
  if (value === null || typeof value === 'string') return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) return `${where} must be a number, a text or null`;
  return undefined;
}

/** The problem with a parsed JSON request body, or undefined when it satisfies {@link PREDICTION_REQUEST_SCHEMA}. */
export function jsonRequestProblem(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'the body must be a JSON object with an "instances" array';
  const extra = Object.keys(body).filter((k) => k !== 'instances');
  if (extra.length > 0) return `unknown field "${extra[0]}"; the body holds only "instances"`;
  const instances = (body as { instances?: unknown }).instances;
  if (!Array.isArray(instances)) return '"instances" must be an array of rows';
  if (instances.length < 1) return '"instances" must hold at least 1 row, got 0';
  if (instances.length > MAX_JSON_ROWS) return `"instances" must hold 1 to ${MAX_JSON_ROWS} rows, got ${instances.length}; ${SPLIT_HINT}`;
  for (let i = 0; i < instances.length; i++) {
    const row: unknown = instances[i];
    if (Array.isArray(row)) {
      if (row.length < 1 || row.length > MAX_FEATURES) return `instances[${i}] must hold 1 to ${MAX_FEATURES} values, got ${row.length}`;
      for (let j = 0; j < row.length; j++) {
        const problem = valueProblem(row[j], `instances[${i}][${j}]`);
        if (problem) return problem;
      }
    } else if (typeof row === 'object' && row !== null) {
      const names = Object.keys(row);
      if (names.length < 1 || names.length > MAX_FEATURES)
        return `instances[${i}] must name 1 to ${MAX_FEATURES} features, got ${names.length}`;
      for (const name of names) {
        const problem = valueProblem((row as Record<string, unknown>)[name], `instances[${i}]["${name}"]`);
        if (problem) return problem;
      }
    } else {
      return `instances[${i}] must be an array of values or an object of feature: value`;
    }
  }
  return undefined;
}

/** The problem with a CSV request body, or undefined when it has 1 to MAX_CSV_ROWS non-blank rows. */
export function csvRequestProblem(body: string): string | undefined {
  const rows = body.split(/\r?\n/).filter((line) => line.trim() !== '').length;
  if (rows < 1) return 'the CSV body has no rows';
  if (rows > MAX_CSV_ROWS) return `the CSV body must hold 1 to ${MAX_CSV_ROWS} rows, got ${rows}; ${SPLIT_HINT}`;
  return undefined;
}

/**
 * The problem with a body's size for its content type, or undefined when it is within the table's maxBytes.
 * WAF blocks larger bodies before they reach the proxy; this answers the same for direct invocations.
 */
export function bodySizeProblem(contentType: PredictionContentType, bytes: number): string | undefined {
  const max = REQUEST_LIMITS.contentTypes[contentType].maxBytes;
  return bytes > max ? `The request body is larger than ${max} bytes (the limit for ${contentType}); ${SPLIT_HINT}` : undefined;
}
