/**
 * The inference API's request contract, in one place: the JSON schema API Gateway validates JSON bodies
 * with, and the same rules as a function the proxy Lambda runs (for CSV and for direct invocations).
 * No imports: the Lambda bundle includes this file.
 */

/** Most rows (instances) one request may carry. */
export const MAX_INSTANCES = 1000;
/** Most features one row may carry. */
export const MAX_FEATURES = 4096;
/** SageMaker InvokeEndpoint's payload limit. */
export const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
/** Content types the API accepts. */
export const CONTENT_TYPES = ['application/json', 'text/csv'] as const;
export type PredictionContentType = (typeof CONTENT_TYPES)[number];

/** JSON schema (draft 4, what API Gateway models use) of a JSON prediction request. */
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
      maxItems: MAX_INSTANCES,
      items: {
        type: 'array',
        minItems: 1,
        maxItems: MAX_FEATURES,
        items: { type: 'number' },
      },
    },
  },
} as const;

/** The problem with a parsed JSON request body, or undefined when it satisfies {@link PREDICTION_REQUEST_SCHEMA}. */
export function jsonRequestProblem(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'the body must be a JSON object with an "instances" array';
  const extra = Object.keys(body).filter((k) => k !== 'instances');
  if (extra.length > 0) return `unknown field "${extra[0]}"; the body holds only "instances"`;
  const instances = (body as { instances?: unknown }).instances;
  if (!Array.isArray(instances)) return '"instances" must be an array of rows';
  if (instances.length < 1 || instances.length > MAX_INSTANCES) return `"instances" must hold 1 to ${MAX_INSTANCES} rows, got ${instances.length}`;
  for (let i = 0; i < instances.length; i++) {
    const row: unknown = instances[i];
    if (!Array.isArray(row)) return `instances[${i}] must be an array of numbers`;
    if (row.length < 1 || row.length > MAX_FEATURES) return `instances[${i}] must hold 1 to ${MAX_FEATURES} numbers, got ${row.length}`;
    for (let j = 0; j < row.length; j++) {
      if (typeof row[j] !== 'number' || !Number.isFinite(row[j])) return `instances[${i}][${j}] must be a number`;
    }
  }
  return undefined;
}

/** The problem with a CSV request body, or undefined when it has 1 to MAX_INSTANCES non-blank rows. */
export function csvRequestProblem(body: string): string | undefined {
  const rows = body.split(/\r?\n/).filter((line) => line.trim() !== '').length;
  if (rows < 1) return 'the CSV body has no rows';
  if (rows > MAX_INSTANCES) return `the CSV body must hold 1 to ${MAX_INSTANCES} rows, got ${rows}`;
  return undefined;
}
