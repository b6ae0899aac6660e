/** The security defaults of the constructs behind issue 14's gaps, and their overrides. */
import * as sagemaker from '@aws-cdk/aws-sagemaker-alpha';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as cxapi from 'aws-cdk-lib/cx-api';

import { TrainingFailureRule } from '../constructs/monitoring/training-failure-rule';
import { InferenceEndpoint } from '../constructs/serving/inference-endpoint';
import { InferenceProxy } from '../constructs/serving/inference-proxy';
import { ModelArtifact } from '../constructs/training/model-artifact';

const stack = () => new Stack(new App({ context: { [cxapi.BUNDLING_STACKS]: [] } }), 'Test');

function endpoint(s: Stack, props: Partial<ConstructorParameters<typeof InferenceEndpoint>[2]> = {}): InferenceEndpoint {
  return new InferenceEndpoint(s, 'Endpoint', {
    image: sagemaker.ContainerImage.fromEcrRepository(ecr.Repository.fromRepositoryName(s, 'Repo', 'model'), 'v1'),
    modelData: new ModelArtifact({
      bucket: s3.Bucket.fromBucketName(s, 'Bucket', 'bucket'),
      key: 'jobs/job-1/output/model.tar.gz',
      encryptionKey: new kms.Key(s, 'ArtifactKey'),
    }),
    encryptionKey: new kms.Key(s, 'Key'),
    ...props,
  });
}

describe('InferenceEndpoint log group', () => {
  test('an explicit endpoint name names the log group exactly; the group is kept and its key and retention are the given ones', () => {
    const s = stack();
    const logsKey = new kms.Key(s, 'LogsKey');
    endpoint(s, { endpointName: 'digits', logsKey, logRetention: logs.RetentionDays.ONE_MONTH });
    const t = Template.fromStack(s);
    t.hasResource('AWS::Logs::LogGroup', {
      Properties: {
        LogGroupName: '/aws/sagemaker/Endpoints/digits',
        RetentionInDays: 30,
        KmsKeyId: { 'Fn::GetAtt': [s.getLogicalId(logsKey.node.defaultChild as kms.CfnKey), 'Arn'] },
      },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    t.hasResourceProperties('AWS::SageMaker::Endpoint', { EndpointName: 'digits' });
  });

  test("by default the group has a year's retention and CloudWatch Logs' own encryption", () => {
    const s = stack();
    endpoint(s);
    const [group] = Object.values(Template.fromStack(s).findResources('AWS::Logs::LogGroup')) as { Properties: Record<string, unknown> }[];
    expect(group.Properties.RetentionInDays).toBe(365);
    expect(group.Properties.KmsKeyId).toBeUndefined();
  });
});

describe('InferenceProxy reserved concurrency', () => {
  const proxy = (props: Partial<ConstructorParameters<typeof InferenceProxy>[2]> = {}) => {
    const s = stack();
    const p = new InferenceProxy(s, 'Proxy', {
      endpoint: {
        endpointName: 'digits',
        grantInvoke: (g: iam.IGrantable) =>
          iam.Grant.addToPrincipal({ grantee: g, actions: ['sagemaker:InvokeEndpoint'], resourceArns: ['*'] }),
      },
      ...props,
    });
    return { p, t: Template.fromStack(s) };
  };

  test("reserves nothing unless asked: the function shares the account's pool", () => {
    const { p, t } = proxy({ requestsPerSecond: 0.5 });
    expect(p.reservedConcurrency).toBeUndefined();
    t.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: Match.absent(), Timeout: 27 });
  });

  test("follows the request rate at the function's timeout (0.5 requests/s x 27 s = 14)", () => {
    const { p, t } = proxy({ reserveConcurrency: true, requestsPerSecond: 0.5 });
    expect(p.reservedConcurrency).toBe(14);
    t.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 14, Timeout: 27 });
  });

  test('stops at the cap, and a shorter invoke timeout shrinks it (10 requests/s x 12 s = 120, cap 150)', () => {
    expect(proxy({ reserveConcurrency: true, requestsPerSecond: 1000, reservedConcurrencyCap: 20 }).p.reservedConcurrency).toBe(20);
    expect(
      proxy({ reserveConcurrency: true, requestsPerSecond: 10, reservedConcurrencyCap: 150, invokeTimeout: Duration.seconds(10) }).p
        .reservedConcurrency,
    ).toBe(120);
  });
});

describe('TrainingFailureRule dead-letter queue', () => {
  test("a target that brings its own dead-letter queue keeps it; the others get the rule's", () => {
    const s = stack();
    const own = new sqs.Queue(s, 'Own');
    const rule = new TrainingFailureRule(s, 'Rule', { jobNamePrefix: 'digits', deadLetterRetention: Duration.days(4) });
    const target = (arn: string, dlq?: sqs.IQueue): events.IRuleTarget => ({
      bind: () => ({ arn, deadLetterConfig: dlq ? { arn: dlq.queueArn } : undefined }),
    });
    rule.addTarget(target('arn:aws:sns:eu-west-1:123456789012:a', own));
    rule.addTarget(target('arn:aws:sns:eu-west-1:123456789012:b'));
    const t = Template.fromStack(s);
    const [ruleResource] = Object.values(t.findResources('AWS::Events::Rule')) as {
      Properties: { Targets: { Arn: string; DeadLetterConfig: unknown }[] };
    }[];
    expect(ruleResource.Properties.Targets.map((x) => [x.Arn, x.DeadLetterConfig])).toEqual([
      ['arn:aws:sns:eu-west-1:123456789012:a', { Arn: { 'Fn::GetAtt': [s.getLogicalId(own.node.defaultChild as sqs.CfnQueue), 'Arn'] } }],
      [
        'arn:aws:sns:eu-west-1:123456789012:b',
        { Arn: { 'Fn::GetAtt': [s.getLogicalId(rule.deadLetterQueue.node.defaultChild as sqs.CfnQueue), 'Arn'] } },
      ],
    ]);
    t.hasResourceProperties('AWS::SQS::Queue', { MessageRetentionPeriod: 4 * 86400, SqsManagedSseEnabled: true });
  });
});
