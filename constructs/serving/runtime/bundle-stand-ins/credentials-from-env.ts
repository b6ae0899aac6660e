/**
 * Stands in for `@aws-sdk/credential-provider-node` in the proxy Lambda's bundle (an esbuild alias in
 * inference-proxy.ts). Lambda hands a function its execution role's credentials in environment variables
 * (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN:
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime), which
 * is the first link of the SDK's default chain. The rest of the chain (SSO, ini files, web identity, IMDS,
 * container metadata and the STS/SSO clients they pull in) can never be reached there, and is about 40% of
 * the bundle.
 */
export { fromEnv as defaultProvider } from '@aws-sdk/credential-provider-env';
