/** The TrainingJob construct on its own: identity, secure defaults and their overrides, and prop validation. */
import { App, Duration, Lazy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { TrainingJob, TrainingJobProps } from '../constructs/training/training-job';
import { loadServiceModel } from '../local/api-model/service-model';
import { validateInput } from '../local/api-model/validate-input';
import { contextWith } from './support/platform';
import { evaluate } from './support/training-job-events';

const KEY = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const METRICS = [{ name: 'test_accuracy', regex: 'test_accuracy=([0-9.]+);' }];
const imageDir = fs.mkdtempSync(path.join(os.tmpdir(), 'training-image-'));
fs.writeFileSync(path.join(imageDir, 'Dockerfile'), 'FROM scratch\n');

interface Built {
  readonly job: TrainingJob;
  readonly template: Template;
  readonly request: Record<string, Record<string, unknown>>;
}

/** A TrainingJob in a stack of its own (bundling skipped: these tests look at the template only). */
function build(props: Partial<TrainingJobProps> = {}, dockerfile = 'FROM scratch\n'): Built {
  fs.writeFileSync(path.join(imageDir, 'Dockerfile'), dockerfile);
  const app = new App({ context: contextWith() });
  const stack = new Stack(app, 'Ml-Training');
  const job = new TrainingJob(stack, 'Job', {
    image: new ecrAssets.DockerImageAsset(stack, 'Image', { directory: imageDir }),
    data: { bucket: s3.Bucket.fromBucketName(stack, 'Data', 'data-bucket'), prefix: 'digits/v1/', version: 'v1' },
    outputBucket: s3.Bucket.fromBucketName(stack, 'Models', 'model-bucket'),
    encryptionKey: kms.Key.fromKeyArn(stack, 'Key', KEY),
    metricDefinitions: METRICS,
    ...props,
  });
  const template = Template.fromStack(stack);
  const start = Object.values(template.findResources('Custom::SageMakerTrainingJob', { Properties: { Phase: 'start' } }))[0];
  return { job, template, request: JSON.parse(evaluate(start.Properties.CreateTrainingJobRequest) as string) };
}

function actionsOf(template: Template): string[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) =>
    p.Properties.PolicyDocument.Statement.flatMap((s: { Action: string | string[] }) => [s.Action].flat()),
  );
}

afterAll(() => fs.rmSync(imageDir, { recursive: true, force: true }));

describe('TrainingJob', () => {
  const base = build();

  test("derives a job name within SageMaker's 63-character rule from the stack name and a hash of the inputs", () => {
    expect(base.job.trainingJobName).toMatch(/^ml-training-[0-9a-f]{16}$/);
    expect(base.job.trainingJobName).toMatch(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/);
    expect(build().job.trainingJobName).toBe(base.job.trainingJobName);
    const longest = build({ jobNamePrefix: 'a'.repeat(40) }).job.trainingJobName;
    expect(longest.length).toBeLessThanOrEqual(63);
  });

  const SAME_IMAGE = 'FROM scratch\n';
  test.each<[string, Partial<TrainingJobProps>, string]>([
    ['the image', {}, 'FROM scratch\nLABEL v=2\n'],
    [
      'the data version',
      { data: { bucket: s3.Bucket.fromBucketName(new Stack(), 'D', 'data-bucket'), prefix: 'digits/v1/', version: 'v2' } },
      SAME_IMAGE,
    ],
    [
      'the data location',
      { data: { bucket: s3.Bucket.fromBucketName(new Stack(), 'D', 'data-bucket'), prefix: 'digits/v9/', version: 'v1' } },
      SAME_IMAGE,
    ],
    ['a hyperparameter', { hyperparameters: { epochs: '30' } }, SAME_IMAGE],
    ['the instance type', { instanceType: 'ml.g5.xlarge' }, SAME_IMAGE],
    ['the instance count', { instanceCount: 2 }, SAME_IMAGE],
    ['the attempt', { attempt: 2 }, SAME_IMAGE],
  ])('a change of %s starts a new job (new name)', (_what, props, dockerfile) => {
    expect(build(props, dockerfile).job.trainingJobName).not.toBe(base.job.trainingJobName);
  });

  test.each<[string, Partial<TrainingJobProps>]>([
    ['the volume size', { volumeSizeGb: 100 }],
    ['the stopping conditions', { maxRuntime: Duration.minutes(30), maxWait: Duration.minutes(45) }],
    ['spot training', { useSpot: false }],
    ['the wait limit', { timeout: Duration.minutes(100) }],
  ])('a change of %s keeps the job (same name)', (_what, props) => {
    expect(build(props).job.trainingJobName).toBe(base.job.trainingJobName);
  });

  test('defaults: one ml.p3.2xlarge, spot with checkpoints, network isolation, the key for output and volume', () => {
    expect(base.request.ResourceConfig).toEqual({
      InstanceType: 'ml.p3.2xlarge',
      InstanceCount: 1,
      VolumeSizeInGB: 30,
      VolumeKmsKeyId: KEY,
    });
    expect(base.request.EnableManagedSpotTraining).toBe(true);
    expect(base.request.StoppingCondition).toEqual({ MaxRuntimeInSeconds: 3600, MaxWaitTimeInSeconds: 5400 });
    expect(base.request.CheckpointConfig).toEqual({
      S3Uri: `s3://model-bucket/checkpoints/${base.job.trainingJobName}/`,
      LocalPath: '/opt/ml/checkpoints',
    });
    expect(base.request.EnableNetworkIsolation).toBe(true);
    expect(base.request.EnableInterContainerTrafficEncryption).toBe(false);
    expect(base.request.OutputDataConfig).toEqual({ S3OutputPath: 's3://model-bucket/models/', KmsKeyId: KEY });
  });

  test('instance types with NVMe instance storage get no volume key, and the role no kms:CreateGrant', () => {
    const g5 = build({ instanceType: 'ml.g5.2xlarge' });
    expect(g5.request.ResourceConfig.VolumeKmsKeyId).toBeUndefined();
    expect(g5.request.OutputDataConfig.KmsKeyId).toBe(KEY);
    expect(actionsOf(g5.template)).not.toContain('kms:CreateGrant');
    expect(actionsOf(base.template)).toContain('kms:CreateGrant');
  });

  test("the handler may start a job only with the request's output and volume keys, under keys that apply to CreateTrainingJob", () => {
    // sagemaker:OutputKmsKey is deprecated and in no action's request, so a condition on it denied every start.
    const createCondition = (template: Template) =>
      Object.values(template.findResources('AWS::IAM::Policy'))
        .flatMap((p) => p.Properties.PolicyDocument.Statement as Array<{ Action: unknown; Condition?: unknown }>)
        .find((s) => s.Action === 'sagemaker:CreateTrainingJob')?.Condition;
    expect(createCondition(base.template)).toEqual({
      Bool: { 'sagemaker:NetworkIsolation': 'true' },
      ArnEquals: { 'sagemaker:OutputKmsKeyArn': KEY, 'sagemaker:VolumeKmsKeyArn': KEY },
    });
    // No volume key in the request (NVMe instance storage): a condition on one would deny the start.
    expect(createCondition(build({ instanceType: 'ml.g5.2xlarge' }).template)).toEqual({
      Bool: { 'sagemaker:NetworkIsolation': 'true' },
      ArnEquals: { 'sagemaker:OutputKmsKeyArn': KEY },
    });
  });

  test('more than one instance encrypts the traffic between them', () => {
    expect(build({ instanceCount: 4 }).request.EnableInterContainerTrafficEncryption).toBe(true);
  });

  test('without spot there is no MaxWait', () => {
    expect(build({ useSpot: false }).request).toEqual(
      expect.objectContaining({
        EnableManagedSpotTraining: false,
        StoppingCondition: { MaxRuntimeInSeconds: 3600 },
      }),
    );
  });

  test('a VPC config places the job in the subnets and lets the role manage its network interfaces', () => {
    const vpc = build({ vpcConfig: { subnetIds: ['subnet-0123456789abcdef0'], securityGroupIds: ['sg-0123456789abcdef0'] } });
    expect(vpc.request.VpcConfig).toEqual({ Subnets: ['subnet-0123456789abcdef0'], SecurityGroupIds: ['sg-0123456789abcdef0'] });
    expect(actionsOf(vpc.template)).toEqual(expect.arrayContaining(['ec2:CreateNetworkInterface', 'ec2:DeleteNetworkInterface']));
    expect(base.request.VpcConfig).toBeUndefined();
    expect(actionsOf(base.template).filter((a) => a.startsWith('ec2:'))).toEqual([]);
  });

  test("network isolation can be turned off, and then the handler's create permission no longer demands it", () => {
    const open = build({ networkIsolation: false });
    expect(open.request.EnableNetworkIsolation).toBe(false);
    const statements = Object.values(open.template.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
    const create = statements.find((s: { Action: string }) => s.Action === 'sagemaker:CreateTrainingJob');
    expect(create.Condition.Bool).toBeUndefined();
  });

  test('a given role is used as is, and the handler may pass only that role', () => {
    const app = new App({ context: contextWith() });
    const stack = new Stack(app, 'Own');
    const role = iam.Role.fromRoleArn(stack, 'Role', 'arn:aws:iam::123456789012:role/my-training-role');
    new TrainingJob(stack, 'Job', {
      image: new ecrAssets.DockerImageAsset(stack, 'Image', { directory: imageDir }),
      data: { bucket: s3.Bucket.fromBucketName(stack, 'Data', 'data-bucket'), prefix: 'digits/', version: 'v1' },
      outputBucket: s3.Bucket.fromBucketName(stack, 'Models', 'model-bucket'),
      encryptionKey: kms.Key.fromKeyArn(stack, 'Key', KEY),
      role,
    });
    const template = Template.fromStack(stack);
    template.resourcePropertiesCountIs(
      'AWS::IAM::Role',
      { AssumeRolePolicyDocument: { Statement: [{ Principal: { Service: 'sagemaker.amazonaws.com' } }] } },
      0,
    );
    const passRole = Object.values(template.findResources('AWS::IAM::Policy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement)
      .find((s: { Action: string }) => s.Action === 'iam:PassRole');
    expect(passRole.Resource).toBe('arn:aws:iam::123456789012:role/my-training-role');
  });

  test('a wait of up to 55 minutes is one resource; longer is split into phases of at most 55', () => {
    const phases = (timeout: Duration) =>
      Object.values(
        build({ timeout, maxWait: Duration.minutes(20), maxRuntime: Duration.minutes(20) }).template.findResources(
          'Custom::SageMakerTrainingJob',
        ),
      ).map((r) => r.Properties.WaitSeconds);
    expect(phases(Duration.minutes(55))).toEqual([3300]);
    expect(phases(Duration.minutes(56))).toEqual([3300, 60]);
    expect(phases(Duration.minutes(120))).toEqual([3300, 3300, 600]);
  });

  test.each<[string, Partial<TrainingJobProps>, RegExp]>([
    [
      'maxWait below maxRuntime',
      { maxRuntime: Duration.hours(1), maxWait: Duration.minutes(30) },
      /invalid maxWait "1800s"; allowed: at least maxRuntime \(3600s\)/,
    ],
    ['a timeout over 2 hours', { timeout: Duration.hours(3) }, /invalid timeout "10800s"; allowed: from 1 minute to 2 hours/],
    ['a job that may outlast the wait', { timeout: Duration.minutes(60) }, /invalid maxWait "5400s"; allowed: at most timeout \(3600s\)/],
    ['a job name prefix SageMaker rejects', { jobNamePrefix: 'My_Jobs' }, /invalid jobNamePrefix "My_Jobs"/],
    [
      'a data prefix with a leading slash',
      { data: { bucket: s3.Bucket.fromBucketName(new Stack(), 'D', 'data-bucket'), prefix: '/digits/', version: 'v1' } },
      /invalid data.prefix "\/digits\/"/,
    ],
    ['a query interval that does not fit', { queryInterval: Duration.seconds(2) }, /invalid queryInterval "2s"/],
  ])('rejects %s at synth, naming the prop', (_what, props, message) => {
    expect(() => build(props)).toThrow(message);
  });

  test('names the construct path and every broken prop, one line each', () => {
    expect(() => build({ instanceCount: 0, jobNamePrefix: 'My_Jobs' })).toThrow(
      new RegExp(
        [
          '^TrainingJob at Ml-Training/Job: invalid jobNamePrefix "My_Jobs"; allowed: lowercase letters',
          'TrainingJob at Ml-Training/Job: invalid instanceCount 0; allowed: a whole number of at least 1$',
        ].join('.*\n'),
        's',
      ),
    );
  });

  test('does not judge a prop known only at deploy time (an unresolved token)', () => {
    const deployTime = Lazy.string({ produce: () => 'digits/v1/' });
    const { request } = build({
      data: { bucket: s3.Bucket.fromBucketName(new Stack(), 'D', 'data-bucket'), prefix: deployTime, version: 'v1' },
    });
    expect(
      (request.InputDataConfig as unknown as { DataSource: { S3DataSource: { S3Uri: string } } }[])[0].DataSource.S3DataSource.S3Uri,
    ).toBe('s3://data-bucket/digits/v1/train/');
  });
});

describe("TrainingJob requests against SageMaker's published API model", () => {
  // The SDK drops members its model does not know, so these are the checks that see a misspelt or
  // out-of-range setting before SageMaker (or nobody) does.
  test.each<[string, Partial<TrainingJobProps>]>([
    ['the defaults', {}],
    ['on-demand training', { useSpot: false }],
    [
      'two instances with a volume key and inter-container encryption',
      { instanceType: 'ml.m5.xlarge', instanceCount: 2, interContainerTrafficEncryption: true },
    ],
    [
      'a VPC, hyperparameters, three channels and the longest name prefix',
      {
        vpcConfig: { subnetIds: ['subnet-0123456789abcdef0'], securityGroupIds: ['sg-0123456789abcdef0'] },
        hyperparameters: { epochs: '10', lr: '0.001' },
        data: {
          bucket: s3.Bucket.fromBucketName(new Stack(), 'D', 'data-bucket'),
          prefix: 'digits/v1/',
          version: 'v1',
          channels: ['train', 'validation', 'test'],
        },
        jobNamePrefix: 'a'.repeat(40),
      },
    ],
  ])('the CreateTrainingJob request for %s breaks no constraint of the model', (_name, props) => {
    expect(validateInput(loadServiceModel('sagemaker'), 'CreateTrainingJob', build(props).request)).toEqual([]);
  });
});
