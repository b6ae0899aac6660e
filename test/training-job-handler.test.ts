/**
 * The TrainingJob handler, run for real: its exported onEvent/isComplete, given the custom-resource events
 * the Provider framework passes, drive the unmodified SageMaker SDK client against a local SageMaker API
 * stand-in (AWS_ENDPOINT_URL_SAGEMAKER). The resource properties are the synthesized template's.
 */
import { Template } from 'aws-cdk-lib/assertions';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { waits } from '../constructs/training/runtime/role-propagation';
import { isComplete, onEvent, OnEventResponse, sameGeneratedRole } from '../constructs/training/runtime/sagemaker-job.handler';
import { loadServiceModel } from '../local/api-model/service-model';
import { validateInput } from '../local/api-model/validate-input';
import { buildTestPlatform } from './support/platform';
import { COMPLETES, JobStep, pointSdkAt, SageMakerStandin } from './support/sagemaker-api-standin';
import { customResourceEvent, deliveredProperties, KEY_ARN } from './support/training-job-events';

type Properties = Record<string, string> & { ServiceToken: string };

const standin = new SageMakerStandin();
let restoreEnv: () => void;
const TRAINING_STACK = 'DlPlatform-Training';
const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'training-handler-'));
let start: ReturnType<typeof synthesize>;
let jobName: string;

/**
 * Synthesizes the platform (bundling only the training stack's functions) into `outdir`, and returns the
 * start-phase resource and the bundled handler module, as Lambda would load it.
 */
function synthesize(): {
  logicalId: string;
  properties: Properties;
  bundled: typeof import('../constructs/training/runtime/sagemaker-job.handler');
} {
  const { app, platform } = buildTestPlatform(
    {
      'aws:cdk:bundling-stacks': [TRAINING_STACK],
      trainingTimeoutMinutes: '30',
      trainingMaxWaitSeconds: '1800',
      trainingMaxRuntimeSeconds: '1200',
    },
    outdir,
  );
  app.synth();
  const template = Template.fromStack(platform.training);
  const resources = template.findResources('Custom::SageMakerTrainingJob', { Properties: { Phase: 'start' } });
  const [logicalId] = Object.keys(resources);
  const [fn] = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Handler: 'index.onEvent' } }));
  const assetDir = path.join(outdir, `asset.${(fn.Properties.Code.S3Key as string).replace(/\.zip$/, '')}`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const bundled = require(path.join(assetDir, 'index.js'));
  return { logicalId, properties: deliveredProperties(resources[logicalId] as { Properties: Record<string, unknown> }), bundled };
}

/** What the Provider framework does: onEvent, then isComplete until it reports completion (or throws). */
async function deploy(event: CloudFormationCustomResourceEvent, maxPolls = 10) {
  const started = await onEvent(event);
  for (let i = 0; i < maxPolls; i++) {
    const result = await isComplete({ ...event, ...started });
    if (result.IsComplete) return { started, result };
  }
  throw new Error(`not complete after ${maxPolls} polls`);
}

function scripted(steps: JobStep[]): void {
  standin.nextScript = steps;
}

beforeAll(async () => {
  const endpoint = await standin.start();
  restoreEnv = pointSdkAt(endpoint);
  start = synthesize();
  jobName = start.properties.TrainingJobName;
  jest.spyOn(console, 'info').mockImplementation(() => undefined);
  jest.spyOn(console, 'warn').mockImplementation(() => undefined);
});

afterAll(async () => {
  await standin.stop();
  restoreEnv();
  fs.rmSync(outdir, { recursive: true, force: true });
});

beforeEach(() => {
  standin.calls.length = 0;
  standin.nextScript = COMPLETES;
});

describe('TrainingJob handler against a SageMaker API stand-in', () => {
  test('create starts the synthesized job, polls until it completes and returns the artifact and final metrics', async () => {
    const event = customResourceEvent('Create', start.logicalId, forJob('c001'));
    const name = `${jobName.slice(0, -4)}c001`;
    const { started, result } = await deploy(event);

    expect(started.PhysicalResourceId).toBe(name);
    expect(standin.operations()).toEqual(['CreateTrainingJob', 'DescribeTrainingJob', 'DescribeTrainingJob', 'DescribeTrainingJob']);
    // The request SageMaker received is the template's, and passed SageMaker's checks.
    const request = standin.job(name).request as Record<string, Record<string, unknown>>;
    expect(request.EnableNetworkIsolation).toBe(true);
    expect(request.EnableManagedSpotTraining).toBe(true);
    expect(request.OutputDataConfig.KmsKeyId).toBe(KEY_ARN);
    expect(request.CheckpointConfig.S3Uri).toBe(`s3://dlplatform-data-modelbucket/checkpoints/${name}/`);
    expect(result.Data).toEqual(
      expect.objectContaining({
        TrainingJobName: name,
        TrainingJobArn: `arn:aws:sagemaker:eu-west-1:123456789012:training-job/${name}`,
        ModelDataUrl: `s3://dlplatform-data-modelbucket/models/${name}/output/model.tar.gz`,
        'Metric.test_accuracy': '0.975',
        FinalMetrics: JSON.stringify({ train_loss: 0.05, validation_accuracy: 0.97, test_accuracy: 0.975 }),
      }),
    );
  });

  test('a role IAM has not propagated yet: CreateTrainingJob is tried again, waiting 2 then 4 s, and starts exactly one job', async () => {
    const props = forJob('r001');
    const role = JSON.parse(props.CreateTrainingJobRequest).RoleArn as string;
    standin.refuseRole(role, 2);
    const waited = jest.spyOn(waits, 'sleep').mockResolvedValue();
    try {
      const { result } = await deploy(customResourceEvent('Create', start.logicalId, props));
      expect(result.Data?.TrainingJobName).toBe(`${jobName.slice(0, -4)}r001`);
      expect(waited.mock.calls).toEqual([[2000], [4000]]);
      expect(standin.calls.filter((c) => c.operation === 'CreateTrainingJob').map((c) => c.status)).toEqual([400, 400, 200]);
    } finally {
      waited.mockRestore();
      standin.refuseRole(role, 0);
    }
  });

  test("a role SageMaker never can assume fails the deploy after a bounded number of tries, with SageMaker's message", async () => {
    const props = forJob('r002');
    const role = JSON.parse(props.CreateTrainingJobRequest).RoleArn as string;
    standin.refuseRole(role, Infinity);
    const waited = jest.spyOn(waits, 'sleep').mockResolvedValue();
    try {
      await expect(onEvent(customResourceEvent('Create', start.logicalId, props))).rejects.toThrow(
        /SageMaker rejected training job \S+r002: Could not assume role arn:aws:iam::123456789012:role\/\S+\. Please ensure .* \(still refused after 5 tries over 30 s;/,
      );
      expect(waited.mock.calls.map(([ms]) => ms)).toEqual([2000, 4000, 8000, 16000]);
      expect(standin.calls.filter((c) => c.operation === 'CreateTrainingJob')).toHaveLength(5);
    } finally {
      waited.mockRestore();
      standin.refuseRole(role, 0);
    }
  });

  test('other validation errors are not retried', async () => {
    const waited = jest.spyOn(waits, 'sleep').mockResolvedValue();
    try {
      const props = forJob('r003');
      const request = JSON.parse(props.CreateTrainingJobRequest);
      request.ResourceConfig.InstanceType = 'ml.not-a-type';
      await expect(
        onEvent(customResourceEvent('Create', start.logicalId, { ...props, CreateTrainingJobRequest: JSON.stringify(request) })),
      ).rejects.toThrow(/SageMaker rejected/);
      expect(waited).not.toHaveBeenCalled();
      expect(standin.calls.filter((c) => c.operation === 'CreateTrainingJob')).toHaveLength(1);
    } finally {
      waited.mockRestore();
    }
  });

  test("a failed job fails the deploy with SageMaker's FailureReason", async () => {
    scripted([
      { status: 'InProgress', secondaryStatus: 'Training' },
      { status: 'Failed', failureReason: 'AlgorithmError: CUDA out of memory' },
    ]);
    await expect(deploy(customResourceEvent('Create', start.logicalId, forJob('fail1')))).rejects.toThrow(
      /Training job \S+fail1 failed: AlgorithmError: CUDA out of memory/,
    );
  });

  test('a job stopped from outside fails the deploy', async () => {
    scripted([{ status: 'Stopping' }, { status: 'Stopped' }]);
    await expect(deploy(customResourceEvent('Create', start.logicalId, forJob('stop1')))).rejects.toThrow(
      /was stopped before it completed/,
    );
  });

  test('delete stops a job that is still running and deletes nothing', async () => {
    scripted([{ status: 'InProgress', secondaryStatus: 'Training' }]);
    const props = forJob('del1');
    const started = await onEvent(customResourceEvent('Create', start.logicalId, props));
    expect(await isComplete({ ...customResourceEvent('Create', start.logicalId, props), ...started })).toEqual({ IsComplete: false });

    const del = customResourceEvent('Delete', start.logicalId, props, { physicalResourceId: started.PhysicalResourceId });
    const deleted = await onEvent(del);
    expect(deleted.PhysicalResourceId).toBe(started.PhysicalResourceId);
    expect(await isComplete({ ...del, ...deleted })).toEqual({ IsComplete: true });
    expect(standin.operations()).toEqual(['CreateTrainingJob', 'DescribeTrainingJob', 'DescribeTrainingJob', 'StopTrainingJob']);
    expect(standin.job(started.PhysicalResourceId).steps[0].status).toBe('Stopping');
  });

  test('delete of a completed job stops nothing', async () => {
    const props = forJob('del2');
    const { started } = await deploy(customResourceEvent('Create', start.logicalId, props));
    standin.calls.length = 0;
    await onEvent(customResourceEvent('Delete', start.logicalId, props, { physicalResourceId: started.PhysicalResourceId }));
    expect(standin.operations()).toEqual(['DescribeTrainingJob']);
  });

  test('delete after a create SageMaker rejected (no job behind the resource) succeeds', async () => {
    const del = customResourceEvent('Delete', start.logicalId, start.properties, {
      physicalResourceId: '8d3f1c2e-4b5a-4c6d-9e7f-0a1b2c3d4e5f',
    });
    await expect(onEvent(del)).resolves.toEqual({ PhysicalResourceId: '8d3f1c2e-4b5a-4c6d-9e7f-0a1b2c3d4e5f' });
    expect(standin.calls.map((c) => [c.operation, c.status])).toEqual([['DescribeTrainingJob', 400]]);
  });

  test('a retried create adopts the job it already started instead of starting another', async () => {
    const event = customResourceEvent('Create', start.logicalId, forJob('retry1'));
    const first = await onEvent(event);
    const second = await onEvent(event);
    expect(second.PhysicalResourceId).toBe(first.PhysicalResourceId);
    expect(standin.calls.filter((c) => c.operation === 'CreateTrainingJob').map((c) => c.status)).toEqual([200, 400]);
    const { result } = await deploy(event);
    expect(result.Data?.ModelDataUrl).toMatch(/retry1\/output\/model\.tar\.gz$/);
  });

  test('an update that changes nothing that determines the model starts no job', async () => {
    const props = forJob('upd1');
    const { started } = await deploy(customResourceEvent('Create', start.logicalId, props));
    standin.calls.length = 0;
    // A bigger volume does not change the model, so the name (and the job) stay.
    const bigger = {
      ...props,
      CreateTrainingJobRequest: props.CreateTrainingJobRequest.replace('"VolumeSizeInGB":30', '"VolumeSizeInGB":100'),
    };
    const update = customResourceEvent('Update', start.logicalId, bigger, {
      physicalResourceId: started.PhysicalResourceId,
      oldProperties: props,
    });
    const { started: updated, result } = await deploy(update);
    expect(updated.PhysicalResourceId).toBe(started.PhysicalResourceId);
    expect(standin.operations()).toEqual(['DescribeTrainingJob']);
    expect(result.Data?.TrainingJobName).toBe(started.PhysicalResourceId);
  });

  test('an update with a new job name starts exactly one job and reports the new physical id', async () => {
    const old = forJob('upd2');
    const { started } = await deploy(customResourceEvent('Create', start.logicalId, old));
    standin.calls.length = 0;
    const update = customResourceEvent('Update', start.logicalId, forJob('upd3'), {
      physicalResourceId: started.PhysicalResourceId,
      oldProperties: old,
    });
    const { started: updated } = await deploy(update);
    expect(updated.PhysicalResourceId).toBe(`${jobName.slice(0, -4)}upd3`);
    expect(standin.operations().filter((o) => o === 'CreateTrainingJob')).toHaveLength(1);
  });

  test('a job that already failed with the same inputs fails the deploy and says how to run it again', async () => {
    const props = forJob('dup1');
    standin.seed(JSON.parse(props.CreateTrainingJobRequest), [
      { status: 'Failed', failureReason: 'CapacityError: Unable to provision requested ML compute capacity' },
    ]);
    await expect(onEvent(customResourceEvent('Create', start.logicalId, props))).rejects.toThrow(
      /already ran with these exact inputs and ended Failed \(CapacityError: .*\).*trainingAttempt/,
    );
  });

  test("a redeploy after destroy (new buckets, same job name) fails naming the earlier job's bucket and the next trainingAttempt", async () => {
    // The first deployment ran the job into its model bucket; `cdk destroy` kept that bucket, and the new
    // deployment's model bucket has a new generated name while the job name (fixed at synth) is the same.
    const props = forJob('old1');
    await deploy(customResourceEvent('Create', start.logicalId, inBucket(props, 'dlplatform-data-modelbucket-first')));
    standin.calls.length = 0;
    await expect(onEvent(customResourceEvent('Create', start.logicalId, { ...props, Attempt: '1' }))).rejects.toThrow(
      new RegExp(
        `Training job ${props.TrainingJobName} already belongs to a job from an earlier deployment writing to ` +
          "s3://dlplatform-data-modelbucket-first/models/ \\(it differs from this deployment's request in OutputDataConfig\\.S3OutputPath s3://dlplatform-data-modelbucket-first/models/ there, " +
          's3://dlplatform-data-modelbucket/models/ here\\)\\..*deploy again with `-c trainingAttempt=2`',
      ),
    );
    // Nothing was adopted: one failed create and the describe that found the other deployment's job.
    expect(standin.calls.map((c) => [c.operation, c.status])).toEqual([
      ['CreateTrainingJob', 400],
      ['DescribeTrainingJob', 200],
    ]);
  });

  test('an existing job with another KMS key or role is not adopted either', async () => {
    const props = forJob('old2');
    const earlier = JSON.parse(props.CreateTrainingJobRequest);
    earlier.OutputDataConfig.KmsKeyId = KEY_ARN.replace(/key\/.*/, 'key/00000000-1111-2222-3333-444444444444');
    earlier.RoleArn = 'arn:aws:iam::123456789012:role/DlPlatform-Training-ExecutionRoleFromEarlier';
    standin.seed(earlier, COMPLETES.slice(-1));
    await expect(onEvent(customResourceEvent('Create', start.logicalId, props))).rejects.toThrow(
      /RoleArn \S+FromEarlier there, \S+ here; OutputDataConfig\.KmsKeyId \S+key\/00000000-1111\S+ there, \S+ here\)\..*trainingAttempt=2/,
    );
  });

  test("a job of an earlier instance of this stack (a rolled-back creation: same buckets and key, the role's suffix new) is adopted", async () => {
    const props = forJob('rbk1');
    const request = JSON.parse(props.CreateTrainingJobRequest);
    // As CloudFormation names the role in each instance: <stack>-<logical id>-<random suffix>.
    const roleIn = (suffix: string) => `arn:aws:iam::123456789012:role/DlPlatform-Training-TrainingJobExecutionRole0A1B2C3D-${suffix}`;
    standin.seed({ ...request, RoleArn: roleIn('Q1W2E3R4T5Y6') }, COMPLETES.slice(-1));
    const now = { ...props, CreateTrainingJobRequest: JSON.stringify({ ...request, RoleArn: roleIn('Z9X8C7V6B5N4') }) };
    const { started } = await deploy(customResourceEvent('Create', start.logicalId, now));
    expect(started.PhysicalResourceId).toBe(props.TrainingJobName);
    // Another resource's role (another logical id) is not the same role.
    expect(sameGeneratedRole(roleIn('Q1W2E3R4T5Y6'), roleIn('Z9X8C7V6B5N4'))).toBe(true);
    expect(
      sameGeneratedRole(
        roleIn('Q1W2E3R4T5Y6'),
        'arn:aws:iam::123456789012:role/DlPlatform-Training-PrepareJobExecutionRole0A1B2C3D-Z9X8C7V6B5N4',
      ),
    ).toBe(false);
    expect(sameGeneratedRole('arn:aws:iam::123456789012:role/fixed', 'arn:aws:iam::123456789012:role/fixed-other')).toBe(false);
  });

  test('an existing job from this deployment (same buckets, key and role) is adopted and its model returned', async () => {
    const props = forJob('same');
    standin.seed(JSON.parse(props.CreateTrainingJobRequest), COMPLETES.slice(-1));
    const { started, result } = await deploy(customResourceEvent('Create', start.logicalId, props));
    expect(started.PhysicalResourceId).toBe(props.TrainingJobName);
    expect(result.Data?.ModelDataUrl).toBe(`s3://dlplatform-data-modelbucket/models/${props.TrainingJobName}/output/model.tar.gz`);
  });

  test("SageMaker's validation errors reach the deploy error", async () => {
    const props = forJob('bad1');
    const request = JSON.parse(props.CreateTrainingJobRequest);
    delete request.StoppingCondition.MaxWaitTimeInSeconds;
    await expect(
      onEvent(customResourceEvent('Create', start.logicalId, { ...props, CreateTrainingJobRequest: JSON.stringify(request) })),
    ).rejects.toThrow(
      /SageMaker rejected training job \S+bad1: MaxWaitTimeInSeconds must be specified when EnableManagedSpotTraining is true/,
    );
  });

  test("the synthesized CreateTrainingJob request holds only members SageMaker's API model defines, each within its constraints", () => {
    // The SDK silently drops a member its model does not know, so a misspelt setting would never reach
    // SageMaker: the stand-in cannot see it, only a check of the request as the handler passes it can.
    const request = JSON.parse(start.properties.CreateTrainingJobRequest);
    expect(validateInput(loadServiceModel('sagemaker'), 'CreateTrainingJob', request)).toEqual([]);
  });

  test("SageMaker's API model refuses a value outside an enum, and the deploy error names the member", async () => {
    const props = forJob('enum1');
    const request = JSON.parse(props.CreateTrainingJobRequest);
    request.AlgorithmSpecification.TrainingInputMode = 'Streaming';
    await expect(
      onEvent(customResourceEvent('Create', start.logicalId, { ...props, CreateTrainingJobRequest: JSON.stringify(request) })),
    ).rejects.toThrow(
      /SageMaker rejected training job \S+enum1: 1 validation error detected: Value 'Streaming' at 'algorithmSpecification\.trainingInputMode' failed to satisfy constraint: Member must satisfy enum value set: \[Pipe, File, FastFile\]/,
    );
    expect(standin.calls.map((c) => [c.operation, c.status])).toEqual([['CreateTrainingJob', 400]]);
  });

  test('a wait phase hands over at its deadline; the final phase fails the deploy there', async () => {
    scripted([{ status: 'InProgress', secondaryStatus: 'Training' }]);
    const props = forJob('slow1');
    const started = await onEvent(customResourceEvent('Create', start.logicalId, props));
    const late: OnEventResponse = { ...started, StartedAt: Date.now() - (Number(props.WaitSeconds) + 1) * 1000 };

    const handOver = { ...props, FinalPhase: 'false' };
    expect(await isComplete({ ...customResourceEvent('Create', start.logicalId, handOver), ...late })).toEqual({
      IsComplete: true,
      Data: { TrainingJobName: started.PhysicalResourceId, TrainingJobStatus: 'InProgress' },
    });

    const wait = { ...props, Phase: 'wait', FinalPhase: 'true' };
    delete (wait as Partial<Properties>).CreateTrainingJobRequest;
    const waitStarted = await onEvent(customResourceEvent('Create', 'TrainingJobWait1', wait));
    expect(waitStarted.PhysicalResourceId).toBe(`${started.PhysicalResourceId}/wait`);
    await expect(
      isComplete({ ...customResourceEvent('Create', 'TrainingJobWait1', wait), ...waitStarted, StartedAt: late.StartedAt }),
    ).rejects.toThrow(/is still InProgress \(Training\) after the deploy's wait limit/);
    // The wait phase never starts a job of its own.
    expect(standin.operations().filter((o) => o === 'CreateTrainingJob')).toHaveLength(1);
  });

  test('the bundled handler, as Lambda loads it, runs a job to completion through its bundled SDK client', async () => {
    const event = customResourceEvent('Create', start.logicalId, forJob('bun1'));
    const started: OnEventResponse = await start.bundled.onEvent(event);
    let done = await start.bundled.isComplete({ ...event, ...started });
    for (let poll = 0; poll < 10 && !done.IsComplete; poll++) done = await start.bundled.isComplete({ ...event, ...started });
    expect(done.Data?.ModelDataUrl).toBe(`s3://dlplatform-data-modelbucket/models/${started.PhysicalResourceId}/output/model.tar.gz`);
    expect(standin.operations()).toEqual(['CreateTrainingJob', 'DescribeTrainingJob', 'DescribeTrainingJob', 'DescribeTrainingJob']);
  });

  test('the stand-in only answers signed SageMaker requests (the SDK really signs them)', async () => {
    const res = await fetch(process.env.AWS_ENDPOINT_URL_SAGEMAKER!, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'SageMaker.DescribeTrainingJob' },
      body: '{}',
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ __type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' });
  });
});

/** The template's start properties for a job of its own (the synthesized name with a test-specific ending). */
function forJob(suffix: string): Properties {
  return {
    ...start.properties,
    TrainingJobName: `${jobName.slice(0, -4)}${suffix.padStart(4, '0')}`,
    CreateTrainingJobRequest: renamed(start.properties, suffix),
  };
}

/** The properties with every S3 location in the model bucket moved to `bucket` (an earlier deployment's). */
function inBucket(properties: Properties, bucket: string): Properties {
  return {
    ...properties,
    CreateTrainingJobRequest: properties.CreateTrainingJobRequest.replaceAll('s3://dlplatform-data-modelbucket/', `s3://${bucket}/`),
  };
}

function renamed(properties: Properties, suffix: string): string {
  const request = JSON.parse(properties.CreateTrainingJobRequest);
  const name = `${jobName.slice(0, -4)}${suffix.padStart(4, '0')}`;
  request.TrainingJobName = name;
  request.CheckpointConfig.S3Uri = request.CheckpointConfig.S3Uri.replace(jobName, name);
  return JSON.stringify(request);
}
