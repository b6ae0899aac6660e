import * as apigw from 'aws-cdk-lib/aws-apigateway';

/**
 * The TLS policy of the inference API: TLS 1.3 and 1.2, nothing older. Without a security policy a regional
 * REST API on its default execute-api endpoint accepts TLS 1.0
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-security-policies.html). The
 * `SecurityPolicy_*` (enhanced) policies apply to the API itself, no custom domain needed, and are the ones
 * listed for regional REST APIs in
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-security-policies-list.html;
 * test/security-gaps.test.ts checks the value against API Gateway's published API model (botocore).
 */
export const API_SECURITY_POLICY = 'SecurityPolicy_TLS13_1_2_2021_06';

/**
 * An enhanced policy needs an endpoint access mode. STRICT also refuses requests whose TLS SNI host is not this
 * API's (domain fronting) or that come through another endpoint type; clients calling the execute-api URL are
 * unaffected (same page, "Endpoint access mode").
 */
export const API_ENDPOINT_ACCESS_MODE = 'STRICT';

/** Sets the TLS 1.2+ security policy on a REST API (aws-cdk-lib's RestApi has no prop for it yet). */
export function requireModernTls(api: apigw.RestApi): void {
  const cfn = api.node.defaultChild as apigw.CfnRestApi;
  cfn.securityPolicy = API_SECURITY_POLICY;
  cfn.endpointAccessMode = API_ENDPOINT_ACCESS_MODE;
}
