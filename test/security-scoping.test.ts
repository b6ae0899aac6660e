/**
 * Issue 20's scoping fixes, each as the property it guarantees: VPC jobs manage network interfaces only in the
 * configured subnets and security groups; the sample upload reads and lists only its own prefix of the data
 * bucket; every role EventBridge assumes names the rule it serves; the provider waiters write logs only to their
 * own group. (test/wildcard-resources.test.ts holds the app-wide rule behind the first and the last.)
 */
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cxapi from 'aws-cdk-lib/cx-api';

import { buildTestPlatform, EVERY_OPTION } from './support/platform';

type Statement = {
  Effect: string;
  Action: string | string[];
  Resource?: unknown;
  NotResource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
  Sid?: string;
};
const actionsOf = (s: Statement) => [s.Action].flat();

function policies(template: Template): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (r) => (r as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement,
  );
}

describe('scoping of issue 20', () => {
  const vpc = buildTestPlatform({ [cxapi.BUNDLING_STACKS]: [], ...EVERY_OPTION }).platform;
  const defaults = buildTestPlatform({ [cxapi.BUNDLING_STACKS]: [] }).platform;
  const training = Template.fromStack(vpc.training);

  test('VPC jobs create network interfaces only in the configured subnets and security groups, and manage only those in the subnets', () => {
    const creates = policies(training).filter((s) => actionsOf(s).includes('ec2:CreateNetworkInterface'));
    expect(creates).toHaveLength(3); // prepare, train, evaluate
    for (const s of creates) {
      expect(actionsOf(s)).toEqual(['ec2:CreateNetworkInterface']);
      const resources = JSON.stringify(s.Resource);
      expect(resources).toContain(':subnet/subnet-0123456789abcdef0');
      expect(resources).toContain(':security-group/sg-0123456789abcdef0');
      expect(resources).not.toMatch(/:(subnet|security-group)\/\*/);
    }
    const manages = policies(training).filter((s) => actionsOf(s).includes('ec2:DeleteNetworkInterface'));
    expect(manages).toHaveLength(3);
    for (const s of manages) {
      expect(actionsOf(s).sort()).toEqual([
        'ec2:CreateNetworkInterfacePermission',
        'ec2:DeleteNetworkInterface',
        'ec2:DeleteNetworkInterfacePermission',
      ]);
      expect(JSON.stringify(s.Condition?.ArnEquals?.['ec2:Subnet'])).toContain(':subnet/subnet-0123456789abcdef0');
    }
  });

  test('the sample upload may read objects only under its prefix (and its staged asset), and list only that prefix', () => {
    const all = policies(Template.fromStack(defaults.training));
    const reads = all.find((s) => s.Sid === 'ReadOnlyTheSampleAndItsStagedAsset')!;
    expect(reads.Effect).toBe('Deny');
    expect(actionsOf(reads)).toEqual(['s3:GetObject*']);
    const allowed = JSON.stringify(reads.NotResource);
    expect(allowed).toMatch(/\/datasets\/digits\/v1\/\*"/);
    expect(allowed).toContain('{"Fn::Sub":"cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}"},"/*"');
    const lists = all.find((s) => s.Sid === 'ListOnlyTheSamplePrefix')!;
    expect(lists.Effect).toBe('Deny');
    expect(lists.Condition).toEqual({ StringNotLike: { 's3:prefix': ['datasets/digits/v1/*'] } });
  });

  test.each([
    // The retraining pipeline's trigger rules (constructs/training/retraining-pipeline.ts).
    ['training', 'defaults', 1],
    // The rollout reconciler's approval rule (constructs/serving/rollout-reconciler.ts).
    ['serving', 'defaults', 1],
    // retrainOnDrift (on in EVERY_OPTION): the drift alarms' rule (constructs/training/alarm-retraining-trigger.ts).
    ['monitoring', 'defaults', 0],
    ['monitoring', 'every option', 1],
  ] as const)(
    'every role EventBridge assumes in the %s stack (%s) names this account and the rules it serves (aws:SourceArn)',
    (stack, settings, count) => {
      const template = Template.fromStack((settings === 'defaults' ? defaults : vpc)[stack]);
      const roles = template.findResources('AWS::IAM::Role', {
        Properties: {
          AssumeRolePolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Principal: { Service: 'events.amazonaws.com' } })]) },
        },
      });
      expect(Object.keys(roles)).toHaveLength(count);
      const rules = Object.values(template.findResources('AWS::Events::Rule')) as {
        Properties: { Name: string; Targets: { RoleArn?: { 'Fn::GetAtt': string[] } }[] };
      }[];
      for (const [id, role] of Object.entries(roles) as [
        string,
        { Properties: { AssumeRolePolicyDocument: { Statement: Statement[] } } },
      ][]) {
        const condition = role.Properties.AssumeRolePolicyDocument.Statement[0].Condition!;
        expect(condition.StringEquals['aws:SourceAccount']).toEqual(settings === 'defaults' ? { Ref: 'AWS::AccountId' } : '123456789012');
        const served = rules
          .filter((r) => r.Properties.Targets.some((t) => t.RoleArn?.['Fn::GetAtt'][0] === id))
          .map((r) => r.Properties.Name);
        expect(served.length).toBeGreaterThan(0);
        const sourceArn = JSON.stringify(condition.ArnEquals?.['aws:SourceArn'] ?? condition.ArnLike?.['aws:SourceArn']);
        for (const ruleName of served) {
          // An exact rule ARN, or (the pipeline, whose alarm rules are added later) a name prefix that only its rules start with.
          const pattern = /:rule\/([^"*]+)(\*?)"/.exec(sourceArn)!;
          expect(pattern[2] === '*' ? ruleName.startsWith(pattern[1]) : ruleName === pattern[1]).toBe(true);
        }
      }
    },
  );

  test('the provider waiters may create streams and write events only in their own log group', () => {
    const template = Template.fromStack(defaults.training);
    const writes = policies(template).filter(
      (s) => actionsOf(s).includes('logs:PutLogEvents') && JSON.stringify(s.Resource).includes('WaiterLogs'),
    );
    expect(writes).toHaveLength(3);
    for (const s of policies(template)) if (s.Resource === '*') expect(actionsOf(s)).not.toContain('logs:PutLogEvents');
  });
});
