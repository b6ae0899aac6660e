/**
 * A loopback proxy that checks every AWS JSON-protocol request against the service's published API model
 * (botocore's service-2.json in the venv) before it reaches moto_server, and answers a violation as the
 * service does: HTTP 400, ValidationException, the services' "N validation errors detected: ..." message.
 * moto itself checks little of the model, so without this, a request AWS would refuse passes in tests.
 *
 * A proxy rather than SDK middleware: the handlers build their own clients (a new module instance per test),
 * and the proxy sees exactly the bytes the real service would, after the SDK's serialization.
 * The service is found by the X-Amz-Target prefix (e.g. `DynamoDB_20120810.PutItem`); a JSON request for a
 * service not listed is refused, so no request passes unchecked. Other requests (moto's own /moto-api, query-
 * or REST-protocol services) are forwarded as they are and counted as unchecked.
 */
import * as http from 'http';
import { AddressInfo } from 'net';

import { loadServiceModel, ServiceModel } from '../../local/api-model/service-model';
import { recordCheckedRequest, validateInput, validationMessage } from '../../local/api-model/validate-input';

/**
 * botocore names of the JSON-protocol services the handlers call through moto (CloudWatch's SDK client speaks its
 * JSON protocol, one of the protocols its model lists).
 */
export const CHECKED_SERVICES = ['dynamodb', 'secretsmanager', 'cloudwatch', 'stepfunctions'];

export interface ApiModelProxy {
  readonly endpoint: string;
  /** Requests checked against a model, by `Service.Operation`, with how many were refused. */
  readonly checked: Map<string, { requests: number; refused: number }>;
  /** Requests forwarded without a check (not a JSON-protocol AWS request). */
  readonly unchecked: number;
  stop(): Promise<void>;
}

function readBody(stream: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

/** Starts the proxy on 127.0.0.1 and a free port, in front of `upstream` (moto_server's URL). */
export async function startApiModelProxy(upstream: string, services: readonly string[] = CHECKED_SERVICES): Promise<ApiModelProxy> {
  const byPrefix = new Map<string, ServiceModel>();
  for (const service of services) {
    const model = loadServiceModel(service);
    const json = model.metadata.protocol === 'json' || (model.metadata.protocols ?? []).includes('json');
    if (!json || !model.metadata.targetPrefix) throw new Error(`${service} is not a JSON-protocol service`);
    byPrefix.set(model.metadata.targetPrefix, model);
  }
  const target = new URL(upstream);
  const checked = new Map<string, { requests: number; refused: number }>();
  let unchecked = 0;

  const refuse = (res: http.ServerResponse, model: ServiceModel | undefined, type: string, message: string) => {
    const text = JSON.stringify({ __type: type, message });
    res
      .writeHead(400, {
        'content-type': `application/x-amz-json-${model?.metadata.jsonVersion ?? '1.1'}`,
        'x-amzn-requestid': `api-model-proxy-${Date.now()}`,
        'content-length': Buffer.byteLength(text),
      })
      .end(text);
  };

  const forward = (req: http.IncomingMessage, body: Buffer, res: http.ServerResponse) => {
    const upstreamReq = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstreamReq.on('error', (e) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`moto_server is not reachable: ${e.message}`);
    });
    upstreamReq.end(body);
  };

  const server = http.createServer((req, res) => {
    void readBody(req).then((body) => {
      const amzTarget = req.headers['x-amz-target'];
      const isJson = /^application\/x-amz-json-1\.[01]/.test(String(req.headers['content-type'] ?? ''));
      if (typeof amzTarget !== 'string' || !isJson) {
        unchecked += 1;
        return forward(req, body, res);
      }
      const [prefix, operation] = amzTarget.split('.');
      const model = byPrefix.get(prefix);
      if (!model)
        return refuse(
          res,
          undefined,
          'UnknownOperationException',
          `The API-model proxy has no model for ${amzTarget}: add its service to CHECKED_SERVICES`,
        );
      if (!model.operations[operation])
        return refuse(res, model, 'UnknownOperationException', `${model.metadata.serviceId} has no operation ${operation}`);
      let input: unknown;
      try {
        input = JSON.parse(body.toString('utf8') || '{}');
      } catch {
        return refuse(res, model, 'SerializationException', 'Request body is not valid JSON');
      }
      const violations = validateInput(model, operation, input);
      recordCheckedRequest(model, operation, violations);
      const key = `${model.metadata.serviceId}.${operation}`;
      const count = checked.get(key) ?? { requests: 0, refused: 0 };
      count.requests += 1;
      if (violations.length > 0) count.refused += 1;
      checked.set(key, count);
      // DynamoDB and Secrets Manager answer constraint violations with the Coral validation error.
      if (violations.length > 0) return refuse(res, model, 'com.amazon.coral.validate#ValidationException', validationMessage(violations));
      return forward(req, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    checked,
    get unchecked() {
      return unchecked;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
