/**
 * The prepare step: the ProcessingJob construct (request, identity, permissions) and the shared SageMaker job
 * handler running a processing job against the SageMaker API stand-in (every request checked against botocore's
 * sagemaker model).
 */
import { CreateModelPackageCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import * as path from 'path';

import { ProcessingJob, ProcessingJobProps } from '../constructs/training/processing-job';
import { ApprovedModelLookup } from '../constructs/training/runtime/job-requests';
import { waits } from '../constructs/training/runtime/role-propagation';
import { isComplete, onEvent } from '../constructs/training/runtime/sagemaker-job.handler';
import { loadServiceModel } from '../local/api-model/service-model';
import { validateInput } from '../local/api-model/validate-input';
import { buildTestPlatform } from './support/platform';
import { JobStep, pointSdkAt, SageMakerStandin } from './support/sagemaker-api-standin';
import { customResourceEvent, deliveredProperties, evaluate, KEY_ARN } from './support/training-job-events';

type Properties = Record<string, string> & { ServiceToken: string };

/** A ProcessingJob in a stack of its own (no bundling), with props changed by `change`. */
function prepareJob(change: Partial<ProcessingJobProps> | ((stack: Stack) => Partial<ProcessingJobProps>) = {}): {
  job: ProcessingJob;
  stack: Stack;
} {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Jobs', { env: { account: '123456789012', region: 'eu-west-1' } });
  const image = new ecrAssets.DockerImageAsset(stack, 'Image', {
    directory: path.join(__dirname, '..', 'training-image'),
    exclude: ['tests', '.venv', 'sample-data', 'bench'],
  });
  const bucket = s3.Bucket.fromBucketName(stack, 'Data', 'raw-data');
  const job = new ProcessingJob(stack, 'Prepare', {
    image,
    inputs: { data: { bucket, key: 'datasets/digits/data.csv', version: 'v1' } },
    outputs: ['data', 'report'],
    outputBucket: s3.Bucket.fromBucketName(stack, 'Out', 'prepared-data'),
    encryptionKey: kms.Key.fromKeyArn(stack, 'Key', KEY_ARN),
    environment: { PREPARE_SEED: '42', PREPARE_MISSING_VALUES: 'median' },
    ...(typeof change === 'function' ? change(stack) : change),
  });
  return { job, stack };
}

describe('ProcessingJob construct', () => {
  const { job, stack } = prepareJob();
  const template = Template.fromStack(stack);
  const [startId] = Object.keys(template.findResources('Custom::SageMakerProcessingJob', { Properties: { Phase: 'start' } }));
  const start = template.findResources('Custom::SageMakerProcessingJob')[startId];
  const request = JSON.parse(evaluate(stack.resolve(start.Properties.CreateProcessingJobRequest)) as string);

  test('runs the image with `prepare`, its settings as environment, reading the raw data and writing data and report', () => {
    expect(request.AppSpecification.ContainerArguments).toEqual(['prepare']);
    expect(request.Environment).toEqual({ PREPARE_SEED: '42', PREPARE_MISSING_VALUES: 'median' });
    expect(request.ProcessingInputs).toEqual([
      {
        InputName: 'data',
        S3Input: {
          S3Uri: 's3://raw-data/datasets/digits/data.csv',
          LocalPath: '/opt/ml/processing/input/data',
          S3DataType: 'S3Prefix',
          S3InputMode: 'File',
          S3DataDistributionType: 'FullyReplicated',
          S3CompressionType: 'None',
        },
      },
    ]);
    expect(request.ProcessingOutputConfig).toEqual({
      Outputs: [
        {
          OutputName: 'data',
          S3Output: {
            S3Uri: `s3://prepared-data/prepared/${job.processingJobName}/data/`,
            LocalPath: '/opt/ml/processing/output/data',
            S3UploadMode: 'EndOfJob',
          },
        },
        {
          OutputName: 'report',
          S3Output: {
            S3Uri: `s3://prepared-data/prepared/${job.processingJobName}/report/`,
            LocalPath: '/opt/ml/processing/output/report',
            S3UploadMode: 'EndOfJob',
          },
        },
      ],
      KmsKeyId: KEY_ARN,
    });
  });

  test('isolates the container, encrypts outputs and volume with the key, and bounds the runtime', () => {
    expect(request.NetworkConfig).toEqual({ EnableNetworkIsolation: true, EnableInterContainerTrafficEncryption: false });
    expect(request.ProcessingResources.ClusterConfig).toEqual({
      InstanceCount: 1,
      InstanceType: 'ml.m5.large',
      VolumeSizeInGB: 30,
      VolumeKmsKeyId: KEY_ARN,
    });
    expect(request.StoppingCondition).toEqual({ MaxRuntimeInSeconds: 3600 });
  });

  test("the synthesized CreateProcessingJob request holds only members SageMaker's API model defines, within their constraints", () => {
    expect(validateInput(loadServiceModel('sagemaker'), 'CreateProcessingJob', request)).toEqual([]);
  });

  test('the same inputs give the same name; a new image, data version, setting or attempt gives a new one; the instance type does not', () => {
    expect(job.processingJobName).toMatch(/^jobs-prepare-[0-9a-f]{16}$/);
    expect(prepareJob().job.processingJobName).toBe(job.processingJobName);
    expect(prepareJob({ instanceType: 'ml.m5.xlarge' }).job.processingJobName).toBe(job.processingJobName);
    const others = [
      prepareJob({ environment: { PREPARE_SEED: '7', PREPARE_MISSING_VALUES: 'median' } }),
      prepareJob({ attempt: 2 }),
      prepareJob({ containerArguments: ['evaluate'] }),
      prepareJob({
        inputs: {
          data: { bucket: s3.Bucket.fromBucketName(new Stack(), 'B', 'raw-data'), key: 'datasets/digits/data.csv', version: 'v2' },
        },
      }),
    ].map((p) => p.job.processingJobName);
    expect(new Set([job.processingJobName, ...others]).size).toBe(5);
  });

  test("the execution role reads only the input, writes only its own jobs' outputs and uses no managed policy", () => {
    const policies = Object.entries(template.findResources('AWS::IAM::Policy')).filter(([id]) => id.startsWith('PrepareExecutionRole'));
    const statements = JSON.stringify(stack.resolve(policies.map(([, p]) => p.Properties.PolicyDocument)));
    expect(statements).toContain('/datasets/digits/data.csv*');
    expect(statements).toContain(`/prepared/${job.jobNamePrefix}-*`);
    expect(statements).not.toMatch(/"Action":"s3:\*"|"s3:DeleteObject"/);
    for (const role of Object.values(template.findResources('AWS::IAM::Role'))) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  });

  test("the execution role reports metrics only in SageMaker's processing namespace, and may create only SageMaker's processing log group", () => {
    const policies = Object.entries(template.findResources('AWS::IAM::Policy')).filter(([id]) => id.startsWith('PrepareExecutionRole'));
    const statements = policies.flatMap(
      ([, p]) =>
        stack.resolve(p.Properties.PolicyDocument).Statement as { Action: string | string[]; Resource: unknown; Condition?: unknown }[],
    );
    const byAction = (action: string) => statements.filter((s) => [s.Action].flat().includes(action));
    // SageMaker publishes a processing job's instance metrics under this namespace with the job's role
    // (https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html, sagemaker-roles.html).
    expect(byAction('cloudwatch:PutMetricData')).toEqual([
      {
        Effect: 'Allow',
        Action: 'cloudwatch:PutMetricData',
        Resource: '*',
        Condition: { StringEquals: { 'cloudwatch:namespace': '/aws/sagemaker/ProcessingJobs' } },
      },
    ]);
    const [create] = byAction('logs:CreateLogGroup');
    expect([create.Resource].flat().map((r) => JSON.stringify(r))).toEqual([
      expect.stringMatching(/:log-group:\/aws\/sagemaker\/ProcessingJobs"\]\]\}$/),
      expect.stringMatching(/:log-group:\/aws\/sagemaker\/ProcessingJobs:\*"\]\]\}$/),
    ]);
  });

  test('the handler may create jobs only with network isolation and the platform key', () => {
    const onEventPolicy = Object.entries(template.findResources('AWS::IAM::Policy')).find(([id]) =>
      id.startsWith('PrepareOnEventRole'),
    )![1];
    const create = (onEventPolicy.Properties.PolicyDocument.Statement as { Action: string; Condition?: unknown; Resource: unknown }[]).find(
      (s) => s.Action === 'sagemaker:CreateProcessingJob',
    )!;
    expect(create.Condition).toEqual({
      Bool: { 'sagemaker:NetworkIsolation': 'true' },
      ArnEquals: { 'sagemaker:OutputKmsKeyArn': KEY_ARN, 'sagemaker:VolumeKmsKeyArn': KEY_ARN },
    });
    expect(JSON.stringify(stack.resolve(create.Resource))).toContain(`:processing-job/${job.jobNamePrefix}-*`);
  });

  test('names each input and output after the folder the container uses', () => {
    const evaluateJob = prepareJob({
      containerArguments: ['evaluate'],
      inputs: {
        model: { bucket: s3.Bucket.fromBucketName(new Stack(), 'M', 'models'), key: 'models/job-1/output/model.tar.gz', version: 'job-1' },
        test: { bucket: s3.Bucket.fromBucketName(new Stack(), 'T', 'prepared-data'), key: 'prepared/x/data/test/', version: 'x' },
      },
      outputs: ['evaluation'],
    });
    const t = Template.fromStack(evaluateJob.stack);
    const [res] = Object.values(t.findResources('Custom::SageMakerProcessingJob', { Properties: { Phase: 'start' } }));
    const req = JSON.parse(evaluate(evaluateJob.stack.resolve(res.Properties.CreateProcessingJobRequest)) as string);
    expect(evaluateJob.job.processingJobName).toMatch(/^jobs-evaluate-[0-9a-f]{16}$/);
    expect(
      req.ProcessingInputs.map((i: { InputName: string; S3Input: { LocalPath: string; S3Uri: string } }) => [
        i.InputName,
        i.S3Input.LocalPath,
        i.S3Input.S3Uri,
      ]),
    ).toEqual([
      ['model', '/opt/ml/processing/input/model', 's3://models/models/job-1/output/model.tar.gz'],
      ['test', '/opt/ml/processing/input/test', 's3://prepared-data/prepared/x/data/test/'],
    ]);
    expect(req.ProcessingOutputConfig.Outputs[0].S3Output.LocalPath).toBe('/opt/ml/processing/output/evaluation');
    expect(validateInput(loadServiceModel('sagemaker'), 'CreateProcessingJob', req)).toEqual([]);
  });

  test('refuses a runtime longer than the deploy waits, naming the prop', () => {
    expect(() => prepareJob({ maxRuntime: Duration.hours(3) })).toThrow(
      'ProcessingJob at Jobs/Prepare: invalid maxRuntime "10800s"; allowed: at most timeout (7200s)',
    );
    expect(() => prepareJob({ environment: { 'BAD-NAME': '1' } })).toThrow(/^ProcessingJob at Jobs\/Prepare: invalid environment/);
  });
});

describe("the SageMaker job handler runs the platform's prepare job against the stand-in", () => {
  const standin = new SageMakerStandin();
  let restoreEnv: () => void;
  let properties: Properties;
  let name: string;

  beforeAll(async () => {
    const endpoint = await standin.start();
    restoreEnv = pointSdkAt(endpoint);
    const { platform } = buildTestPlatform({ 'aws:cdk:bundling-stacks': [] });
    const template = Template.fromStack(platform.training);
    const starts = template.findResources('Custom::SageMakerProcessingJob', { Properties: { Phase: 'start' } });
    properties = deliveredProperties(Object.values(starts)[0] as { Properties: Record<string, unknown> });
    name = properties.ProcessingJobName;
    jest.spyOn(console, 'info').mockImplementation(() => undefined);
    jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  });

  afterAll(async () => {
    await standin.stop();
    restoreEnv();
  });

  /** The template's start properties for a job of its own. */
  function forJob(suffix: string): Properties {
    const jobName = `${name.slice(0, -4)}${suffix}`;
    const request = JSON.parse(properties.CreateProcessingJobRequest);
    request.ProcessingJobName = jobName;
    return { ...properties, ProcessingJobName: jobName, CreateProcessingJobRequest: JSON.stringify(request) };
  }

  function event(props: Properties, type: 'Create' | 'Delete' = 'Create', physicalResourceId?: string): CloudFormationCustomResourceEvent {
    return {
      ...customResourceEvent(type, 'TrainingPrepareJob', props, { physicalResourceId }),
      ResourceType: 'Custom::SageMakerProcessingJob',
    } as CloudFormationCustomResourceEvent;
  }

  async function deploy(props: Properties) {
    const started = await onEvent(event(props));
    for (let i = 0; i < 10; i++) {
      const result = await isComplete({ ...event(props), ...started });
      if (result.IsComplete) return { started, result };
    }
    throw new Error('not complete');
  }

  test('create starts the synthesized job, polls until it completes and returns its name and message', async () => {
    standin.nextScript = [{ status: 'InProgress' }, { status: 'Completed', exitMessage: 'prepared 1797 rows' } as JobStep];
    const { started, result } = await deploy(forJob('a001'));
    expect(started.PhysicalResourceId).toBe(`${name.slice(0, -4)}a001`);
    expect(result.Data).toEqual(
      expect.objectContaining({
        ProcessingJobName: started.PhysicalResourceId,
        ProcessingJobStatus: 'Completed',
        ExitMessage: 'prepared 1797 rows',
      }),
    );
    const received = standin.processingJob(started.PhysicalResourceId).request as Record<string, Record<string, unknown>>;
    expect(received.AppSpecification.ContainerArguments).toEqual(['prepare']);
    expect(standin.calls.filter((c) => c.operation.endsWith('ProcessingJob')).every((c) => c.status === 200)).toBe(true);
  });

  test('a role IAM has not propagated yet: CreateProcessingJob is tried again until SageMaker can assume it, one job', async () => {
    const props = forJob('r001');
    const role = JSON.parse(props.CreateProcessingJobRequest).RoleArn as string;
    standin.refuseRole(role, 1);
    standin.nextScript = [{ status: 'Completed', exitMessage: 'prepared 1797 rows' } as JobStep];
    const waited = jest.spyOn(waits, 'sleep').mockResolvedValue();
    const before = standin.calls.length;
    try {
      const { result } = await deploy(props);
      expect(result.Data?.ProcessingJobStatus).toBe('Completed');
      expect(waited.mock.calls).toEqual([[2000]]);
      expect(
        standin.calls
          .slice(before)
          .filter((c) => c.operation === 'CreateProcessingJob')
          .map((c) => c.status),
      ).toEqual([400, 200]);
    } finally {
      waited.mockRestore();
      standin.refuseRole(role, 0);
    }
  });

  test("a failed prepare fails the deploy with FailureReason and the container's message naming the bad input", async () => {
    standin.nextScript = [
      {
        status: 'Failed',
        failureReason: 'AlgorithmError: see job logs',
        exitMessage: 'data.csv line 12: column "x3" holds text ("abc") where numbers are expected',
      },
    ];
    await expect(deploy(forJob('b001'))).rejects.toThrow(
      /Processing job \S+b001 failed: AlgorithmError: see job logs; data\.csv line 12: column "x3" holds text/,
    );
  });

  test('a retried create adopts the running job; delete stops it', async () => {
    standin.nextScript = [{ status: 'InProgress' }];
    const props = forJob('c001');
    const first = await onEvent(event(props));
    await onEvent(event(props));
    expect(
      standin.calls
        .filter((c) => c.operation === 'CreateProcessingJob')
        .map((c) => c.status)
        .slice(-2),
    ).toEqual([200, 400]);
    await onEvent(event(props, 'Delete', first.PhysicalResourceId));
    expect(standin.processingJob(first.PhysicalResourceId).steps[0].status).toBe('Stopping');
  });

  test("a redeploy after destroy finds the earlier deployment's job writing elsewhere and fails naming it and the next prepareAttempt", async () => {
    const props = forJob('e001');
    // The first deployment's prepare wrote into its own bucket, kept by `cdk destroy`.
    const earlier = JSON.parse(props.CreateProcessingJobRequest);
    for (const output of earlier.ProcessingOutputConfig.Outputs)
      output.S3Output.S3Uri = output.S3Output.S3Uri.replace(/^s3:\/\/[^/]+/, 's3://earlier-bucket');
    standin.nextScript = [{ status: 'Completed' }];
    await deploy({ ...props, CreateProcessingJobRequest: JSON.stringify(earlier) });
    await expect(onEvent(event({ ...props, Attempt: '3' }))).rejects.toThrow(
      /Processing job \S+e001 already belongs to a job from an earlier deployment writing to s3:\/\/earlier-bucket\/\S+\/data\/, s3:\/\/earlier-bucket\/\S+\/report\/.*ProcessingOutputConfig\.Outputs\[data\]\.S3Uri .*deploy again with `-c prepareAttempt=4`/,
    );
    // A job made without an attempt setting of its own (evaluate): the message cannot count, so it says to raise it.
    const withoutAttempt: Properties = { ...props };
    delete withoutAttempt.Attempt;
    await expect(onEvent(event(withoutAttempt))).rejects.toThrow(/deploy again with a higher prepareAttempt than this deployment's/);
  });

  test('a redeploy that finds its own completed job (same locations) adopts it', async () => {
    standin.nextScript = [{ status: 'Completed', exitMessage: 'prepared 1797 rows' } as JobStep];
    const props = forJob('f001');
    await deploy(props);
    const { result } = await deploy(props);
    expect(result.Data?.ExitMessage).toBe('prepared 1797 rows');
  });

  test('the same inputs after a failure say how to run it again', async () => {
    standin.nextScript = [{ status: 'Failed', failureReason: 'ClientError: no rows' }];
    const props = forJob('d001');
    await expect(deploy(props)).rejects.toThrow(/failed/);
    await expect(onEvent(event(props))).rejects.toThrow(
      /already ran with these exact inputs and ended Failed \(ClientError: no rows\).*prepareAttempt/,
    );
  });

  describe('the evaluate job scores the newest Approved model, looked up when it starts and part of its name', () => {
    let properties: Properties;
    let group: string;
    let sagemaker: SageMakerClient;
    const MODELS = 's3://dlplatform-data-modelbucket/models';

    beforeAll(async () => {
      sagemaker = new SageMakerClient({});
      const { platform } = buildTestPlatform({ 'aws:cdk:bundling-stacks': [] });
      const starts = Template.fromStack(platform.training).findResources('Custom::SageMakerProcessingJob', {
        Properties: { Phase: 'start', ProcessingJobName: Match.stringLikeRegexp('-evaluate-') },
      });
      properties = deliveredProperties(Object.values(starts)[0] as { Properties: Record<string, unknown> });
      group = (JSON.parse(properties.ApprovedModelLookup) as ApprovedModelLookup).spec.approvedModels!.groupName;
    });

    function event(props: Properties): CloudFormationCustomResourceEvent {
      return {
        ...customResourceEvent('Create', 'TrainingEvaluateJob', props),
        ResourceType: 'Custom::SageMakerProcessingJob',
      } as CloudFormationCustomResourceEvent;
    }

    async function deploy(props: Properties = properties) {
      standin.nextScript = [{ status: 'Completed' }];
      const started = await onEvent(event(props));
      const result = await isComplete({ ...event(props), ...started });
      expect(result.IsComplete).toBe(true);
      const request = standin.processingJob(started.PhysicalResourceId).request as {
        ProcessingInputs: { InputName: string; S3Input: { S3Uri: string } }[];
      };
      return {
        name: started.PhysicalResourceId,
        data: result.Data!,
        inputs: Object.fromEntries(request.ProcessingInputs.map((i) => [i.InputName, i.S3Input.S3Uri])),
      };
    }

    async function approve(modelDataUrl: string): Promise<void> {
      await sagemaker.send(
        new CreateModelPackageCommand({
          ModelPackageGroupName: group,
          InferenceSpecification: {
            Containers: [{ Image: 'image:1', ModelDataUrl: modelDataUrl }],
            SupportedContentTypes: ['text/csv'],
            SupportedResponseMIMETypes: ['application/json'],
          },
          ModelApprovalStatus: 'Approved',
        }),
      );
    }

    test('no group yet (the first deploy): the synthesized job, without an approved-model input', async () => {
      const { name, data, inputs } = await deploy();
      expect(name).toBe(properties.ProcessingJobName);
      expect(Object.keys(inputs)).toEqual(['model', 'test']);
      expect(data).toMatchObject({ ProcessingJobName: name, ApprovedModelDataUrl: 'none' });
    });

    test('with an approved version: its artifact is input approved-model, and the job is named with it; a newer approval, another job', async () => {
      standin.addModelPackageGroup(group);
      const first = `${MODELS}/dlplatform-training-00000000000000a1/output/model.tar.gz`;
      await approve(first);
      const one = await deploy();
      expect(one.name).not.toBe(properties.ProcessingJobName);
      expect(one.name.slice(0, -16)).toBe(properties.ProcessingJobName.slice(0, -16));
      expect(one.inputs['approved-model']).toBe(first);
      expect(one.inputs.test).toMatch(/\/report\/test-rows\.csv$/);
      // What the registration reads: the job it completed, and the model it scored.
      expect(one.data).toMatchObject({ ProcessingJobName: one.name, ApprovedModelDataUrl: first });

      const second = `${MODELS}/dlplatform-training-00000000000000a2/output/model.tar.gz`;
      await approve(second);
      const two = await deploy();
      expect(two.name).not.toBe(one.name);
      expect(two.inputs['approved-model']).toBe(second);
    });

    test("an approved model outside the platform's models is not scored (its role cannot read it): the synthesized job", async () => {
      await approve('s3://someone-elses-bucket/models/x/output/model.tar.gz');
      standin.calls.length = 0;
      const started = await onEvent(event(properties));
      // The synthesized job ran in the first test: it is adopted, not created again.
      expect(started.PhysicalResourceId).toBe(properties.ProcessingJobName);
    });

    test('an update that leaves the inputs as they were keeps the evaluation, even after a newer approval', async () => {
      const { name } = await deploy();
      await approve(`${MODELS}/dlplatform-training-00000000000000a3/output/model.tar.gz`);
      const update = {
        ...customResourceEvent('Update', 'TrainingEvaluateJob', properties, { physicalResourceId: name, oldProperties: properties }),
        ResourceType: 'Custom::SageMakerProcessingJob',
      } as CloudFormationCustomResourceEvent;
      standin.calls.length = 0;
      expect((await onEvent(update)).PhysicalResourceId).toBe(name);
      expect(standin.calls.map((c) => c.operation)).not.toContain('CreateProcessingJob');
    });

    test('a lookup whose identity names another job than the request is refused, naming both', async () => {
      const lookup = JSON.parse(properties.ApprovedModelLookup) as ApprovedModelLookup;
      const changed = { ...lookup, identity: { ...lookup.identity, attempt: 7 } };
      await expect(onEvent(event({ ...properties, ApprovedModelLookup: JSON.stringify(changed) }))).rejects.toThrow(
        /^ApprovedModelLookup's identity names \S+-evaluate-[0-9a-f]{16}, not \S+-evaluate-[0-9a-f]{16}$/,
      );
    });
  });
});

test('an evaluate job that waits longer than one phase passes the name it started on to each wait phase', () => {
  const { stack } = prepareJob((scope) => ({
    containerArguments: ['evaluate'],
    maxRuntime: Duration.hours(1),
    timeout: Duration.hours(2),
    approvedModels: {
      groupName: 'models-1',
      groupNameInArns: 'models-1',
      bucket: s3.Bucket.fromBucketName(scope, 'Models', 'models'),
      keyPrefix: 'models/x-',
    },
  }));
  const phases = Template.fromStack(stack).findResources('Custom::SageMakerProcessingJob');
  const [startId] = Object.keys(phases).filter((id) => phases[id].Properties.Phase === 'start');
  const waits = Object.entries(phases).filter(([, r]) => r.Properties.Phase === 'wait');
  expect(waits).toHaveLength(2);
  // Each wait phase reads the name from the phase before it, which depends on it.
  let previous = startId;
  for (const [id, wait] of waits) {
    expect(wait.Properties.ProcessingJobName).toEqual({ 'Fn::GetAtt': [previous, 'ProcessingJobName'] });
    previous = id;
  }
});
