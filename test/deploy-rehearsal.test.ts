/**
 * The deploy rehearsal (docs/deploy-rehearsal.md): the app's templates evaluated as CloudFormation would, stack by
 * stack, and every name a resource points at (alarm and dashboard dimensions, ARNs in policies, targets and
 * environments, event patterns, SSM-typed parameters, ...) found among what the deployment creates. Run over the
 * default configuration and with every option on; shown to catch the endpoint name that once crossed from the
 * Serving stack into the Monitoring stack built from AWS::StackId, and other dangling names planted on purpose.
 */
import { ArnFormat, Aws, CfnParameter, Duration, Fn } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import { CfnEndpoint } from 'aws-cdk-lib/aws-sagemaker';
import * as cxapi from 'aws-cdk-lib/cx-api';

import { MonitoringStack } from '../lib/monitoring-stack';
import { configuredExternals, EXTERNAL_NAMES, ExternalName, RehearsalResult, rehearse, stacksOfApp } from './support/deploy-rehearsal';
import { buildTestPlatform, EVERY_OPTION, SynthesizedPlatform } from './support/platform';

const NO_BUNDLING = { [cxapi.BUNDLING_STACKS]: [] };

function rehearsed(overrides: Record<string, unknown> = {}, plant?: (built: SynthesizedPlatform) => void): RehearsalResult {
  const built = buildTestPlatform({ ...NO_BUNDLING, ...overrides });
  plant?.(built);
  return rehearse(stacksOfApp(built.app), configuredExternals(built.config));
}

const total = (r: RehearsalResult) => Object.values(r.references).reduce((a, b) => a + b, 0);
const checked = (r: RehearsalResult) => Object.values(r.checked).reduce((a, b) => a + b, 0);

/** The Monitoring stack as main wired it: the endpoint name built from the unscoped AWS::StackId, handed across. */
function monitoringAsOnMain({ app, platform }: SynthesizedPlatform): void {
  const endpoint = platform.serving.inference.endpoint.node.findAll().find((c): c is CfnEndpoint => c instanceof CfnEndpoint)!;
  const literal = platform.serving.resolve(endpoint.endpointName)['Fn::Join'][1][0] as string;
  // eslint-disable-next-line no-restricted-properties -- the defect this test proves the rehearsal catches
  const unscopedSuffix = Fn.select(4, Fn.split('-', Fn.select(2, Fn.split('/', Aws.STACK_ID))));
  new MonitoringStack(app, 'DlPlatform-MonitoringAsOnMain', {
    endpoint: { endpointName: `${literal}${unscopedSuffix}`, variantName: platform.serving.variantName, hasGpu: false },
    functions: [],
    thresholds: {
      endpoint5xxCount: 5,
      endpoint4xxCount: 50,
      modelLatencyP99: Duration.seconds(1),
      cpuUtilizationPercent: 80,
      gpuUtilizationPercent: 80,
      memoryUtilizationPercent: 85,
      gpuMemoryUtilizationPercent: 85,
      api5xxCount: 5,
      apiLatencyP99: Duration.seconds(2),
      wafBlockedCount: 500,
      lambdaErrorCount: 1,
      lambdaThrottleCount: 1,
    },
    alarmEmails: [],
    runbookUrl: 'docs/runbook.md',
  });
}

describe('deploy rehearsal', () => {
  const defaults = rehearsed();
  const options = rehearsed(EVERY_OPTION);

  test.each([
    ['the default settings', defaults],
    ['every optional feature on', options],
  ])('with %s, every name a resource points at names something the deployment creates or a listed external', (what, result) => {
    // Printed for the report: what the rehearsal evaluated and checked.
    process.stdout.write(
      `rehearsal, ${what}: ${total(result)} references evaluated ${JSON.stringify(result.references)}; ` +
        `${checked(result)} names checked ${JSON.stringify(result.checked)}; ${result.opaque.length} opaque\n`,
    );
    expect(result.findings).toEqual([]);
    expect(result.opaque).toEqual([]);
    expect(result.references.getStackOutput).toBeGreaterThan(100);
    for (const kind of [
      'arn',
      'sagemaker endpoint',
      'sagemaker variant',
      'lambda function',
      'rest api stage',
      'waf web acl',
      'sqs queue',
      'ssm parameter',
      'sagemaker training-job',
    ]) {
      expect([kind, result.checked[kind] ?? 0]).toEqual([kind, expect.any(Number)]);
      expect(result.checked[kind]).toBeGreaterThan(0);
    }
  });

  test('every external name is used, so the list says only what is true', () => {
    const used = (e: ExternalName) => (defaults.externalsUsed.get(e) ?? 0) + (options.externalsUsed.get(e) ?? 0);
    expect(EXTERNAL_NAMES.filter((e) => used(e) === 0).map((e) => e.name)).toEqual([]);
    const configured = [...options.externalsUsed.keys()].filter((e) => !EXTERNAL_NAMES.includes(e));
    expect(configured.map((e) => e.why.split(':')[0]).sort()).toEqual([
      "SageMaker creates the network interfaces of jobs in the user's subnets (https",
      'dataSourceUri',
      'dataSourceUri',
      'trainingSecurityGroupIds',
      'trainingSubnetIds',
      'webhookSecretArn',
    ]);
  });

  test("reports the 14 endpoint names of main's wiring: 5 alarms and 9 dashboard metrics watching an endpoint of the Monitoring stack's own id", () => {
    const result = rehearsed({}, monitoringAsOnMain);
    expect(result.findings).toHaveLength(14);
    expect(
      result.findings.every((f) =>
        /^DlPlatform-MonitoringAsOnMain\/.* EndpointName: names sagemaker endpoint "DlPlatformServing-Endpoint-[0-9A-F]{8}-m5-large-[0-9a-f]{12}", which the deployment does not create/.test(
          f,
        ),
      ),
    ).toBe(true);
    expect(result.findings.filter((f) => /\/Alarms/.test(f))).toHaveLength(5);
    expect(result.findings.filter((f) => /\/Dashboard.* widget /.test(f))).toHaveLength(9);
  });

  test('reports a grant on a function, a rule on a job prefix and an SSM-typed parameter that name nothing', () => {
    const result = rehearsed({}, ({ platform }) => {
      const role = new iam.Role(platform.monitoring, 'PlantedRole', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['lambda:InvokeFunction'],
          resources: [
            platform.monitoring.formatArn({
              service: 'lambda',
              resource: 'function',
              resourceName: 'no-such-function',
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          ],
        }),
      );
      new events.Rule(platform.monitoring, 'PlantedRule', {
        eventPattern: { source: ['aws.sagemaker'], detail: { TrainingJobName: [{ prefix: 'someone-elses-training' }] } },
      });
      new CfnParameter(platform.serving, 'PlantedPointer', { type: 'AWS::SSM::Parameter::Value<String>', default: '/nobody/writes/this' });
    });
    expect(result.findings).toEqual([
      expect.stringMatching(
        /^DlPlatform-Monitoring\/PlantedRoleDefaultPolicy.*: ARN arn:aws:lambda:us-east-2:111122223333:function:no-such-function names nothing the deployment creates$/,
      ),
      expect.stringMatching(
        /^DlPlatform-Monitoring\/PlantedRule.* EventPattern.detail.TrainingJobName: \[\{"prefix":"someone-elses-training"\}\] matches no sagemaker training-job/,
      ),
      expect.stringMatching(
        /^DlPlatform-Serving parameter PlantedPointer: names ssm parameter "\/nobody\/writes\/this", which the deployment does not create/,
      ),
    ]);
  });
});
