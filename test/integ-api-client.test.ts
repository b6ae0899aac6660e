/**
 * The integ test's API client (test/integ/runtime/signed-predict.handler.ts, the Lambda the assertion invokes)
 * signs its POST /predict as API Gateway's IAM auth checks it: here a server on 127.0.0.1 verifies the
 * signature from first principles (test/support/sigv4-verifier.ts), with the Lambda's temporary credentials
 * (a session token) taken from the environment as the Lambda runtime provides them.
 */
import * as http from 'http';
import { AddressInfo } from 'net';

import { handler } from './integ/runtime/signed-predict.handler';
import { sigV4Problem } from './support/sigv4-verifier';

const KEY = 'ASIAINTEGCLIENT';
const SECRET = 'integ-client-secret';
const PREDICTION = JSON.stringify({ predictions: [{ label: '3' }], model_version: '0123456789abcdef' });
const saved = { ...process.env };
let server: http.Server;
let url: string;
const seen: { scope?: string; body: string; contentType?: string }[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({
        scope: /Credential=[^/]+\/\d{8}\/([^,]+)/.exec(String(req.headers.authorization))?.[1],
        body: body.toString(),
        contentType: req.headers['content-type'],
      });
      const problem =
        req.method === 'POST' && req.url === '/v1/predict'
          ? sigV4Problem(req, body, { [KEY]: SECRET })
          : `no route ${req.method} ${req.url}`;
      if (problem) res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ message: problem }));
      else res.writeHead(200, { 'content-type': 'application/json' }).end(PREDICTION);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/predict`;
});
afterAll(async () => {
  process.env = saved;
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function lambdaEnvironment(secret: string): void {
  Object.assign(process.env, {
    PREDICT_URL: url,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: KEY,
    AWS_SECRET_ACCESS_KEY: secret,
    AWS_SESSION_TOKEN: 'integ-session-token',
  });
}

test("signs POST /predict for execute-api in its region, session token included, and returns the API's status and body", async () => {
  lambdaEnvironment(SECRET);
  const body = JSON.stringify({ instances: [[0, 2, 10]] });
  expect(await handler({ body })).toEqual({ statusCode: 200, body: PREDICTION });
  expect(seen.at(-1)).toEqual({ scope: 'eu-west-1/execute-api/aws4_request', body, contentType: 'application/json' });
});

test("returns a refusal as the API's status, not as a crash (the verifier refuses a wrong key)", async () => {
  lambdaEnvironment('not-the-secret');
  expect(await handler({ body: '{"instances":[[1]]}' })).toEqual({
    statusCode: 403,
    body: JSON.stringify({ message: 'the signature does not match the request' }),
  });
});
