/**
 * The real-account acceptance test (test/integ/, `npm run integ`), checked offline: its app synthesizes with no
 * credentials and no Docker, deploys the small copy it promises, asserts what it promises, cleans up what it
 * can, and its templates match the committed snapshot (what integ-runner's snapshot check compares).
 */
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';

import { buildPlatformInteg, INTEG_CONTEXT, PlatformInteg, sampleRow } from './integ/platform-integ';
import { contextWith, stableTemplate, stacksOf } from './support/platform';

let integ: PlatformInteg;
let stacks: Stack[];

beforeAll(() => {
  const app = new App({ context: contextWith(INTEG_CONTEXT) });
  integ = buildPlatformInteg(app);
  stacks = [...stacksOf(integ.platform), integ.assertions];
});

/** The custom resource of an integ-tests-alpha SDK call (e.g. `SageMakerRuntime`, `invokeEndpoint`). */
function sdkCall(service: string, api: string): Record<string, unknown> {
  const calls = Template.fromStack(integ.assertions).findResources(`Custom::DeployAssert@SdkCall${service}${api}`);
  expect(Object.keys(calls)).toHaveLength(1);
  return Object.values(calls)[0].Properties;
}

/** A stack's template for the snapshot: stableTemplate's masks, and integ-tests-alpha's per-synth `salt` (Date.now()). */
function snapshotOf(stack: Stack): unknown {
  return JSON.parse(JSON.stringify(stableTemplate(stack)).replace(/"salt":"\d+"/g, '"salt":"SYNTH_TIME"'));
}

describe('integ test app', () => {
  test("holds the platform's four stacks and the assertion stack, all named apart from a real deployment", () => {
    expect(stacks.map((s) => s.stackName)).toEqual([
      'DlPlatformInteg-Data',
      'DlPlatformInteg-Training',
      'DlPlatformInteg-Serving',
      'DlPlatformInteg-Monitoring',
      'DlPlatformInteg-Assertions',
    ]);
  });

  test('deploys the small copy: CPU types, on-demand training for one epoch, one endpoint instance', () => {
    const training = JSON.stringify(Template.fromStack(integ.platform.training).toJSON());
    expect(training).toContain('\\"InstanceType\\":\\"ml.m5.large\\"');
    expect(training).toContain('\\"EnableManagedSpotTraining\\":false');
    expect(training).toContain('\\"epochs\\":\\"1\\"');
    expect(training).not.toMatch(/ml\.(p|g)\d/);
    Template.fromStack(integ.platform.serving).hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      ProductionVariants: [Match.objectLike({ InstanceType: 'ml.m5.large', InitialInstanceCount: 1 })],
    });
  });

  test("asks the endpoint (by its resource's name) to predict one raw digits row, and retries until it answers a digit", () => {
    const call = sdkCall('SageMakerRuntime', 'invokeEndpoint');
    const parameters = call.parameters as Record<string, unknown>;
    expect(JSON.stringify(parameters.EndpointName)).toContain('Fn::GetStackOutput');
    expect(JSON.parse(JSON.parse(parameters.Body as string))).toEqual({ instances: [sampleRow()] });
    expect(sampleRow()).toHaveLength(64);
    expect(JSON.parse(call.expected as string)).toEqual({
      $ObjectLike: {
        Body: {
          $SerializedJson: {
            $ObjectLike: {
              predictions: [{ $ObjectLike: { label: { $StringLike: '^[0-9]$' } } }],
              model_version: { $StringLike: '^[0-9a-f]{16}$' },
            },
          },
        },
      },
    });
    expect(call.stateMachineArn).toBeDefined();
  });

  test('calls the API with SigV4 from a client that may invoke POST /predict and nothing else, and expects 200 with a prediction', () => {
    const call = sdkCall('Lambda', 'invoke');
    expect(JSON.parse(call.expected as string)).toEqual({
      $ObjectLike: {
        Payload: {
          $SerializedJson: {
            $ObjectLike: {
              statusCode: 200,
              body: {
                $SerializedJson: expect.objectContaining({ $ObjectLike: expect.objectContaining({ predictions: expect.any(Array) }) }),
              },
            },
          },
        },
      },
    });
    const template = Template.fromStack(integ.assertions);
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^SignedApiClientRole') }] },
    });
    const statements = Object.values(policies).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[],
    );
    expect(statements.map((s) => s.Action)).toEqual([['logs:CreateLogStream', 'logs:PutLogEvents'], 'execute-api:Invoke']);
    expect(JSON.stringify(statements[1].Resource)).toMatch(/"\/POST\/predict"\]/);
  });

  test('deletes its log groups and KMS keys with the stacks (the platform itself retains them)', () => {
    for (const stack of stacks) {
      const template = Template.fromStack(stack);
      for (const type of ['AWS::Logs::LogGroup', 'AWS::KMS::Key']) {
        for (const [id, resource] of Object.entries(template.findResources(type)))
          expect([stack.stackName, id, resource.DeletionPolicy]).toEqual([stack.stackName, id, 'Delete']);
      }
    }
  });

  test('matches the committed snapshot, stack by stack', () => {
    for (const stack of stacks) expect(snapshotOf(stack)).toMatchSnapshot(stack.stackName);
  });
});
