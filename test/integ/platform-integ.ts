/**
 * The real-account acceptance test, as an `@aws-cdk/integ-tests-alpha` IntegTest: a small copy of the whole
 * platform (test/integ/integ-context.json: CPU types, one epoch, no spot, one endpoint instance, its own stack
 * prefix), deployed as it is (the prepare, training and evaluate jobs run and the deploy waits for them), then
 * two assertions, each retried until it holds or times out (a timeout fails the deploy):
 * - SageMaker InvokeEndpoint with one raw digits row answers a prediction (a digit label and the model version);
 * - the inference API, called with SigV4 by a Lambda client that may only `execute-api:Invoke` POST /predict,
 *   answers 200 with a prediction of the same shape (through WAF, IAM auth, validation and the proxy).
 * Log groups and KMS keys are deleted with the stacks here (the platform keeps them by design); see
 * docs/integ-test.md for what a run leaves behind.
 */
import { ExpectedResult, IntegTest, Match } from '@aws-cdk/integ-tests-alpha';
import { App, Duration, RemovalPolicies, Stack } from 'aws-cdk-lib';
import * as fs from 'fs';
import * as path from 'path';

import { PlatformFunction } from '../../constructs/private/platform-function';
import { loadConfig } from '../../lib/config';
import { buildPlatform, Platform } from '../../lib/platform';
import integContext from './integ-context.json';

/** The settings of the small copy (also what `npm run preflight -- --context-file test/integ/integ-context.json` checks). */
export const INTEG_CONTEXT: Record<string, unknown> = integContext;

const SAMPLE = path.join(__dirname, '..', '..', 'training-image', 'sample-data', 'test.csv');

/** The first row of the digits test sample, without its label: the 64 raw pixel values a client sends. */
export function sampleRow(): number[] {
  const [header, first] = fs.readFileSync(SAMPLE, 'utf8').split('\n');
  const columns = header.split(',');
  const values = first.split(',').map(Number);
  return values.filter((_, i) => columns[i] !== 'label');
}

/** What a prediction response holds (training-image/src/dlplatform/serve/payload.py): one digit label per row, and the model version. */
const PREDICTION = Match.objectLike({
  predictions: [Match.objectLike({ label: Match.stringLikeRegexp('^[0-9]$') })],
  model_version: Match.stringLikeRegexp('^[0-9a-f]{16}$'),
});

/** How long an assertion is retried: the endpoint is InService once its stack has deployed, so a few minutes suffice. */
const WAIT = { totalTimeout: Duration.minutes(10), interval: Duration.seconds(30) };

export interface PlatformInteg {
  readonly platform: Platform;
  readonly test: IntegTest;
  /** The stack holding the assertions and the signed API client. */
  readonly assertions: Stack;
}

/** Builds the small platform and its assertions in `app`, whose context holds {@link INTEG_CONTEXT}. */
export function buildPlatformInteg(app: App): PlatformInteg {
  const config = loadConfig(app.node);
  const platform = buildPlatform(app, config);
  const env = config.account || config.region ? { account: config.account, region: config.region } : undefined;
  const assertions = new Stack(app, `${config.stackPrefix}-Assertions`, {
    env,
    description: 'Deep-learning platform integ test: assertions and the signed API client',
  });
  const test = new IntegTest(app, 'PlatformInteg', {
    testCases: [platform.data, platform.training, platform.serving, platform.monitoring],
    assertionStack: assertions,
  });
  // A test leaves no log group or key behind (the platform retains them so that a destroy loses no audit trail).
  RemovalPolicies.of(app).destroy({ applyToResourceTypes: ['AWS::Logs::LogGroup', 'AWS::KMS::Key'] });

  const body = JSON.stringify({ instances: [sampleRow()] });

  // The endpoint's name as a reference across stacks (InferenceEndpoint.endpointName), not a string built at synth.
  // integ-tests-alpha grants the assertion functions sagemaker:InvokeEndpoint (on any endpoint: a test-only stack).
  const invokeEndpoint = test.assertions.awsApiCall('SageMakerRuntime', 'invokeEndpoint', {
    EndpointName: platform.serving.endpointName,
    ContentType: 'application/json',
    Accept: 'application/json',
    Body: body,
  });
  invokeEndpoint.expect(ExpectedResult.objectLike({ Body: Match.serializedJson(PREDICTION) })).waitForAssertions(WAIT);

  const client = new PlatformFunction(assertions, 'SignedApiClient', {
    entry: path.join(__dirname, 'runtime', 'signed-predict.handler.ts'),
    description: 'Integ test: POST /predict signed with SigV4, as an IAM client',
    timeout: Duration.seconds(60),
    environment: { PREDICT_URL: platform.serving.inferenceApi.predictUrl },
  });
  platform.serving.inferenceApi.grantInvoke(client.function);
  const callApi = test.assertions.invokeFunction({ functionName: client.function.functionName, payload: JSON.stringify({ body }) });
  callApi
    .expect(
      ExpectedResult.objectLike({
        Payload: Match.serializedJson(Match.objectLike({ statusCode: 200, body: Match.serializedJson(PREDICTION) })),
      }),
    )
    .waitForAssertions(WAIT);

  return { platform, test, assertions };
}
