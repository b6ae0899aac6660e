/**
 * A local HTTP front that plays API Gateway (REST API, Lambda proxy integration) for the inference API: it
 * routes `POST /<stage>/predict`, applies the request validator constructs/serving/inference-api.ts configures (the
 * required Content-Type header, and JSON bodies against the PredictionRequest model, with the same rules
 * from constructs/serving/runtime/prediction-request.ts), turns the request into a v1 proxy event for the real handler, and
 * answers its own errors the way the deployed gateway responses do: `{"error": ..., "requestId": ...}`.
 *
 * In front of it, the one WAF rule a well-behaved client can meet: the body-size rule of
 * constructs/serving/api-waf.ts (413 with WAF's custom JSON body), with the limit from the same table
 * (training-image/request-limits.json), so local mode answers an oversize body exactly as the deployed API does.
 *
 * Not mirrored: authentication (no SigV4 or API key is checked), WAF's other rules, throttling and usage plans.
 *
 * Used by `npm run local` and its tests; no test-framework dependency.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { randomUUID } from 'crypto';
import * as http from 'http';
import { AddressInfo } from 'net';

import { jsonRequestProblem } from '../constructs/serving/runtime/prediction-request';
import { MAX_BODY_BYTES, wafBodyTooLargeResponse } from '../constructs/serving/runtime/request-limits';

/** The proxy Lambda's signature. */
export type ProxyHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

/** API Gateway's payload limit for REST APIs (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html). */
const API_GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024;
/** The resource the API defines. */
const RESOURCE = '/predict';

export interface ApiGatewayFrontOptions {
  /** The Lambda handler behind `POST /predict`. */
  readonly handler: ProxyHandler;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 0 - a free port */
  readonly port?: number;
  /**
   * The stage, the first path segment (as InferenceApi's `stageName`).
   * @default 'v1'
   */
  readonly stage?: string;
  /**
   * API Gateway's integration timeout: a slower handler gets 504 "Endpoint request timed out".
   * @default 29000
   */
  readonly integrationTimeoutMs?: number;
  /**
   * The Lambda function's timeout, for `context.getRemainingTimeInMillis()`.
   * @default 27000 - the proxy's 25 s invoke deadline plus 2 s, as constructs/serving/inference-proxy.ts sets it
   */
  readonly lambdaTimeoutMs?: number;
  /**
   * Region in the event's domain name and the function ARN.
   * @default 'us-east-1'
   */
  readonly region?: string;
  /**
   * The WAF body-size rule's limit: larger bodies get WAF's 413 before API Gateway sees them.
   * @default MAX_BODY_BYTES - the largest maxBytes of training-image/request-limits.json, as ApiWaf deploys it
   */
  readonly wafMaxBodyBytes?: number;
}

export interface ApiGatewayFront {
  /** Base URL including the stage, for example http://127.0.0.1:3000/v1. */
  readonly url: string;
  /** The full URL of `POST /predict`. */
  readonly predictUrl: string;
  readonly port: number;
  close(): Promise<void>;
}

/** A response API Gateway itself sends (a gateway response), in the JSON shape inference-api.ts configures. */
interface GatewayError {
  readonly status: number;
  readonly type: string;
  readonly message: string;
}

/** Starts the front. Rejects with the listen error (for example EADDRINUSE) when the port cannot be bound. */
export async function startApiGatewayFront(options: ApiGatewayFrontOptions): Promise<ApiGatewayFront> {
  const host = options.host ?? '127.0.0.1';
  const stage = options.stage ?? 'v1';
  const region = options.region ?? 'us-east-1';
  const wafMaxBodyBytes = options.wafMaxBodyBytes ?? MAX_BODY_BYTES;

  const server = http.createServer((req, res) => {
    const requestId = randomUUID();
    readBody(req, API_GATEWAY_MAX_BODY_BYTES)
      .then(async (body) => {
        const url = new URL(req.url ?? '/', 'http://front');
        // WAF comes first: its body-size rule also matches bodies beyond what it inspects (oversize handling MATCH).
        if (body === undefined || body.length > wafMaxBodyBytes) {
          const waf = wafBodyTooLargeResponse(wafMaxBodyBytes);
          return res.writeHead(waf.status, { 'content-type': waf.contentType }).end(waf.body);
        }
        // IAM-authorised APIs answer every unknown route and method with 403, not 404.
        if (req.method !== 'POST' || url.pathname !== `/${stage}${RESOURCE}`) {
          return sendGatewayError(res, requestId, {
            status: 403,
            type: 'MissingAuthenticationTokenException',
            message: 'Missing Authentication Token',
          });
        }
        const problem = validate(req, body);
        if (problem) return sendGatewayError(res, requestId, problem);

        const event = toEvent(req, url, body, { requestId, stage, region });
        const result = await invoke(
          options.handler,
          event,
          lambdaContext(region, options.lambdaTimeoutMs ?? 27_000),
          options.integrationTimeoutMs ?? 29_000,
        );
        if (result === 'timeout') {
          return sendGatewayError(res, requestId, { status: 504, type: 'IntegrationTimeout', message: 'Endpoint request timed out' });
        }
        if (result === 'failed') {
          return sendGatewayError(res, requestId, { status: 502, type: 'InternalServerErrorException', message: 'Internal server error' });
        }
        sendResult(res, requestId, result);
      })
      .catch(() => {
        if (!res.headersSent)
          sendGatewayError(res, requestId, { status: 500, type: 'InternalServerErrorException', message: 'Internal server error' });
      });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host}:${port}/${stage}`;
  return {
    url,
    predictUrl: `${url}${RESOURCE}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * The request validator of inference-api.ts: the Content-Type header is required (not blank), and a JSON body
 * must match the PredictionRequest model. Other content types have no model, so their bodies pass through.
 */
function validate(req: http.IncomingMessage, body: Buffer): GatewayError | undefined {
  const contentType = req.headers['content-type'];
  if (contentType === undefined || contentType.trim() === '') {
    return { status: 400, type: 'BadRequestException', message: 'Missing required request parameters: [Content-Type]' };
  }
  if (contentType.split(';')[0].trim().toLowerCase() !== 'application/json') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return { status: 400, type: 'BadRequestException', message: 'Invalid request body' };
  }
  return jsonRequestProblem(parsed) ? { status: 400, type: 'BadRequestException', message: 'Invalid request body' } : undefined;
}

/** A REST API (v1) Lambda proxy event, as API Gateway builds it. Header names keep the client's casing. */
function toEvent(
  req: http.IncomingMessage,
  url: URL,
  body: Buffer,
  ids: { requestId: string; stage: string; region: string },
): APIGatewayProxyEvent {
  const sourceIp = req.socket.remoteAddress ?? '127.0.0.1';
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    (multiValueHeaders[req.rawHeaders[i]] ??= []).push(req.rawHeaders[i + 1]);
  }
  // What API Gateway adds in front of the integration.
  for (const [name, value] of [
    ['X-Forwarded-For', sourceIp],
    ['X-Forwarded-Port', String(req.socket.localPort ?? '')],
    ['X-Forwarded-Proto', 'http'],
  ]) {
    multiValueHeaders[name] ??= [value];
  }
  const headers = Object.fromEntries(Object.entries(multiValueHeaders).map(([k, v]) => [k, v[v.length - 1]]));
  const query: Record<string, string[]> = {};
  for (const [k, v] of url.searchParams) (query[k] ??= []).push(v);
  const hasQuery = Object.keys(query).length > 0;
  const userAgent = req.headers['user-agent'] ?? null;
  const domainName = req.headers.host ?? 'localhost';
  return {
    resource: RESOURCE,
    path: RESOURCE,
    httpMethod: 'POST',
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery ? Object.fromEntries(Object.entries(query).map(([k, v]) => [k, v[v.length - 1]])) : null,
    multiValueQueryStringParameters: hasQuery ? query : null,
    pathParameters: null,
    stageVariables: null,
    // No binary media types are configured, so bodies arrive as text.
    body: body.length > 0 ? body.toString('utf8') : null,
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: null,
      domainName,
      domainPrefix: domainName.split('.')[0],
      extendedRequestId: ids.requestId,
      httpMethod: 'POST',
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp,
        user: null,
        userAgent,
        userArn: null,
      },
      path: `/${ids.stage}${RESOURCE}`,
      protocol: `HTTP/${req.httpVersion}`,
      requestId: ids.requestId,
      requestTimeEpoch: Date.now(),
      resourceId: 'local',
      resourcePath: RESOURCE,
      stage: ids.stage,
    },
  };
}

/** A Lambda context whose remaining time counts down from the function's timeout. */
function lambdaContext(region: string, timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'inference-proxy-local',
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:000000000000:function:inference-proxy-local`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/inference-proxy-local',
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** Runs the handler within the integration timeout; a throw is a Lambda failure (502), as in AWS. */
async function invoke(
  handler: ProxyHandler,
  event: APIGatewayProxyEvent,
  context: Context,
  timeoutMs: number,
): Promise<APIGatewayProxyResult | 'timeout' | 'failed'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    return await Promise.race([handler(event, context).catch((): 'failed' => 'failed'), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function sendResult(res: http.ServerResponse, requestId: string, result: APIGatewayProxyResult): void {
  const headers: Record<string, string | string[]> = { 'x-amzn-requestid': requestId };
  for (const [k, v] of Object.entries(result.multiValueHeaders ?? {})) headers[k.toLowerCase()] = v.map(String);
  for (const [k, v] of Object.entries(result.headers ?? {})) headers[k.toLowerCase()] = String(v);
  const body = result.isBase64Encoded ? Buffer.from(result.body, 'base64') : Buffer.from(result.body ?? '', 'utf8');
  res.writeHead(result.statusCode, headers).end(body);
}

/** The DEFAULT_4XX / DEFAULT_5XX gateway responses of inference-api.ts. */
function sendGatewayError(res: http.ServerResponse, requestId: string, error: GatewayError): void {
  res
    .writeHead(error.status, {
      'content-type': 'application/json',
      'x-amzn-errortype': error.type,
      'x-amzn-requestid': requestId,
    })
    .end(JSON.stringify({ error: error.message, requestId }));
}

/** The body, or undefined once it passes `limit` bytes (the rest is drained so the client reads the answer). */
function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= limit) chunks.push(c);
    });
    req.on('end', () => resolve(size <= limit ? Buffer.concat(chunks) : undefined));
    req.on('error', reject);
  });
}
