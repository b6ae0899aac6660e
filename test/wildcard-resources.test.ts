/**
 * A wildcard resource only where AWS allows nothing narrower (test/support/wildcard-resources.ts): every Allow
 * statement of every identity policy the app synthesizes, in every tested configuration, names `*`, a service-wide
 * or a type-wide ARN only for actions the Service Authorization Reference gives no narrower scope, or under a
 * documented exception. Shown to catch what an `AwsSolutions-IAM5[Resource::*]` acknowledgement would hide.
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import * as cxapi from 'aws-cdk-lib/cx-api';

import { TESTED_CONFIGURATIONS } from './support/configurations';
import { loadIamReference } from './support/iam-reference';
import { buildTestPlatform, SynthesizedPlatform } from './support/platform';
import { checkWildcardResources, identityStatements, widthOf, WILDCARD_EXCEPTIONS, WildcardResult } from './support/wildcard-resources';

const reference = loadIamReference();
const NO_BUNDLING = { [cxapi.BUNDLING_STACKS]: [] };

function checked(overrides: Record<string, unknown>, plant?: (built: SynthesizedPlatform) => void): WildcardResult {
  const built = buildTestPlatform({ ...NO_BUNDLING, ...overrides });
  plant?.(built);
  return checkWildcardResources(identityStatements(built.app), reference);
}

describe('wildcard resources in identity policies', () => {
  const results = TESTED_CONFIGURATIONS.map((c) => ({ ...c, result: checked(c.overrides) }));

  test.each(results.map((r) => [r.name, r.result] as const))(
    'with %s, every action on a wildcard resource is one AWS gives no narrower scope',
    (_name, result) => {
      expect(result.findings.map((f) => f.message)).toEqual([]);
      expect(result.wildcardStatements).toBeGreaterThan(5);
    },
  );

  test('each exception excuses a statement in some tested configuration and names the AWS page that prescribes it', () => {
    const used = new Set(results.flatMap((r) => [...r.result.usedExceptions]));
    expect(WILDCARD_EXCEPTIONS.filter((e) => !used.has(e)).map((e) => `${e.action} on ${e.resource}`)).toEqual([]);
    for (const e of WILDCARD_EXCEPTIONS) expect(e.url).toMatch(/^https:\/\/docs\.aws\.amazon\.com\//);
  });

  test('tells `*`, service-wide and type-wide ARNs from narrower ones', () => {
    expect(widthOf('*')).toEqual({ kind: 'any' });
    expect(widthOf('arn:aws:logs:*:*:*')).toEqual({ kind: 'any', service: 'logs' });
    expect(widthOf('arn:aws:s3:::*/*')).toEqual({ kind: 'any', service: 's3' });
    expect(widthOf('arn:aws:ec2:eu-west-1:123456789012:subnet/*')).toEqual({ kind: 'type', service: 'ec2', resourceType: 'subnet' });
    expect(widthOf('arn:aws:logs:eu-west-1:123456789012:log-group:*')).toEqual({
      kind: 'type',
      service: 'logs',
      resourceType: 'log-group',
    });
    expect(widthOf('arn:aws:logs:eu-west-1:123456789012:log-group:/aws/sagemaker/TrainingJobs:*')).toEqual({ kind: 'narrow' });
    expect(widthOf('arn:aws:s3:::bucket/datasets/*')).toEqual({ kind: 'narrow' });
  });

  test("reports dynamodb:DeleteItem and Scan on * planted in the alarm responder's role, whose IAM5 acknowledgement hides them from cdk-nag", () => {
    const result = checked({}, ({ platform }) => {
      platform.monitoring.responder.function.addToRolePolicy(
        new iam.PolicyStatement({ actions: ['dynamodb:DeleteItem', 'dynamodb:Scan'], resources: ['*'] }),
      );
    });
    expect(result.findings.map((f) => [f.constructPath, f.action])).toEqual([
      ['DlPlatform-Monitoring/Responder/Role/DefaultPolicy/Resource', 'dynamodb:DeleteItem'],
      ['DlPlatform-Monitoring/Responder/Role/DefaultPolicy/Resource', 'dynamodb:Scan'],
    ]);
    expect(result.findings[0].message).toMatch(
      /lists resource types? table\* for it .*name the resources it acts on.*WILDCARD_EXCEPTIONS in test\/support\/wildcard-resources\.ts/,
    );
  });

  test('reports a service-wide logs ARN, a type-wide subnet ARN, an action wildcard and an Allow with NotResource', () => {
    const result = checked({}, ({ platform }) => {
      const role = platform.monitoring.responder.function.role!;
      role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['logs:PutLogEvents'], resources: ['arn:aws:logs:*:*:*'] }));
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['ec2:CreateNetworkInterface'], resources: ['arn:aws:ec2:us-east-1:123456789012:subnet/*'] }),
      );
      role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sqs:Delete*'], resources: ['*'] }));
      role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], notResources: ['arn:aws:s3:::mine/*'] }));
    });
    const messages = result.findings.map((f) => f.message);
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/logs:PutLogEvents on arn:aws:logs:\*:\*:\*: .*log-stream\*/),
        expect.stringMatching(
          /ec2:CreateNetworkInterface on arn:aws:ec2:us-east-1:123456789012:subnet\/\* names every subnet of the account/,
        ),
        expect.stringMatching(/sqs:DeleteMessage on \*/),
        expect.stringMatching(/sqs:DeleteQueue on \*/),
        expect.stringMatching(/an Allow with NotResource grants its actions on everything else/),
      ]),
    );
  });

  test('an exception that requires a condition does not excuse the statement without it', () => {
    const result = checked({}, ({ platform }) => {
      platform.monitoring.responder.function.addToRolePolicy(
        new iam.PolicyStatement({ actions: ['cloudwatch:PutMetricData'], resources: ['*'] }),
      );
    });
    expect(result.findings.map((f) => f.action)).toEqual(['cloudwatch:PutMetricData']);
  });
});
