import { acknowledge, HIPAA, inPacks, NIST, skipCheckov } from '../private/compliance';
import type { InferenceApi } from './inference-api';

const NO_CACHE = 'Every prediction request carries its own rows, so a cached answer would never be reused; caching '
  + 'would only keep request results on API Gateway\'s cache nodes. The stage therefore has no cache to encrypt.';

/** The cdk-nag findings and checkov checks an {@link InferenceApi} accepts, with why. */
export function acknowledgeInferenceApi(api: InferenceApi): void {
  acknowledge(api.stage, inPacks('APIGWCacheEnabledAndEncrypted', NIST, HIPAA), NO_CACHE);
  skipCheckov(api.stage, 'CKV_AWS_120', NO_CACHE);
  acknowledge(api.stage, inPacks('APIGWSSLEnabled', NIST, HIPAA),
    'A client certificate authenticates API Gateway to an HTTP backend; this API\'s only integration is a Lambda '
    + 'proxy, invoked through the Lambda service with IAM (API Gateway cannot attach a client certificate to it).');
}
