/**
 * A local stand-in for the SageMaker Runtime API: `POST /endpoints/{name}/invocations` forwarded to a real
 * model server (the container's `POST /invocations`), with InvokeEndpoint's restJson1 error shapes: the
 * `x-amzn-errortype` header and a JSON body with `message`. The unmodified AWS SDK client talks to it when
 * AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME points here (any credentials; signatures are not checked).
 *
 * Each request is first checked against InvokeEndpoint's published API model (botocore's sagemaker-runtime
 * service-2.json, from the project venv): the endpoint name's pattern and length, the Content-Type, Accept and
 * custom-attributes headers' lengths and patterns, the body's size; a violation is answered as SageMaker does,
 * ValidationError (400) naming each one.
 *
 * As SageMaker does, a 4xx or 5xx from the container becomes ModelError (424) carrying OriginalStatusCode,
 * OriginalMessage and LogStreamArn; an unknown endpoint is ValidationError "Endpoint <name> of account
 * <id> not found."; an unreachable container is ServiceUnavailable (503).
 *
 * Faults for testing (throttling, not ready, unavailable, internal failure, slowness) are switched on with
 * {@link SageMakerRuntimeStandIn.injectFault} or `PUT /_standin/fault` with the same JSON, and apply to the
 * next `times` invocations (default: until cleared with `DELETE /_standin/fault` or `clearFault()`).
 *
 * {@link SageMakerRuntimeStandIn.switchModel} moves the endpoint to another model server as a blue/green update does:
 * invocations that arrive after the switch go to the new server, those already forwarded finish on the old one, and
 * the promise resolves when the last of them has been answered (then the old server can be stopped).
 *
 * With `capture`, every invocation the model answered is captured as a SageMaker endpoint with data capture does
 * it (local/capture-writer.ts), for the drift check.
 *
 * Used by tests, benchmarks and `npm run local`; no test-framework dependency.
 */
import { randomUUID } from 'crypto';
import * as http from 'http';
import { AddressInfo } from 'net';

import { restInput } from './api-model/rest-input';
import { loadServiceModel } from './api-model/service-model';
import { recordCheckedRequest, validateInput, validationMessage } from './api-model/validate-input';
import { CaptureWriter } from './capture-writer';

/** Account id in error messages and ARNs. */
const ACCOUNT = '000000000000';

/** A fault the stand-in answers with instead of (or, for `slow`, before) forwarding. */
export interface Fault {
  /**
   * - throttling: 400 ThrottlingException (the account's invocation rate is exceeded)
   * - model-not-ready: 429 ModelNotReadyException
   * - unavailable: 503 ServiceUnavailable
   * - internal: 500 InternalFailure
   * - validation: 400 ValidationError with `message`
   * - model-error: the container answers `status` with `{"error": message}`, which becomes ModelError (424)
   *   as any container error does (for statuses the real container cannot be made to answer, e.g. 415)
   * - slow: wait `delayMs`, then forward as usual
   */
  readonly kind: 'throttling' | 'model-not-ready' | 'unavailable' | 'internal' | 'validation' | 'model-error' | 'slow';
  /** For `slow`: milliseconds to wait. @default 30000 */
  readonly delayMs?: number;
  /** For `model-error`: the container's status. @default 500 */
  readonly status?: number;
  /** For `validation` and `model-error`: the message. @default a generic one */
  readonly message?: string;
  /** How many invocations the fault applies to. @default - every one until cleared */
  readonly times?: number;
}

export interface StandInOptions {
  /** Base URL of the model server, for example http://127.0.0.1:8080. */
  readonly modelUrl: string;
  /**
   * Endpoint names that exist; other names get ValidationError "Endpoint ... not found.".
   * @default - every name exists
   */
  readonly endpointNames?: string[];
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 0 - a free port */
  readonly port?: number;
  /** Longest the container may take, like SageMaker's 60 s invocation timeout. @default 60000 */
  readonly modelTimeoutMs?: number;
  /**
   * Capture each answered invocation into this folder, in SageMaker's capture format.
   * @default - no capture
   */
  readonly captureDirectory?: string;
}

export interface SageMakerRuntimeStandIn {
  /** Base URL, for AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME. */
  readonly url: string;
  readonly port: number;
  /** Invocation requests received (faulted ones included): shows how often a client retried. */
  readonly invocations: number;
  /** The model server invocations go to now. */
  readonly modelUrl: string;
  /**
   * Sends the invocations that arrive from now on to the model server at `url`; resolves once every invocation
   * forwarded to the previous server has been answered, with how many were still in flight at the switch.
   */
  switchModel(url: string): Promise<number>;
  injectFault(fault: Fault): void;
  clearFault(): void;
  close(): Promise<void>;
}

/** Starts the stand-in on 127.0.0.1 (a free port unless one is given). */
export async function startSageMakerRuntimeStandIn(options: StandInOptions): Promise<SageMakerRuntimeStandIn> {
  // The model server invocations go to, with the invocations in flight to it: one object per server, replaced
  // whole on a switch, so an invocation counts against the server it was sent to.
  let upstream = newUpstream(options.modelUrl);
  const apiModel = loadServiceModel('sagemaker-runtime');
  const modelTimeoutMs = options.modelTimeoutMs ?? 60_000;
  let fault: { spec: Fault; left: number } | undefined;
  let invocations = 0;
  const capture = options.captureDirectory ? new CaptureWriter({ directory: options.captureDirectory }) : undefined;

  const takeFault = (): Fault | undefined => {
    if (!fault) return undefined;
    const spec = fault.spec;
    if (--fault.left <= 0) fault = undefined;
    return spec;
  };

  const server = http.createServer((req, res) => {
    readBody(req)
      .then(async (body) => {
        const url = new URL(req.url ?? '/', 'http://standin');
        if (url.pathname === '/_standin/fault') return control(req.method, body, res);
        const input =
          req.method === 'POST'
            ? restInput(apiModel, 'InvokeEndpoint', { path: url.pathname, headers: req.headers, query: url.searchParams, body })
            : undefined;
        if (!input) return sendError(res, 404, 'UnknownOperationException', `No operation ${req.method} ${url.pathname}`);
        invocations++;
        const violations = validateInput(apiModel, 'InvokeEndpoint', input);
        recordCheckedRequest(apiModel, 'InvokeEndpoint', violations);
        if (violations.length > 0) return sendError(res, 400, 'ValidationError', validationMessage(violations));
        const endpointName = String(input.EndpointName);
        if (options.endpointNames && !options.endpointNames.includes(endpointName)) {
          return sendError(res, 400, 'ValidationError', `Endpoint ${endpointName} of account ${ACCOUNT} not found.`);
        }
        const active = takeFault();
        switch (active?.kind) {
          case 'throttling':
            return sendError(res, 400, 'ThrottlingException', 'Rate exceeded');
          case 'model-not-ready':
            return sendError(res, 429, 'ModelNotReadyException', 'Model is not ready to serve requests; try again later.');
          case 'unavailable':
            return sendError(res, 503, 'ServiceUnavailable', 'The service is unavailable. Try your call again.');
          case 'internal':
            return sendError(res, 500, 'InternalFailure', 'An internal failure occurred.');
          case 'validation':
            return sendError(res, 400, 'ValidationError', active.message ?? 'Request is invalid.');
          case 'model-error':
            return sendModelError(res, endpointName, active.status ?? 500, JSON.stringify({ error: active.message ?? 'Model failure' }));
          case 'slow':
            await sleep(active.delayMs ?? 30_000);
            break;
          default:
            break;
        }
        return forward(endpointName, req, body, res);
      })
      .catch((e: Error) => {
        if (!res.headersSent) sendError(res, 500, 'InternalFailure', `Stand-in failure: ${e.message}`);
      });
  });

  const control = (method: string | undefined, body: Buffer, res: http.ServerResponse) => {
    if (method === 'DELETE') {
      fault = undefined;
    } else if (method === 'PUT') {
      const spec = JSON.parse(body.toString('utf8')) as Fault;
      fault = { spec, left: spec.times ?? Number.POSITIVE_INFINITY };
    } else {
      return sendError(res, 405, 'MethodNotAllowed', 'PUT or DELETE /_standin/fault');
    }
    res.writeHead(204).end();
  };

  const forward = (endpointName: string, req: http.IncomingMessage, body: Buffer, res: http.ServerResponse) => {
    const target = upstream;
    target.inFlight++;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      if (--target.inFlight === 0) for (const resolve of target.idle.splice(0)) resolve();
    };
    res.once('close', finish);
    const request = http.request(
      {
        host: target.url.hostname,
        port: target.url.port,
        method: 'POST',
        path: '/invocations',
        headers: {
          'content-type': req.headers['content-type'] ?? 'application/octet-stream',
          accept: req.headers.accept ?? '*/*',
          'content-length': body.length,
        },
        timeout: modelTimeoutMs,
      },
      (up) => {
        readBody(up)
          .then((answer) => {
            const status = up.statusCode ?? 500;
            // The model answered (an error too): what SageMaker captures. Throttled or faulted calls never reach here.
            capture?.record(
              endpointName,
              { contentType: req.headers['content-type'], body },
              { contentType: up.headers['content-type'], body: answer },
            );
            if (status >= 200 && status < 300) {
              res
                .writeHead(200, {
                  'content-type': up.headers['content-type'] ?? 'application/octet-stream',
                  'x-amzn-invoked-production-variant': 'AllTraffic',
                  'x-amzn-requestid': requestId(),
                })
                .end(answer);
              return;
            }
            // What SageMaker does with a container error: ModelError, the container's answer inside.
            sendModelError(res, endpointName, status, answer.toString('utf8'));
          })
          .catch(() => sendError(res, 503, 'ServiceUnavailable', 'The model container closed the connection.'));
      },
    );
    request.on('timeout', () => {
      request.destroy();
      sendError(
        res,
        424,
        'ModelError',
        `Your invocation timed out while waiting for a response from container primary. Review the latency metrics for each container in Amazon CloudWatch, resolve the issue, and try again.`,
        {
          ErrorCode: 'INVOCATION_TIMEOUT',
          LogStreamArn: logGroupArn(endpointName),
        },
      );
    });
    request.on('error', () => {
      if (!res.headersSent) sendError(res, 503, 'ServiceUnavailable', 'The model container is not reachable. Try your call again.');
    });
    request.end(body);
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address}:${port}`,
    port,
    get invocations() {
      return invocations;
    },
    get modelUrl() {
      return upstream.url.origin;
    },
    switchModel: async (url) => {
      const previous = upstream;
      upstream = newUpstream(url);
      const inFlight = previous.inFlight;
      if (inFlight > 0) await new Promise<void>((resolve) => previous.idle.push(resolve));
      return inFlight;
    },
    injectFault: (spec) => {
      fault = { spec, left: spec.times ?? Number.POSITIVE_INFINITY };
    },
    clearFault: () => {
      fault = undefined;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A model server invocations go to: its URL, the invocations in flight to it, and who waits for them to end. */
interface Upstream {
  readonly url: URL;
  inFlight: number;
  readonly idle: (() => void)[];
}

function newUpstream(url: string): Upstream {
  return { url: new URL(url), inFlight: 0, idle: [] };
}

/** InvokeEndpoint's answer to a container error: ModelError (424) with the container's status and body. */
function sendModelError(res: http.ServerResponse, endpointName: string, status: number, text: string): void {
  const kind = status < 500 ? 'client' : 'server';
  sendError(
    res,
    424,
    'ModelError',
    `Received ${kind} error (${status}) from primary with message "${text}". See ${logStreamUrl(endpointName)} in account ${ACCOUNT} for more information.`,
    {
      OriginalStatusCode: status,
      OriginalMessage: text,
      LogStreamArn: logGroupArn(endpointName),
      ErrorCode: kind === 'client' ? 'CLIENT_ERROR_FROM_MODEL' : 'SERVER_ERROR_FROM_MODEL',
    },
  );
}

/** A restJson1 error: the type in `x-amzn-errortype`, a JSON body with `message` and the shape's members. */
function sendError(res: http.ServerResponse, status: number, type: string, message: string, members: Record<string, unknown> = {}): void {
  if (res.headersSent) return;
  res
    .writeHead(status, {
      'content-type': 'application/json',
      'x-amzn-errortype': type,
      'x-amzn-requestid': requestId(),
    })
    .end(JSON.stringify({ message, ...members }));
}

function readBody(stream: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

function requestId(): string {
  return randomUUID();
}

function logGroupArn(endpointName: string): string {
  return `arn:aws:logs:us-east-1:${ACCOUNT}:log-group:/aws/sagemaker/Endpoints/${endpointName}`;
}

function logStreamUrl(endpointName: string): string {
  return `https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logEventViewer:group=/aws/sagemaker/Endpoints/${endpointName}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
