/**
 * CloudFormation custom-resource events for the TrainingJob handler, built from a synthesized template: the
 * resource properties are the template's, with intrinsic functions evaluated the way CloudFormation would
 * (fake but well-formed account, region, ARNs and bucket names) and scalars turned into strings, as
 * CloudFormation delivers them.
 */
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { randomUUID } from 'crypto';

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';
export const KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

const PSEUDO: Record<string, string> = {
  'AWS::AccountId': ACCOUNT,
  'AWS::Region': REGION,
  'AWS::Partition': 'aws',
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': 'DlPlatform-Training',
  'AWS::StackId': `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/DlPlatform-Training/0c5e4a30-8b39-11ef-9c54-0a1b2c3d4e5f`,
};

/** A bucket name for an output of the Data stack, e.g. `dlplatform-data-modelbucket`. */
function stackOutput(outputName: string): string {
  if (/Key[0-9A-F]{8}Arn/.test(outputName)) return KEY_ARN;
  const bucket = /(DataBucket|ModelBucket)[0-9A-F]{8}/.exec(outputName);
  if (bucket) {
    const name = `dlplatform-data-${bucket[1].toLowerCase()}`;
    return outputName.includes('FnGetAtt') && /Arn/.test(outputName.replace(bucket[0], '')) ? `arn:aws:s3:::${name}` : name;
  }
  throw new Error(`no fake value for stack output ${outputName}`);
}

/** Evaluates the intrinsic functions CDK emits into plain values. */
export function evaluate(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(evaluate);
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  if ('Ref' in obj) return PSEUDO[obj.Ref as string] ?? `ref-${String(obj.Ref).toLowerCase()}`;
  if ('Fn::Join' in obj) {
    const [delimiter, items] = obj['Fn::Join'] as [string, unknown[]];
    return items.map((i) => String(evaluate(i))).join(delimiter);
  }
  if ('Fn::Select' in obj) {
    const [index, list] = obj['Fn::Select'] as [number, unknown];
    return (evaluate(list) as unknown[])[Number(index)];
  }
  if ('Fn::Split' in obj) {
    const [delimiter, source] = obj['Fn::Split'] as [string, unknown];
    return String(evaluate(source)).split(delimiter);
  }
  if ('Fn::Sub' in obj) return String(obj['Fn::Sub']).replace(/\$\{([^}]+)\}/g, (_m, name: string) => PSEUDO[name] ?? `sub-${name}`);
  if ('Fn::GetAtt' in obj) {
    const [id, attribute] = obj['Fn::GetAtt'] as [string, string];
    if (attribute !== 'Arn') return `${id}.${attribute}`;
    if (/Role/.test(id)) return `arn:aws:iam::${ACCOUNT}:role/${id}`;
    if (/Logs/.test(id)) return `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${id}:*`;
    return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${id}`;
  }
  if ('Fn::GetStackOutput' in obj) return stackOutput((obj['Fn::GetStackOutput'] as { OutputName: string }).OutputName);
  if ('Fn::ImportValue' in obj) return stackOutput(String(obj['Fn::ImportValue']));
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, evaluate(v)]));
}

/** Scalars as strings, the way CloudFormation passes a custom resource's properties. */
function asDelivered(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(asDelivered);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asDelivered(v)]));
  return String(value);
}

/** The resource properties CloudFormation would send for a template resource. */
export function deliveredProperties(resource: { Properties: Record<string, unknown> }): Record<string, string> & { ServiceToken: string } {
  return asDelivered(evaluate(resource.Properties)) as Record<string, string> & { ServiceToken: string };
}

/** A custom resource event as the Provider framework hands it to the onEvent handler. */
export function customResourceEvent(
  requestType: 'Create' | 'Update' | 'Delete',
  logicalId: string,
  properties: Record<string, string> & { ServiceToken: string },
  extra: { physicalResourceId?: string; oldProperties?: Record<string, string> & { ServiceToken: string }; requestId?: string } = {},
): CloudFormationCustomResourceEvent {
  const common = {
    ServiceToken: properties.ServiceToken,
    // The framework withholds CloudFormation's presigned response URL from user handlers.
    ResponseURL: '...',
    StackId: `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/DlPlatform-Training/0c5e4a30-8b39-11ef-9c54-0a1b2c3d4e5f`,
    RequestId: extra.requestId ?? randomUUID(),
    LogicalResourceId: logicalId,
    ResourceType: 'Custom::SageMakerTrainingJob',
    ResourceProperties: properties,
  };
  if (requestType === 'Create') return { ...common, RequestType: 'Create' };
  const PhysicalResourceId = extra.physicalResourceId ?? 'unknown';
  if (requestType === 'Delete') return { ...common, RequestType: 'Delete', PhysicalResourceId };
  return { ...common, RequestType: 'Update', PhysicalResourceId, OldResourceProperties: extra.oldProperties ?? properties };
}
