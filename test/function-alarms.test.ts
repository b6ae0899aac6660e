/**
 * Alarms from the templates: every AWS::Lambda::Function any stack synthesizes, in every tested configuration,
 * has an Errors and a Throttles alarm in the Monitoring stack whose FunctionName dimension resolves (as
 * CloudFormation would, across stacks) to that function's name, or is one of the deploy-time functions listed
 * with why in test/support/function-alarms.ts and docs/monitoring.md. Unlike a check of the code's own list of
 * functions, a function nobody passes to the Monitoring stack is caught.
 */
import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as cxapi from 'aws-cdk-lib/cx-api';
import * as fs from 'fs';
import * as path from 'path';

import { TESTED_CONFIGURATIONS } from './support/configurations';
import { FunctionAlarms, functionAlarms, missingAlarms, UNALARMED_FUNCTIONS } from './support/function-alarms';
import { buildTestPlatform, SynthesizedPlatform } from './support/platform';

const NO_BUNDLING = { [cxapi.BUNDLING_STACKS]: [] };

function surveyed(
  overrides: Record<string, unknown>,
  plant?: (built: SynthesizedPlatform) => void,
): { functions: FunctionAlarms[]; monitoring: string } {
  const built = buildTestPlatform({ ...NO_BUNDLING, ...overrides });
  plant?.(built);
  return { functions: functionAlarms(built.app), monitoring: built.platform.monitoring.stackName };
}

describe('error and throttle alarms on every Lambda function', () => {
  const results = TESTED_CONFIGURATIONS.map((c) => ({ name: c.name, ...surveyed(c.overrides) }));

  test.each(results.map((r) => [r.name, r] as const))(
    'with %s, every function has both alarms in the Monitoring stack or is listed with why',
    (_name, r) => {
      expect(missingAlarms(r.functions, r.monitoring)).toEqual([]);
      const alarmed = r.functions.filter((f) => !UNALARMED_FUNCTIONS.some((u) => u.path.test(f.path)));
      // Printed for the report: which functions have alarms and which run only inside a deploy.
      process.stdout.write(
        `${_name}: ${r.functions.length} functions, ${alarmed.length} with Errors and Throttles alarms ` +
          `(${alarmed.map((f) => f.path.replace(/\/Resource$/, '')).join(', ')}); ${r.functions.length - alarmed.length} deploy-time without\n`,
      );
      expect(alarmed.length).toBeGreaterThanOrEqual(9);
    },
  );

  test('each listed exception matches a function, and docs/monitoring.md names each with its reason', () => {
    const doc = fs.readFileSync(path.join(__dirname, '..', 'docs', 'monitoring.md'), 'utf8');
    for (const u of UNALARMED_FUNCTIONS) {
      expect([u.what, results.some((r) => r.functions.some((f) => u.path.test(f.path)))]).toEqual([u.what, true]);
      expect(doc).toContain(u.what);
      expect(doc).toContain(u.why);
    }
  });

  test('reports a function that no one passed to the Monitoring stack, naming its construct path and what to do', () => {
    const { functions, monitoring } = surveyed({}, ({ platform }) => {
      new lambda.Function(platform.serving, 'Unwatched', {
        runtime: lambda.Runtime.NODEJS_24_X,
        handler: 'index.handler',
        code: lambda.Code.fromInline('exports.handler = async () => 1;'),
        timeout: Duration.seconds(3),
      });
    });
    expect(missingAlarms(functions, monitoring)).toEqual([
      expect.stringMatching(
        /^DlPlatform-Serving\/Unwatched\/Resource \(function DlPlatform-Serving-Unwatched.*\) has no Errors or Throttles alarm in DlPlatform-Monitoring: pass the function to the Monitoring stack/,
      ),
    ]);
  });

  test("an alarm on another function's name does not count: the dimension must resolve to this function", () => {
    const { functions } = surveyed({});
    const proxy = functions.find((f) => f.path === 'DlPlatform-Serving/Proxy/Function/Resource')!;
    expect(Object.keys(proxy.alarms).sort()).toEqual(['Errors', 'Throttles']);
    expect(missingAlarms([{ ...proxy, functionName: 'another-function', alarms: {} }], 'DlPlatform-Monitoring')).toHaveLength(1);
  });
});
