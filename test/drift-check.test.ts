/**
 * The drift check as deployed: the endpoint's capture config, the capture bucket's retention, the schedule, and the
 * state machine, validated by asl-validator and executed offline by aws-local-stepfunctions. Its Task states are
 * answered by stand-ins that check each request against the service's API model (botocore's, from the venv) and by
 * the real Lambda handlers, with moto_server as S3 and CloudWatch; the "job" writes a drift.json the real `monitor`
 * wrote (test/fixtures/drift-report.json, from training-image/tests/test_monitor.py).
 */
import * as sagemaker from '@aws-cdk/aws-sagemaker-alpha';
import { CloudWatchClient, GetMetricStatisticsCommand, ListMetricsCommand } from '@aws-sdk/client-cloudwatch';
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as fs from 'fs';
import * as path from 'path';

import { DataCaptureProps, InferenceEndpoint } from '../constructs/serving/inference-endpoint';
import { ModelArtifact } from '../constructs/training/model-artifact';
import { ConfigError, loadConfig } from '../lib/config';
import { loadServiceModel } from '../local/api-model/service-model';
import { validateInput, validateOutput } from '../local/api-model/validate-input';
import { aslProblems, definitionOf, deploymentOf, runStateMachine, stateMachineWith } from '../local/state-machine/state-machine-runner';
import { CfnTemplate } from './support/cfn-template';
import { MotoServer, startMoto } from './support/moto-server';
import { buildTestPlatform, contextWith, stacksOf } from './support/platform';

/** Untyped template JSON, as Template.toJSON() returns it. */
type Json = ReturnType<Template['toJSON']>[string];
type HandlerModule<T> = { handler: (event: unknown) => Promise<T> };
const FIXTURE = path.join(__dirname, 'fixtures', 'drift-report.json');
const S3_MODEL = loadServiceModel('s3');
const SAGEMAKER_MODEL = loadServiceModel('sagemaker');

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const SERVED = `arn:aws:sagemaker:${REGION}:${ACCOUNT}:model-package/dlplatform-models-0123456789ab/3`;
const MODEL_URL = `s3://dlplatform-model-0123/models/dlplatform-training-train-0123456789abcdef/output/model.tar.gz`;

function only(template: Template, type: string): { id: string; props: Record<string, Json> } {
  const found = template.findResources(type);
  const ids = Object.keys(found);
  expect(ids).toHaveLength(1);
  return { id: ids[0], props: found[ids[0]].Properties };
}

describe('capture and drift check (defaults)', () => {
  const { platform } = buildTestPlatform();
  const serving = Template.fromStack(platform.serving);
  const data = Template.fromStack(platform.data);
  const monitoring = Template.fromStack(platform.monitoring);

  test('the endpoint config captures requests and answers, JSON and CSV as text, encrypted with the platform key', () => {
    const config = only(serving, 'AWS::SageMaker::EndpointConfig').props;
    expect(config.DataCaptureConfig).toEqual({
      EnableCapture: true,
      InitialSamplingPercentage: 100,
      DestinationS3Uri: { 'Fn::Join': ['', ['s3://', expect.anything(), '/capture']] },
      KmsKeyId: expect.objectContaining({ 'Fn::GetStackOutput': expect.objectContaining({ StackName: 'DlPlatform-Data' }) }),
      CaptureOptions: [{ CaptureMode: 'Input' }, { CaptureMode: 'Output' }],
      CaptureContentTypeHeader: { JsonContentTypes: ['application/json'], CsvContentTypes: ['text/csv'] },
    });
    expect(JSON.stringify(config.DataCaptureConfig.KmsKeyId)).toMatch(/Key\w*Arn/);
    expect(JSON.stringify(config.DataCaptureConfig.DestinationS3Uri)).toMatch(/CaptureBucket/);
  });

  test("the model's role may write captured traffic and read none of it back", () => {
    const role = only(serving, 'AWS::SageMaker::Model').props.ExecutionRoleArn['Fn::GetAtt'][0];
    const statements = Object.values(serving.findResources('AWS::IAM::Policy'))
      .filter((p) => p.Properties.Roles.some((r: Json) => r.Ref === role))
      .flatMap((p) => p.Properties.PolicyDocument.Statement);
    const onCapture = statements.filter((s: Json) => JSON.stringify(s.Resource).includes('CaptureBucket'));
    expect(onCapture).toEqual([expect.objectContaining({ Action: 's3:PutObject', Effect: 'Allow' })]);
    expect(JSON.stringify(onCapture[0].Resource)).toContain('/capture/*');
  });

  test('the capture bucket keeps captured traffic 30 days, old versions one day more, encrypted and private', () => {
    const buckets = data.findResources('AWS::S3::Bucket');
    const [capture] = Object.entries(buckets)
      .filter(([id]) => id.startsWith('CaptureBucket'))
      .map(([, b]) => b.Properties);
    expect(capture.LifecycleConfiguration.Rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Id: 'expire-captured-data', ExpirationInDays: 30, Status: 'Enabled' }),
        expect.objectContaining({ Id: 'expire-noncurrent-versions', NoncurrentVersionExpiration: { NoncurrentDays: 1 } }),
      ]),
    );
    expect(capture.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe('aws:kms');
    expect(capture.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
  });

  test('EventBridge Scheduler starts the state machine at 5 past every hour with the scheduled time, while a model is served', () => {
    const schedule = serving.findResources('AWS::Scheduler::Schedule');
    const [[, resource]] = Object.entries(schedule);
    expect(resource.Condition).toBe('HasApprovedModel');
    expect(resource.Properties.ScheduleExpression).toBe('cron(5 * * * ? *)');
    expect(resource.Properties.Target.Arn).toEqual({ Ref: stateMachineWith(serving.toJSON() as CfnTemplate, 'Window of this run') });
    expect(JSON.parse(resource.Properties.Target.Input)).toEqual({ time: '<aws.scheduler.scheduled-time>' });
    // The role it starts the run with: only Scheduler, for this account's default schedule group (the schedule's).
    const role = serving.toJSON().Resources[resource.Properties.Target.RoleArn['Fn::GetAtt'][0]];
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      expect.objectContaining({
        Principal: { Service: 'scheduler.amazonaws.com' },
        Condition: {
          StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
          ArnEquals: {
            'aws:SourceArn': {
              'Fn::Join': [
                '',
                [
                  'arn:',
                  { Ref: 'AWS::Partition' },
                  ':scheduler:',
                  { Ref: 'AWS::Region' },
                  ':',
                  { Ref: 'AWS::AccountId' },
                  ':schedule-group/default',
                ],
              ],
            },
          },
        },
      }),
    ]);
  });

  test('driftCheckSchedule=daily checks each UTC day after midnight', () => {
    const daily = buildTestPlatform({ driftCheckSchedule: 'daily' });
    const [resource] = Object.values(Template.fromStack(daily.platform.serving).findResources('AWS::Scheduler::Schedule'));
    expect(resource.Properties.ScheduleExpression).toBe('cron(5 0 * * ? *)');
    expect(daily.platform.serving.drift?.windowLength.toHours()).toBe(24);
  });

  test('alarms on drifted features, prediction drift, invalid inputs and failed runs go to the responder and the topic', () => {
    const alarms = monitoring.findResources('AWS::CloudWatch::Alarm');
    const drift = Object.values(alarms)
      .map((a) => a.Properties)
      .filter((p) => /-drift-/.test(p.AlarmName));
    const byName = Object.fromEntries(drift.map((p) => [p.AlarmName.replace(/^DlPlatform-Monitoring-/, ''), p]));
    expect(Object.keys(byName).sort()).toEqual(['drift-check-failed', 'drift-features', 'drift-invalid-input', 'drift-prediction']);
    expect(byName['drift-features']).toEqual(
      expect.objectContaining({
        Namespace: 'DlPlatform/Drift',
        MetricName: 'DriftedFeatures',
        Threshold: 1,
        Period: 3600,
        Statistic: 'Maximum',
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      }),
    );
    expect(byName['drift-prediction']).toEqual(expect.objectContaining({ MetricName: 'PredictionDrift', Threshold: 0.25 }));
    expect(byName['drift-invalid-input']).toEqual(expect.objectContaining({ MetricName: 'InvalidInputRate', Threshold: 0.05 }));
    expect(byName['drift-check-failed']).toEqual(expect.objectContaining({ Namespace: 'AWS/States', MetricName: 'ExecutionsFailed' }));
    const responder = only(monitoring, 'AWS::Lambda::Function').id;
    for (const alarm of drift) {
      const actions = JSON.stringify(alarm.AlarmActions);
      expect(actions).toContain(responder);
      expect(actions).toContain('AlarmTopic');
      expect(alarm.OKActions).toEqual(alarm.AlarmActions);
      expect(alarm.AlarmDescription).toMatch(/Runbook: docs\/runbook\.md#drift-/);
    }
    for (const name of ['drift-features', 'drift-prediction', 'drift-invalid-input']) {
      expect(byName[name].Dimensions).toEqual(
        expect.arrayContaining([expect.objectContaining({ Name: 'EndpointName' }), { Name: 'VariantName', Value: 'AllTraffic' }]),
      );
    }
    // What a retraining workflow starts on.
    expect(platform.monitoring.alarms.driftAlarms.map((a) => a.node.id)).toEqual(['DriftedFeatures', 'PredictionDrift']);
  });

  test('the dashboard graphs every drift metric of the served variant', () => {
    const [dashboard] = Object.values(monitoring.findResources('AWS::CloudWatch::Dashboard'));
    const body = (dashboard.Properties.DashboardBody['Fn::Join'][1] as unknown[])
      .map((part) => (typeof part === 'string' ? part : `<${JSON.stringify(part)}>`))
      .join('');
    for (const name of [
      'MaxFeatureDrift',
      'PredictionDrift',
      'Records',
      'DriftedFeatures',
      'InvalidInputRate',
      'MaxMissingRate',
      'MaxOutOfRangeRate',
    ]) {
      expect(body).toMatch(
        new RegExp(
          `"DlPlatform/Drift","${name}","EndpointName","<\\{"Fn::GetStackOutput":\\{"StackName":"DlPlatform-Serving"[^>]*>","VariantName","AllTraffic",\\{"label":"[^"]+","period":3600,"stat":"Maximum"\\}`,
        ),
      );
    }
  });

  test("the metrics function may read only the check's reports and publish only to the drift namespace", () => {
    const publish = Object.entries(serving.findResources('AWS::Lambda::Function')).find(([id]) => id.startsWith('DriftPublish'))!;
    const role = publish[1].Properties.Role['Fn::GetAtt'][0];
    const statements = Object.values(serving.findResources('AWS::IAM::Policy'))
      .filter((p) => p.Properties.Roles.some((r: Json) => r.Ref === role))
      .flatMap((p) => p.Properties.PolicyDocument.Statement);
    const reads = statements.filter((s: Json) => [s.Action].flat().includes('s3:GetObject'));
    expect(reads).toHaveLength(1);
    expect(JSON.stringify(reads[0].Resource)).toContain('/drift-reports/dlplatform-serving-drift-*');
    expect(statements.filter((s: Json) => [s.Action].flat().some((a: string) => a.startsWith('s3:') && a !== 's3:GetObject'))).toEqual([]);
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: 'cloudwatch:PutMetricData',
        Resource: '*',
        Condition: { StringEquals: { 'cloudwatch:namespace': 'DlPlatform/Drift' } },
      }),
    );
  });

  describe('the state machine', () => {
    // The stacks as one deployment evaluates them, with the serving pointer (an SSM parameter) naming a served version.
    const pointer = String((serving.toJSON() as CfnTemplate).Parameters!.ServedModelPackage.Default);
    const deployment = deploymentOf(stacksOf(platform), { account: ACCOUNT, region: REGION }, { [pointer]: SERVED });
    const deployed = deployment.stack(platform.serving.stackName);
    // The serving stack has two state machines (the rollout reconciler's too): the drift check's is the one with its first state.
    const definition = definitionOf(deployed, 'Window of this run');
    const captureBucketId = Object.keys(data.findResources('AWS::S3::Bucket')).find((id) => id.startsWith('CaptureBucket'))!;
    const BUCKET = deployment.stack(platform.data.stackName).physicalName(captureBucketId);
    // The platform key, as the capture config names it.
    const KEY_ARN = deployed.evaluate(
      only(serving, 'AWS::SageMaker::EndpointConfig').props.DataCaptureConfig.KmsKeyId,
      'DataCaptureConfig.KmsKeyId',
    );
    const endpointName = deployed.physicalName(only(serving, 'AWS::SageMaker::Endpoint').id);
    let moto: MotoServer;
    let s3: S3Client;
    let cloudwatch: CloudWatchClient;
    const savedEnv = { ...process.env };
    const requests: Record<string, Record<string, unknown>[]> = {};
    const publishFn = Object.entries(serving.findResources('AWS::Lambda::Function')).find(([id]) => id.startsWith('DriftPublish'))![1];

    /** The Task states' answers: API-model-checked stand-ins, the real handlers, and a "job" that writes the report. */
    function handlers(publish: HandlerModule<unknown>, window: HandlerModule<unknown>) {
      const keep = (state: string, input: Record<string, unknown>) => {
        (requests[state] ??= []).push(input);
      };
      return {
        'Window of this run': (input: Record<string, unknown>) => {
          keep('window', input);
          return window.handler(input);
        },
        'Any capture files': async (input: Record<string, unknown>) => {
          keep('list', input);
          expect(validateInput(S3_MODEL, 'ListObjectsV2', input)).toEqual([]);
          return s3.send(new ListObjectsV2Command(input as never));
        },
        'Served model': (input: Record<string, unknown>) => {
          keep('describe', input);
          expect(validateInput(SAGEMAKER_MODEL, 'DescribeModelPackage', input)).toEqual([]);
          const output = {
            ModelPackageName: 'dlplatform-models-0123456789ab',
            ModelPackageArn: input.ModelPackageName,
            CreationTime: 1767225600,
            ModelPackageStatus: 'Completed',
            ModelPackageStatusDetails: { ValidationStatuses: [] },
            InferenceSpecification: {
              Containers: [{ Image: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/img:1`, ModelDataUrl: MODEL_URL }],
              SupportedContentTypes: ['application/json'],
              SupportedResponseMIMETypes: ['application/json'],
            },
          };
          expect(validateOutput(SAGEMAKER_MODEL, 'DescribeModelPackage', output)).toEqual([]);
          return output;
        },
        'Check drift': async (input: Record<string, unknown>) => {
          keep('job', input);
          expect(validateInput(SAGEMAKER_MODEL, 'CreateProcessingJob', input)).toEqual([]);
          // The job ran: SageMaker uploads what monitor wrote to the output's S3Uri.
          const uri = (input as Json).ProcessingOutputConfig.Outputs[0].S3Output.S3Uri as string;
          const [, bucket, prefix] = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri)!;
          await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}drift.json`, Body: fs.readFileSync(FIXTURE) }));
          return { ProcessingJobName: input.ProcessingJobName, ProcessingJobStatus: 'Completed' };
        },
        'Publish metrics': (input: Record<string, unknown>) => {
          keep('publish', input);
          return publish.handler(input);
        },
      };
    }

    function load<T>(file: string): HandlerModule<T> {
      let mod: HandlerModule<T> | undefined;
      jest.isolateModules(() => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        mod = require(`../constructs/drift/runtime/${file}`);
      });
      return mod!;
    }

    beforeAll(async () => {
      moto = await startMoto();
      Object.assign(process.env, {
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
        AWS_REGION: REGION,
        AWS_ENDPOINT_URL_S3: moto.endpoint,
        AWS_ENDPOINT_URL_CLOUDWATCH: moto.endpoint,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        // The function's environment as deployed.
        ...(deployed.evaluate(publishFn.Properties.Environment.Variables, 'DriftPublish.Environment.Variables') as Record<string, string>),
      });
      s3 = new S3Client({ forcePathStyle: true });
      cloudwatch = new CloudWatchClient({});
      await s3.send(new CreateBucketCommand({ Bucket: BUCKET, CreateBucketConfiguration: { LocationConstraint: REGION } }));
    });

    afterAll(async () => {
      s3?.destroy();
      cloudwatch?.destroy();
      await moto?.stop();
      process.env = savedEnv;
    });

    test('is valid Amazon States Language', () => {
      expect(aslProblems(definition)).toEqual([]);
      expect(Object.keys(definition.States as object)).toEqual(
        expect.arrayContaining(['Window of this run', 'Any capture files', 'Check drift', 'Publish metrics']),
      );
    });

    test('a window without capture files ends without a job', async () => {
      const run = await runStateMachine(
        definition,
        { time: '2026-03-01T09:05:00Z' },
        handlers(load('drift-metrics.handler'), load('drift-window.handler')),
      );
      expect(run).toMatchObject({ status: 'SUCCEEDED' });
      expect(run.states).toEqual(['Window of this run', 'Any capture files', 'Traffic captured?', 'No capture in the window']);
      expect(requests.list.at(-1)).toEqual({ Bucket: BUCKET, Prefix: `capture/${endpointName}/AllTraffic/2026/03/01/08/`, MaxKeys: 1 });
    });

    test("a captured hour runs monitor on that hour's folder, network-isolated, and publishes the report's metrics", async () => {
      const capturePrefix =
        (requests.window?.[0]?.capturePrefix as string | undefined) ??
        (definition.States as Json)['Window of this run'].Parameters.capturePrefix;
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${capturePrefix}2026/03/01/13/41-23-456-abc.jsonl`, Body: '{}\n' }));
      const run = await runStateMachine(
        definition,
        { time: '2026-03-01T14:05:00Z' },
        handlers(load('drift-metrics.handler'), load('drift-window.handler')),
      );
      expect(run).toMatchObject({ status: 'SUCCEEDED' });
      expect(run.states).toEqual([
        'Window of this run',
        'Any capture files',
        'Traffic captured?',
        'Served model',
        'Check drift',
        'Publish metrics',
      ]);

      expect(requests.describe.at(-1)).toEqual({ ModelPackageName: SERVED });
      const job = requests.job.at(-1) as Json;
      expect(job.ProcessingJobName).toMatch(/^dlplatform-serving-drift-2026030113-[0-9a-f]{8}$/);
      expect(job.AppSpecification.ContainerArguments).toEqual(['monitor']);
      expect(job.Environment).toEqual({ MONITOR_MIN_RECORDS: '200', MONITOR_DRIFT_THRESHOLD: '0.25' });
      expect(job.NetworkConfig.EnableNetworkIsolation).toBe(true);
      expect(job.ProcessingInputs).toEqual([
        expect.objectContaining({
          InputName: 'capture',
          S3Input: expect.objectContaining({
            S3Uri: `s3://${BUCKET}/${capturePrefix}2026/03/01/13/`,
            LocalPath: '/opt/ml/processing/input/capture',
          }),
        }),
        expect.objectContaining({
          InputName: 'model',
          S3Input: expect.objectContaining({ S3Uri: MODEL_URL, LocalPath: '/opt/ml/processing/input/model' }),
        }),
      ]);
      expect(job.ProcessingOutputConfig.KmsKeyId).toBe(KEY_ARN);
      expect(job.ProcessingResources.ClusterConfig.VolumeKmsKeyId).toBe(KEY_ARN);

      const fixture = JSON.parse(fs.readFileSync(FIXTURE, 'utf8'));
      expect((run.output as Json).published).toEqual({ status: fixture.status, metrics: fixture.metrics });
      const listed = await cloudwatch.send(new ListMetricsCommand({ Namespace: 'DlPlatform/Drift' }));
      expect(listed.Metrics!.map((m) => m.MetricName).sort()).toEqual(Object.keys(fixture.metrics).sort());
      const endpointName = (definition.States as Json)['Publish metrics'].Parameters.endpointName;
      const stats = await cloudwatch.send(
        new GetMetricStatisticsCommand({
          Namespace: 'DlPlatform/Drift',
          MetricName: 'DriftedFeatures',
          Statistics: ['Maximum'],
          Period: 3600,
          StartTime: new Date(Date.now() - 3_600_000),
          EndTime: new Date(Date.now() + 60_000),
          Dimensions: [
            { Name: 'EndpointName', Value: endpointName },
            { Name: 'VariantName', Value: 'AllTraffic' },
          ],
        }),
      );
      expect(stats.Datapoints!.map((d) => d.Maximum)).toEqual([fixture.metrics.DriftedFeatures]);
    });
  });
});

describe('capture and drift settings', () => {
  test('captureSamplingPercentage=0 captures nothing and schedules no check and no drift alarm', () => {
    const { platform } = buildTestPlatform({ captureSamplingPercentage: 0 });
    const serving = Template.fromStack(platform.serving);
    expect(only(serving, 'AWS::SageMaker::EndpointConfig').props.DataCaptureConfig).toBeUndefined();
    expect(serving.findResources('AWS::Scheduler::Schedule')).toEqual({});
    // The serving stack's one state machine is the rollout reconciler's: no drift check.
    const machines = Object.values(serving.findResources('AWS::StepFunctions::StateMachine')).map((r) =>
      JSON.stringify(r.Properties.DefinitionString),
    );
    expect(machines).toHaveLength(1);
    expect(machines[0]).toContain('\\"Newest approved version\\"');
    expect(machines[0]).not.toContain('Window of this run');
    expect(platform.monitoring.alarms.driftAlarms).toEqual([]);
  });

  test('sampling, retention, schedule and thresholds reach the endpoint config, the bucket, the job and the alarms', () => {
    const { platform } = buildTestPlatform({
      captureSamplingPercentage: '20',
      captureRetentionDays: 7,
      driftMinRecords: 500,
      driftThreshold: 0.2,
      alarmInvalidInputRate: 0.1,
    });
    expect(
      only(Template.fromStack(platform.serving), 'AWS::SageMaker::EndpointConfig').props.DataCaptureConfig.InitialSamplingPercentage,
    ).toBe(20);
    const [capture] = Object.entries(Template.fromStack(platform.data).findResources('AWS::S3::Bucket')).filter(([id]) =>
      id.startsWith('CaptureBucket'),
    );
    expect(capture[1].Properties.LifecycleConfiguration.Rules).toContainEqual(
      expect.objectContaining({ Id: 'expire-captured-data', ExpirationInDays: 7 }),
    );
    const definition = JSON.stringify(Template.fromStack(platform.serving).toJSON());
    expect(definition).toContain('\\"MONITOR_MIN_RECORDS\\":\\"500\\",\\"MONITOR_DRIFT_THRESHOLD\\":\\"0.2\\"');
    const alarms = Object.values(Template.fromStack(platform.monitoring).findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    expect(alarms.find((a) => a.MetricName === 'PredictionDrift').Threshold).toBe(0.2);
    expect(alarms.find((a) => a.MetricName === 'InvalidInputRate').Threshold).toBe(0.1);
  });

  test.each([
    ['captureSamplingPercentage', 101, 'a whole number from 0 to 100'],
    ['captureSamplingPercentage', 12.5, 'a whole number from 0 to 100'],
    ['captureRetentionDays', 0, 'a whole number from 1 to 3650'],
    ['driftCheckSchedule', 'weekly', 'hourly, daily'],
    ['driftMinRecords', 0, 'a whole number from 1 to 1000000000'],
    ['driftThreshold', 0, 'a number from 0.0001 to 100'],
    ['alarmInvalidInputRate', 2, 'a number from 0.0001 to 1'],
  ])('refuses %s=%p naming the setting and what is allowed', (name, value, allowed) => {
    expect(() => loadConfig(contextWith({ [name]: value }))).toThrow(ConfigError);
    expect(() => loadConfig(contextWith({ [name]: value }))).toThrow(new RegExp(`Invalid setting "${name}".*${allowed}`));
  });
});

describe('InferenceEndpoint dataCapture', () => {
  function endpointWith(capture: Partial<DataCaptureProps>): Template {
    const stack = new Stack(new App(), 'Test');
    const encryptionKey = new kms.Key(stack, 'Key');
    const bucket = new s3.Bucket(stack, 'Capture');
    new InferenceEndpoint(stack, 'Endpoint', {
      image: sagemaker.ContainerImage.fromEcrRepository(ecr.Repository.fromRepositoryName(stack, 'Repo', 'model'), 'v1'),
      modelData: new ModelArtifact({
        bucket: s3.Bucket.fromBucketName(stack, 'Bucket', 'bucket'),
        key: 'jobs/job-1/output/model.tar.gz',
        encryptionKey,
      }),
      encryptionKey,
      dataCapture: { bucket, prefix: 'capture/', samplingPercentage: 100, encryptionKey, ...capture },
    });
    return Template.fromStack(stack);
  }

  test("an empty prefix captures at the bucket's root", () => {
    const config = only(endpointWith({ prefix: '' }), 'AWS::SageMaker::EndpointConfig').props;
    expect(config.DataCaptureConfig.DestinationS3Uri).toEqual({ 'Fn::Join': ['', ['s3://', { Ref: expect.stringMatching(/^Capture/) }]] });
  });

  test.each([
    [
      { samplingPercentage: 101 },
      /invalid dataCapture\.samplingPercentage 101; allowed: a whole number from 0 to 100 \(see https:\/\/docs\.aws\.amazon\.com\/sagemaker\/latest\/APIReference\/API_DataCaptureConfig\.html\)/,
    ],
    [{ samplingPercentage: 2.5 }, /invalid dataCapture\.samplingPercentage 2\.5/],
    [{ prefix: 'capture' }, /invalid dataCapture\.prefix "capture"; allowed: empty, or key folders ending in "\/"/],
  ])('refuses %p naming the construct, the prop and the rule', (capture, message) => {
    expect(() => endpointWith(capture)).toThrow(/InferenceEndpoint at Test\/Endpoint: /);
    expect(() => endpointWith(capture)).toThrow(message);
  });
});
