/**
 * The integ test's API client: sends one `POST /predict` to the deployed inference API signed with SigV4
 * (IAM auth, service `execute-api`), as a client with `execute-api:Invoke` would, and returns the status and
 * body for the assertion. https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-control-access-using-iam-policies-to-invoke-api.html
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';

export interface SignedPredictEvent {
  /** The JSON request body, e.g. `{"instances": [[0, 2, ...]]}`. */
  readonly body: string;
}

export interface SignedPredictResult {
  readonly statusCode: number;
  readonly body: string;
}

export async function handler(event: SignedPredictEvent): Promise<SignedPredictResult> {
  const url = new URL(process.env.PREDICT_URL ?? '');
  const signer = new SignatureV4({ service: 'execute-api', region: process.env.AWS_REGION ?? '', credentials: fromEnv(), sha256: Sha256 });
  const signed = await signer.sign({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    path: url.pathname,
    query: {},
    // `host` as the request carries it (with a port when the URL has one), since it is signed.
    headers: { host: url.host, 'content-type': 'application/json' },
    body: event.body,
  });
  // fetch sets Host itself, to the same value that was signed.
  const headers = Object.fromEntries(Object.entries(signed.headers).filter(([name]) => name.toLowerCase() !== 'host'));
  const response = await fetch(url, { method: 'POST', headers, body: event.body });
  return { statusCode: response.status, body: await response.text() };
}
