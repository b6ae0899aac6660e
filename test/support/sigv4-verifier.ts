/**
 * Checks an AWS Signature Version 4 request signature from first principles, as a service does: rebuilds the
 * canonical request and the string to sign from what arrived, derives the signing key from the secret, and
 * compares. Independent of the SDK's signer, so a test that uses it proves the signer's output, not itself.
 * Algorithm: https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
 * (paths here are plain ASCII segments, which URI-encode to themselves, once or twice).
 */
import { createHash, createHmac } from 'crypto';
import * as http from 'http';

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

/** Why the signature does not verify, or undefined when it does. */
export function sigV4Problem(req: http.IncomingMessage, body: Buffer, secrets: Record<string, string>): string | undefined {
  const auth =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
      String(req.headers.authorization ?? ''),
    );
  if (!auth) return `no SigV4 Authorization header: ${String(req.headers.authorization)}`;
  const [, accessKey, date, region, service, signedHeaders, signature] = auth;
  const secret = secrets[accessKey];
  if (secret === undefined) return `unknown access key ${accessKey}`;
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  if (!amzDate.startsWith(date)) return `x-amz-date ${amzDate} is not of the scope's date ${date}`;
  const names = signedHeaders.split(';');
  for (const required of ['host', 'x-amz-date', ...(req.headers['x-amz-security-token'] ? ['x-amz-security-token'] : [])]) {
    if (!names.includes(required)) return `${required} is not signed`;
  }
  const url = new URL(req.url ?? '/', 'http://verifier');
  const query = [...url.searchParams]
    .map(([k, v]) => [encodeURIComponent(k), encodeURIComponent(v)])
    .sort()
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const headers = names
    .map(
      (n) =>
        `${n}:${String(req.headers[n] ?? '')
          .trim()
          .replace(/\s+/g, ' ')}\n`,
    )
    .join('');
  const canonical = [req.method, url.pathname, query, headers, signedHeaders, sha256(body)].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
  const expected = createHmac('sha256', key).update(stringToSign).digest('hex');
  return expected === signature ? undefined : 'the signature does not match the request';
}
