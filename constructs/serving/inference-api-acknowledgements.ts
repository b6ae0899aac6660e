import * as iam from 'aws-cdk-lib/aws-iam';
import { IConstruct } from 'constructs';

import { acknowledge, AWS_SOLUTIONS, HIPAA, inPacks, NIST, skipCheckov } from '../private/compliance';

const NO_CACHE =
  'Every prediction request carries its own rows, so a cached answer would never be reused; caching ' +
  "would only keep request results on API Gateway's cache nodes. The stage therefore has no cache to encrypt.";

/** The cdk-nag findings and checkov checks an {@link InferenceApi} accepts, with why. */
export function acknowledgeInferenceApi(api: {
  readonly api: IConstruct;
  readonly auth: string;
  readonly predictMethod: IConstruct;
  readonly stage: IConstruct;
}): void {
  acknowledge(api.stage, inPacks('APIGWCacheEnabledAndEncrypted', NIST, HIPAA), NO_CACHE);
  skipCheckov(api.stage, 'CKV_AWS_120', NO_CACHE);
  acknowledge(
    api.stage,
    inPacks('APIGWSSLEnabled', NIST, HIPAA),
    "A client certificate authenticates API Gateway to an HTTP backend; this API's only integration is a Lambda " +
      'proxy, invoked through the Lambda service with IAM (API Gateway cannot attach a client certificate to it).',
  );

  if (api.auth === 'api-key') {
    acknowledge(
      api.predictMethod,
      inPacks('APIG4', AWS_SOLUTIONS).concat(inPacks('COG4', AWS_SOLUTIONS)),
      'apiAuth is set to api-key: clients authenticate with an API key bound to a throttled usage plan, by configuration',
    );
  } else {
    acknowledge(
      api.predictMethod,
      inPacks('COG4', AWS_SOLUTIONS),
      'Clients are AWS principals that sign requests with SigV4 (IAM authorization); there is no Cognito user pool',
    );
  }
  // API Gateway's account-level CloudWatch role, which RestApi creates itself (cloudWatchRole: true): the only role
  // beneath the API, found by type rather than by aws-cdk-lib's construct id.
  for (const cloudWatchRole of api.api.node.findAll().filter((c) => c instanceof iam.Role)) {
    acknowledge(
      cloudWatchRole,
      ['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]'],
      "API Gateway's account-level logging role serves every REST API in the account and region; the AWS-managed policy is the one made for it",
    );
  }
}
