/**
 * The inference API's Lambda proxy. It validates a prediction request, calls SageMaker InvokeEndpoint within
 * a deadline under API Gateway's 29 s, and maps every outcome to a JSON response: the model's predictions,
 * or `{"error": "...", "requestId": "..."}` with a status that says whose fault it was. Never a bare 500,
 * never a stack trace. Logs are JSON lines with the request id and never the payload.
 *
 * Environment: ENDPOINT_NAME (required); INVOKE_TIMEOUT_MS (total deadline, default 25000); ENDPOINT_DEPLOYED
 * (`false` while no model version is approved and so no endpoint exists: every request gets 503). The SDK client
 * honours the standard AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME, which is how tests point it at a local stand-in.
 */
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';

import { bodySizeProblem, CONTENT_TYPES, csvRequestProblem, jsonRequestProblem, PredictionContentType } from './prediction-request';

/** Total time for InvokeEndpoint, retries included: under API Gateway's 29 s integration timeout. */
const DEFAULT_TIMEOUT_MS = 25_000;
/** Time kept back from the Lambda's own remaining time to answer before it is killed. */
const RESPONSE_RESERVE_MS = 500;
/** Connection failures that mean SageMaker Runtime could not be reached. */
const NETWORK_ERRORS = ['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE'];
/** Longest model message passed on to the client. */
const MAX_MESSAGE_CHARS = 1000;

interface Reply {
  readonly status: number;
  readonly body: string;
  /** What happened, for the log: ok, bad-request, model-error, throttled, unavailable, timeout, failed. */
  readonly outcome: string;
  readonly contentType?: string;
  readonly log?: Record<string, unknown>;
}

let client: SageMakerRuntimeClient | undefined;

/** One client per container, created on first use so the environment is read when the first request comes. */
function runtime(timeoutMs: number): SageMakerRuntimeClient {
  client ??= new SageMakerRuntimeClient({
    // The standard retry mode retries throttling and transient (5xx, network, timeout) errors only.
    maxAttempts: 3,
    retryMode: 'standard',
    requestHandler: { connectionTimeout: 2_000, requestTimeout: timeoutMs },
  });
  return client;
}

/** API Gateway (REST, Lambda proxy integration) entry point. */
export async function handler(event: APIGatewayProxyEvent, context: Context): Promise<APIGatewayProxyResult> {
  const started = Date.now();
  const requestId = event.requestContext?.requestId ?? context.awsRequestId;
  let reply: Reply;
  try {
    reply = await predict(event, context, requestId);
  } catch (e) {
    reply = failed(requestId, { errorName: errorName(e) });
  }
  writeLog(reply.status >= 500 ? 'ERROR' : reply.status >= 400 ? 'WARN' : 'INFO', {
    message: 'prediction request',
    requestId,
    lambdaRequestId: context.awsRequestId,
    status: reply.status,
    outcome: reply.outcome,
    durationMs: Date.now() - started,
    ...reply.log,
  });
  return {
    statusCode: reply.status,
    headers: {
      'content-type': reply.contentType ?? 'application/json',
      'cache-control': 'no-store',
      'x-request-id': requestId,
      ...(reply.status === 429 ? { 'retry-after': '1' } : {}),
    },
    body: reply.body,
  };
}

async function predict(event: APIGatewayProxyEvent, context: Context, requestId: string): Promise<Reply> {
  const endpointName = process.env.ENDPOINT_NAME;
  if (!endpointName) return failed(requestId, { errorName: 'MissingEndpointName' });
  if (process.env.ENDPOINT_DEPLOYED === 'false') {
    return {
      ...error(
        503,
        'unavailable',
        'No model is approved for serving yet; try again once a model version is approved and deployed',
        requestId,
      ),
      log: { errorName: 'NoApprovedModel' },
    };
  }

  // Required, as the API's request validator requires it (inference-api.ts): both answer 400 without one.
  const rawType = header(event, 'content-type');
  if (rawType === undefined || rawType.trim() === '') {
    return error(400, 'bad-request', `Missing required request header Content-Type; send ${CONTENT_TYPES.join(' or ')}`, requestId);
  }
  const contentType = mediaType(rawType);
  if (!contentType) return error(415, 'bad-request', `Unsupported content type; send ${CONTENT_TYPES.join(' or ')}`, requestId);
  if (event.body === null || event.body === undefined || event.body === '') {
    return error(400, 'bad-request', 'The request body is empty', requestId);
  }
  const payload = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
  const tooLarge = bodySizeProblem(contentType, payload.length);
  if (tooLarge) return error(413, 'bad-request', tooLarge, requestId);
  const problem = contentType === 'application/json' ? jsonProblem(payload) : csvRequestProblem(payload.toString('utf8'));
  if (problem) return error(400, 'bad-request', `Invalid request: ${problem}`, requestId);

  const timeoutMs = Math.max(
    1,
    Math.min(Number(process.env.INVOKE_TIMEOUT_MS) || DEFAULT_TIMEOUT_MS, context.getRemainingTimeInMillis() - RESPONSE_RESERVE_MS),
  );
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), timeoutMs);
  const invokeStarted = Date.now();
  try {
    const out = await runtime(timeoutMs).send(
      new InvokeEndpointCommand({
        EndpointName: endpointName,
        ContentType: contentType,
        Accept: 'application/json',
        Body: payload,
      }),
      { abortSignal: deadline.signal },
    );
    return {
      status: 200,
      outcome: 'ok',
      body: Buffer.from(out.Body ?? new Uint8Array()).toString('utf8'),
      contentType: out.ContentType ?? 'application/json',
      log: {
        invokeMs: Date.now() - invokeStarted,
        attempts: out.$metadata.attempts,
        bytesIn: payload.length,
        variant: out.InvokedProductionVariant,
      },
    };
  } catch (e) {
    const reply = deadline.signal.aborted ? timedOut(requestId, timeoutMs) : fromInvokeError(e, requestId);
    return { ...reply, log: { ...reply.log, invokeMs: Date.now() - invokeStarted, bytesIn: payload.length, attempts: attemptsOf(e) } };
  } finally {
    clearTimeout(timer);
  }
}

/** What InvokeEndpoint's errors mean for the client. */
function fromInvokeError(e: unknown, requestId: string): Reply {
  const err = (e ?? {}) as {
    name?: string;
    message?: string;
    code?: string;
    OriginalStatusCode?: number;
    OriginalMessage?: string;
    LogStreamArn?: string;
  };
  const name = errorName(e);
  switch (name) {
    case 'ModelError': {
      const status = err.OriginalStatusCode;
      const log = { errorName: name, modelStatus: status, logStreamArn: err.LogStreamArn };
      if (status !== undefined && status >= 400 && status < 500) {
        // The container rejected the input: the client's fault. 413 and 415 keep their meaning; any other
        // 4xx means a well-formed request the model cannot process (wrong feature count, ...).
        const code = status === 413 || status === 415 ? status : 422;
        return { ...error(code, 'model-error', modelMessage(err.OriginalMessage) ?? 'The model rejected the input', requestId), log };
      }
      return {
        ...error(502, 'model-error', `The model failed to process the request; quote request id ${requestId} when reporting it`, requestId),
        log,
      };
    }
    case 'ValidationError':
      // InvokeEndpoint answers ValidationError "Endpoint <name> of account <id> not found." while the
      // endpoint does not exist (yet): unavailable, not the client's fault.
      if (/endpoint .* not found/i.test(err.message ?? '')) {
        return {
          ...error(503, 'unavailable', 'The model endpoint is not available; try again later', requestId),
          log: { errorName: name },
        };
      }
      return {
        ...error(400, 'bad-request', `Invalid request: ${truncate(err.message ?? 'rejected by SageMaker')}`, requestId),
        log: { errorName: name },
      };
    case 'ThrottlingException':
    case 'ModelNotReadyException':
    case 'TooManyRequestsException':
      return { ...error(429, 'throttled', 'Too many requests; retry after a short wait', requestId), log: { errorName: name } };
    case 'ServiceUnavailable':
      return { ...error(503, 'unavailable', 'The model endpoint is unavailable; try again later', requestId), log: { errorName: name } };
    case 'TimeoutError':
    case 'RequestTimeout':
    case 'RequestTimeoutException':
      return timedOut(requestId, undefined);
    default: {
      // Network failures carry a code; the SDK wraps some of them, which keeps the code only in the message.
      const network = NETWORK_ERRORS.find((code) => err.code === code || (err.message ?? '').includes(code));
      if (network) {
        return {
          ...error(503, 'unavailable', 'The model endpoint is unavailable; try again later', requestId),
          log: { errorName: network },
        };
      }
      // SDK and network messages name the failure, never the request body.
      return failed(requestId, { errorName: name, errorCode: err.code, errorMessage: truncate(err.message ?? '', 300) });
    }
  }
}

function timedOut(requestId: string, timeoutMs: number | undefined): Reply {
  return { ...error(504, 'timeout', 'The model did not answer in time', requestId), log: { errorName: 'Deadline', timeoutMs } };
}

/** An unexpected error: a generic message and the request id, the details only in the log. */
function failed(requestId: string, log: Record<string, unknown>): Reply {
  return { ...error(502, 'failed', `The prediction failed; quote request id ${requestId} when reporting it`, requestId), log };
}

function error(status: number, outcome: string, message: string, requestId: string): Reply {
  return { status, outcome, body: JSON.stringify({ error: message, requestId }) };
}

function jsonProblem(payload: Buffer): string | undefined {
  let body: unknown;
  try {
    body = JSON.parse(payload.toString('utf8'));
  } catch {
    return 'the body is not valid JSON';
  }
  return jsonRequestProblem(body);
}

/** The container answers `{"error": "..."}`; pass on that message, or its raw text. */
function modelMessage(original: string | undefined): string | undefined {
  if (!original) return undefined;
  try {
    const parsed = JSON.parse(original) as { error?: unknown; message?: unknown };
    const text = typeof parsed.error === 'string' ? parsed.error : typeof parsed.message === 'string' ? parsed.message : undefined;
    if (text) return truncate(text);
  } catch {
    // not JSON: use the text itself
  }
  return truncate(original);
}

function truncate(text: string, max = MAX_MESSAGE_CHARS): string {
  return text.length > max ? `${text.slice(0, max)}...` : text;
}

function header(event: APIGatewayProxyEvent, name: string): string | undefined {
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === name && value !== undefined) return value;
  }
  return undefined;
}

/** The accepted media type of a Content-Type header (parameters such as charset ignored). */
function mediaType(value: string): PredictionContentType | undefined {
  const type = value.split(';')[0].trim().toLowerCase();
  return (CONTENT_TYPES as readonly string[]).includes(type) ? (type as PredictionContentType) : undefined;
}

function errorName(e: unknown): string {
  return e instanceof Error || (typeof e === 'object' && e !== null && 'name' in e) ? String((e as { name: unknown }).name) : typeof e;
}

function attemptsOf(e: unknown): number | undefined {
  return (e as { $metadata?: { attempts?: number } } | undefined)?.$metadata?.attempts;
}

/**
 * One JSON line on stdout. Written directly, not through console, so it stays one JSON object both in
 * Lambda's JSON log format and locally.
 */
function writeLog(level: 'INFO' | 'WARN' | 'ERROR', fields: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ timestamp: new Date().toISOString(), level, ...fields })}\n`);
}
