/**
 * Redeploy after destroy: `cdk destroy` keeps every resource with DeletionPolicy Retain (buckets, keys, log
 * groups), and a kept resource with a fixed physical name makes the next `cdk deploy` fail with "already
 * exists" (defect 5: the WAF log group). This checks every resource of every stack against the CloudFormation
 * resource schemas that cfn-lint ships: a retained resource may set none of its type's name properties to a
 * value that is the same on every deployment.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';

import { nameProperties } from './support/cfn-schemas';
import { buildTestPlatform, stacksOf } from './support/platform';

type Json = ReturnType<Template['toJSON']>[string];

/** Deletion policies that leave the resource behind on stack delete. */
const KEPT = new Set(['Retain', 'RetainExceptOnCreate', 'Snapshot']);

/** Pseudo parameters whose value is the same for every deployment of the same stack in the same place. */
const STABLE_PSEUDO = new Set(['AWS::AccountId', 'AWS::Region', 'AWS::Partition', 'AWS::StackName', 'AWS::URLSuffix', 'AWS::NoValue']);

/**
 * Whether a property value comes out the same on every deployment: literals, stable pseudo parameters,
 * parameters and imports do; AWS::StackId and a reference to a resource without a fixed name do not (a new
 * deployment creates it with a new physical id).
 */
function isFixed(value: unknown, template: Json, seen = new Set<string>()): boolean {
  if (value === null || typeof value !== 'object') return true;
  if (Array.isArray(value)) return value.every((v) => isFixed(v, template, seen));
  const [fn, arg] = Object.entries(value as Record<string, unknown>)[0] ?? [];
  const resourceFixed = (id: string): boolean => {
    const resource = template.Resources?.[id];
    if (!resource) return true; // a parameter or condition: the same value on every deployment
    if (seen.has(id)) return false;
    const names = nameProperties(resource.Type).filter((p) => resource.Properties?.[p] !== undefined);
    return names.length > 0 && names.every((p) => isFixed(resource.Properties[p], template, new Set([...seen, id])));
  };
  switch (fn) {
    case 'Ref': {
      const id = arg as string;
      if (id.startsWith('AWS::')) return STABLE_PSEUDO.has(id);
      return resourceFixed(id);
    }
    case 'Fn::GetAtt':
      return resourceFixed((Array.isArray(arg) ? arg[0] : String(arg).split('.')[0]) as string);
    case 'Fn::Sub': {
      const [text, vars] = (Array.isArray(arg) ? arg : [arg, {}]) as [string, Record<string, unknown>];
      return [...text.matchAll(/\$\{([^!}][^}]*)\}/g)].every(([, ref]) => {
        if (vars[ref] !== undefined) return isFixed(vars[ref], template, seen);
        if (ref.startsWith('AWS::')) return STABLE_PSEUDO.has(ref);
        return resourceFixed(ref.split('.')[0]);
      });
    }
    case 'Fn::If':
      return (arg as unknown[]).slice(1).some((branch) => isFixed(branch, template, seen));
    default:
      return Object.values(value as Record<string, unknown>).every((v) => isFixed(v, template, seen));
  }
}

/** "stack/logicalId (Type): Property" for each retained resource that sets a name property to a fixed value. */
function fixedNamesOfKeptResources(stack: Stack): string[] {
  const template = Template.fromStack(stack).toJSON();
  return Object.entries(template.Resources as Record<string, Json>).flatMap(([id, r]) => {
    if (!KEPT.has(r.DeletionPolicy)) return [];
    return nameProperties(r.Type)
      .filter((p) => r.Properties?.[p] !== undefined && isFixed(r.Properties[p], template))
      .map((p) => `${stack.stackName}/${id} (${r.Type}): ${p} ${JSON.stringify(r.Properties[p])}`);
  });
}

describe('redeploy after cdk destroy', () => {
  const { platform } = buildTestPlatform();
  const stacks = stacksOf(platform);

  test('the schemas give each kept type its name properties', () => {
    expect(nameProperties('AWS::Logs::LogGroup')).toEqual(['LogGroupName']);
    expect(nameProperties('AWS::S3::Bucket')).toEqual(['BucketName']);
    expect(nameProperties('AWS::DynamoDB::Table')).toEqual(['TableName']);
    expect(nameProperties('AWS::KMS::Alias')).toEqual(['AliasName']);
    expect(nameProperties('AWS::KMS::Key')).toEqual([]);
    expect(nameProperties('AWS::SNS::Topic')).toEqual(['TopicName']);
    expect(nameProperties('AWS::IAM::Role')).toEqual(['RoleName']);
  });

  test('no resource that cdk destroy keeps has a fixed physical name, in any stack', () => {
    const kept = stacks.flatMap((stack) => {
      const template = Template.fromStack(stack).toJSON();
      return Object.entries(template.Resources as Record<string, Json>)
        .filter(([, r]) => KEPT.has(r.DeletionPolicy))
        .map(([id, r]) => `${id} ${r.Type}`);
    });
    // Printed for the report: what the check examined.
    process.stdout.write(`kept on destroy: ${kept.length} resources in ${stacks.length} stacks\n`);
    expect(kept.length).toBeGreaterThan(10);
    expect(stacks.flatMap(fixedNamesOfKeptResources)).toEqual([]);
  });

  test('catches a kept log group with a fixed name (the WAF log group before the fix)', () => {
    const stack = new Stack(new App(), 'DlPlatform-Serving');
    new logs.LogGroup(stack, 'WafLogs', { logGroupName: 'aws-waf-logs-DlPlatformServing-Waf-4D3556DB' });
    new logs.LogGroup(stack, 'Unnamed');
    expect(fixedNamesOfKeptResources(stack)).toEqual([
      expect.stringMatching(
        /^DlPlatform-Serving\/WafLogs[0-9A-F]+ \(AWS::Logs::LogGroup\): LogGroupName "aws-waf-logs-DlPlatformServing-Waf-4D3556DB"$/,
      ),
    ]);
  });

  test('a name built only from the stack name and region is still fixed; one with the stack id is not', () => {
    const stack = new Stack(new App(), 'Names');
    new logs.LogGroup(stack, 'ByStackName', { logGroupName: `aws-waf-logs-${stack.stackName}-${stack.region}` });
    new logs.LogGroup(stack, 'ByStackId', { logGroupName: `aws-waf-logs-${stack.artifactId}-${stack.stackId}` });
    expect(fixedNamesOfKeptResources(stack)).toEqual([expect.stringMatching(/ByStackName/)]);
  });
});
