import * as sagemaker from '@aws-cdk/aws-sagemaker-alpha';
import { App, Duration, Lazy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';

import { ApiWaf } from '../constructs/serving/api-waf';
import { TrafficShifting } from '../constructs/serving/endpoint-deployment';
import { InferenceEndpoint, InferenceEndpointProps } from '../constructs/serving/inference-endpoint';
import { InferenceProxy } from '../constructs/serving/inference-proxy';
import { ModelArtifact } from '../constructs/training/model-artifact';
import { loadConfig } from '../lib/config';
import { contextWith } from './support/platform';

/** Untyped template JSON, as Template.toJSON() returns it. */
type Json = ReturnType<Template['toJSON']>[string];

function endpointStack(props: Partial<InferenceEndpointProps> = {}): { stack: Stack; endpoint: InferenceEndpoint } {
  const stack = new Stack(new App(), 'Test');
  const encryptionKey = new kms.Key(stack, 'Key');
  const endpoint = new InferenceEndpoint(stack, 'Endpoint', {
    image: sagemaker.ContainerImage.fromEcrRepository(ecr.Repository.fromRepositoryName(stack, 'Repo', 'model'), 'v1'),
    modelData: new ModelArtifact({
      bucket: s3.Bucket.fromBucketName(stack, 'Bucket', 'bucket'),
      key: 'jobs/job-1/output/model.tar.gz',
      encryptionKey,
    }),
    encryptionKey,
    ...props,
  });
  return { stack, endpoint };
}

describe('TrafficShifting', () => {
  test("rejects a canary above SageMaker's 50%, naming the prop", () => {
    expect(() => TrafficShifting.canary({ canaryPercent: 60 })).toThrow(
      /^TrafficShifting: invalid canaryPercent 60; allowed: a whole number from 1 to 50/,
    );
  });

  test('rejects a linear step outside 10-50%', () => {
    expect(() => TrafficShifting.linear({ stepPercent: 5 })).toThrow(
      /^TrafficShifting: invalid stepPercent 5; allowed: a whole number from 10 to 50/,
    );
  });

  test('rejects a baking period over an hour', () => {
    expect(() => TrafficShifting.allAtOnce({ bakeTime: Duration.hours(2) })).toThrow(
      /^TrafficShifting: invalid bakeTime "7200s"; allowed: whole seconds from 0 to 3600/,
    );
  });
});

describe('InferenceEndpoint', () => {
  const rollbackAlarms = {
    Alarms: [
      { AlarmName: { Ref: Match.stringLikeRegexp('Errors5xxAlarm') } },
      { AlarmName: { Ref: Match.stringLikeRegexp('LatencyAlarm') } },
    ],
  };

  test('defaults: one ml.m5.large, no autoscaling, all at once with 5 minutes of baking (one instance cannot hold a canary)', () => {
    const template = Template.fromStack(endpointStack().stack);
    template.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      ProductionVariants: [Match.objectLike({ InstanceType: 'ml.m5.large', InitialInstanceCount: 1, VariantName: 'AllTraffic' })],
    });
    template.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 0);
    template.hasResourceProperties('AWS::SageMaker::Endpoint', {
      DeploymentConfig: {
        BlueGreenUpdatePolicy: {
          TrafficRoutingConfiguration: { Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: 300 },
          TerminationWaitInSeconds: 300,
        },
        AutoRollbackConfiguration: rollbackAlarms,
      },
    });
  });

  test('overrides: a named endpoint and variant, and typed traffic shifting', () => {
    const { stack, endpoint } = endpointStack({
      endpointName: 'digits',
      variantName: 'Main',
      minCapacity: 2,
      trafficShifting: TrafficShifting.linear({ stepPercent: 50, bakeTime: Duration.minutes(1) }),
    });
    // What the construct hands out is the endpoint's attribute: a reference, valid in any stack.
    const [endpointId] = Object.keys(Template.fromStack(stack).findResources('AWS::SageMaker::Endpoint'));
    expect(stack.resolve(endpoint.endpointName)).toEqual({ 'Fn::GetAtt': [endpointId, 'EndpointName'] });
    expect(stack.resolve(endpoint.metric('Invocations').dimensions)).toEqual({
      EndpointName: { 'Fn::GetAtt': [endpointId, 'EndpointName'] },
      VariantName: 'Main',
    });
    Template.fromStack(stack).hasResourceProperties('AWS::SageMaker::Endpoint', {
      EndpointName: 'digits',
      DeploymentConfig: {
        BlueGreenUpdatePolicy: {
          TrafficRoutingConfiguration: {
            Type: 'LINEAR',
            LinearStepSize: { Type: 'CAPACITY_PERCENT', Value: 50 },
            WaitIntervalInSeconds: 60,
          },
          TerminationWaitInSeconds: 60,
        },
        AutoRollbackConfiguration: rollbackAlarms,
      },
    });
  });

  test('refuses to autoscale a burstable instance type', () => {
    expect(() => endpointStack({ instanceType: 'ml.t2.medium', maxCapacity: 2 })).toThrow(
      /^InferenceEndpoint at Test\/Endpoint: invalid maxCapacity 2; allowed: equal to minCapacity \(1\): burstable ml.t2.medium endpoints cannot autoscale/,
    );
  });

  test('a model artifact refuses a key that is not a .tar.gz archive', () => {
    const stack = new Stack(new App(), 'Test');
    const bucket = s3.Bucket.fromBucketName(stack, 'Bucket', 'bucket');
    expect(() => new ModelArtifact({ bucket, key: 'jobs/job-1/output/model.zip', encryptionKey: new kms.Key(stack, 'Key') })).toThrow(
      'ModelArtifact: invalid key "jobs/job-1/output/model.zip"; allowed: the key of a .tar.gz archive (no leading slash)',
    );
  });

  test('the bound artifact grants the model role read on exactly that object and decrypt on its key, and gives its URI', () => {
    const template = Template.fromStack(endpointStack().stack);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Action: 's3:GetObject',
            Effect: 'Allow',
            Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::bucket/jobs/job-1/output/model.tar.gz']] },
          },
          { Action: 'kms:Decrypt', Effect: 'Allow', Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] } },
        ]),
      },
    });
    template.hasResourceProperties('AWS::SageMaker::Model', {
      PrimaryContainer: { ModelDataUrl: 's3://bucket/jobs/job-1/output/model.tar.gz' },
    });
  });

  test("a producer's URI (a token, such as another stack's output) is what the model gets; the grant still names the object", () => {
    const stack = new Stack(new App(), 'Test');
    const uri = Lazy.string({ produce: () => 's3://bucket/reported/model.tar.gz' });
    const artifact = new ModelArtifact({
      bucket: s3.Bucket.fromBucketName(stack, 'Bucket', 'bucket'),
      key: 'jobs/job-1/output/model.tar.gz',
      encryptionKey: new kms.Key(stack, 'Key'),
      uri,
    });
    expect(artifact.uri).toBe(uri);
    expect(stack.resolve(artifact.objectArn)).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::bucket/jobs/job-1/output/model.tar.gz']],
    });
  });

  test('refuses maxCapacity below minCapacity', () => {
    expect(() => endpointStack({ minCapacity: 3, maxCapacity: 2 })).toThrow(
      'InferenceEndpoint at Test/Endpoint: invalid minCapacity 3; allowed: at most maxCapacity (2)',
    );
  });
});

describe('InferenceProxy', () => {
  test("refuses an invoke deadline that API Gateway's 29 s would cut off", () => {
    const { stack, endpoint } = endpointStack();
    expect(() => new InferenceProxy(stack, 'Proxy', { endpoint, invokeTimeout: Duration.seconds(28) })).toThrow(
      'InferenceProxy at Test/Proxy: invalid invokeTimeout "28s"; allowed: under 28 seconds',
    );
  });
});

describe('ApiWaf', () => {
  function stage(stack: Stack): apigw.Stage {
    const api = new apigw.RestApi(stack, 'Api', { cloudWatchRole: false });
    api.root.addMethod('GET', new apigw.MockIntegration());
    return api.deploymentStage;
  }

  test('refuses a body limit beyond what WAF inspects of an API Gateway body', () => {
    const stack = new Stack(new App(), 'Test');
    expect(() => new ApiWaf(stack, 'Waf', { stage: stage(stack), maxBodyBytes: 70_000 })).toThrow(
      'ApiWaf at Test/Waf: invalid maxBodyBytes 70000; allowed: a whole number from 1 to 65536',
    );
  });

  test('defaults: 1000 requests per IP in 5 minutes, 64 KB bodies, no allow-list, logs kept a year', () => {
    const stack = new Stack(new App(), 'Test');
    new ApiWaf(stack, 'Waf', { stage: stage(stack) });
    const template = Template.fromStack(stack);
    const [acl] = Object.values(template.findResources('AWS::WAFv2::WebACL'));
    const rules = acl.Properties.Rules as Json[];
    expect(rules.find((r) => r.Name === 'RateLimitPerIp')!.Statement.RateBasedStatement.Limit).toBe(1000);
    expect(rules.find((r) => r.Name === 'BodySizeLimit')!.Statement.SizeConstraintStatement.Size).toBe(65536);
    template.resourceCountIs('AWS::WAFv2::IPSet', 0);
    // Kept on destroy, so named after the stack's unique id: a redeploy never meets the old group's name.
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      RetentionInDays: 365,
      LogGroupName: {
        'Fn::Join': [
          '',
          [Match.stringLikeRegexp('^aws-waf-logs-Test-Waf-'), { 'Fn::Select': [2, { 'Fn::Split': ['/', { Ref: 'AWS::StackId' }] }] }],
        ],
      },
    });
  });
});

describe('serving settings', () => {
  test.each([
    [{ deploymentCanaryPercent: 60 }, 'Invalid setting "deploymentCanaryPercent": 60; allowed: a whole number from 1 to 50'],
    [{ deploymentLinearStepPercent: 5 }, 'Invalid setting "deploymentLinearStepPercent": 5; allowed: a whole number from 10 to 50'],
    [{ servingInstanceType: 'ml.t2.medium', servingMaxCapacity: 2 }, 'burstable ml.t2.medium endpoints cannot autoscale'],
    [{ rollbackAlarmModelLatencyP99Ms: 0 }, 'Invalid setting "rollbackAlarmModelLatencyP99Ms": 0; allowed: a whole number from 1 to 60000'],
  ])('%j is refused', (overrides, message) => {
    expect(() => loadConfig(contextWith(overrides))).toThrow(message);
  });
});
