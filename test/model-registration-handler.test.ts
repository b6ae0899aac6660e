/**
 * The ModelRegistration handler, run for real against the SageMaker API stand-in (every request checked against
 * botocore's sagemaker model): the gate's two conditions, the approval modes, one version per training job, and
 * the pointer value a rollback or a person's approval moves.
 */
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';

import { APPROVED_DIR, COMPARISON_JSON, EVALUATION_JSON } from '../constructs/training/runtime/evaluation-comparison';
import { NO_APPROVED_VERSION, onEvent } from '../constructs/training/runtime/model-registration.handler';
import { ModelRegistrationProperties } from '../constructs/training/runtime/model-registration-contract';
import { MotoServer, startMoto } from './support/moto-server';
import { pointSdkAt, SageMakerStandin } from './support/sagemaker-api-standin';

const standin = new SageMakerStandin();
let restoreEnv: () => void;
let groupCount = 0;
let group: string;

beforeAll(async () => {
  const endpoint = await standin.start();
  restoreEnv = pointSdkAt(endpoint);
  jest.spyOn(console, 'info').mockImplementation(() => undefined);
});

afterAll(async () => {
  await standin.stop();
  restoreEnv();
});

beforeEach(() => {
  group = `dlplatform-models-${++groupCount}`;
  standin.addModelPackageGroup(group);
  standin.calls.length = 0;
});

function properties(
  job: string,
  metrics: Record<string, number>,
  extra: Partial<ModelRegistrationProperties> = {},
): ModelRegistrationProperties {
  return {
    ModelPackageGroupName: group,
    TrainingJobName: `dlplatform-training-${job.padStart(16, '0')}`,
    ModelDataUrl: `s3://dlplatform-data-modelbucket/models/dlplatform-training-${job.padStart(16, '0')}/output/model.tar.gz`,
    ImageUri: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/cdk-hnb659fds-container-assets:abc123',
    FinalMetrics: JSON.stringify(metrics),
    QualityGate: JSON.stringify({ metric: 'test_macro_f1', bar: 0.9, maxRegression: 0.02 }),
    Approval: 'automatic',
    CodeHash: 'abc123',
    DataIdentity: 'dlplatform-training-prepare-00000000deadbeef',
    DataReportUri: 's3://dlplatform-data-databucket/prepared/dlplatform-training-prepare-00000000deadbeef/report/data-report.json',
    EvaluationUri: 's3://dlplatform-data-modelbucket/evaluations/x/evaluation.json',
    ...extra,
  };
}

function event(
  requestType: 'Create' | 'Update' | 'Delete',
  props: ModelRegistrationProperties,
  physicalResourceId = 'none',
): CloudFormationCustomResourceEvent {
  const common = {
    ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider',
    ResponseURL: '...',
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/DlPlatform-Training/1',
    RequestId: `r-${Math.random()}`,
    LogicalResourceId: 'ModelRegistryRegistration',
    ResourceType: 'Custom::ModelRegistration',
    ResourceProperties: { ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider', ...props },
  };
  if (requestType === 'Create') return { ...common, RequestType: 'Create' };
  if (requestType === 'Delete') return { ...common, RequestType: 'Delete', PhysicalResourceId: physicalResourceId };
  return { ...common, RequestType: 'Update', PhysicalResourceId: physicalResourceId, OldResourceProperties: common.ResourceProperties };
}

describe('ModelRegistration handler against the SageMaker API stand-in', () => {
  test('a model above the bar with no approved model is registered Approved and becomes the serving version', async () => {
    const result = await onEvent(event('Create', properties('a1', { test_macro_f1: 0.95, test_accuracy: 0.96 })));
    const [version] = standin.modelPackages(group);
    expect(version.status).toBe('Approved');
    expect(version.approvalDescription).toMatch(/test_macro_f1 0\.95 meets the bar 0\.9; no approved model/);
    expect(result.Data).toEqual(
      expect.objectContaining({
        ModelPackageArn: version.arn,
        ModelPackageVersion: '1',
        ModelApprovalStatus: 'Approved',
        ServingModelPackageArn: version.arn,
      }),
    );
    const request = version.request as Record<string, Record<string, unknown>>;
    expect(request.CustomerMetadataProperties).toEqual(
      expect.objectContaining({
        training_job: 'dlplatform-training-00000000000000a1',
        code_hash: 'abc123',
        'metric.test_macro_f1': '0.95',
        data_identity: 'dlplatform-training-prepare-00000000deadbeef',
      }),
    );
    expect(request.ModelMetrics).toEqual({
      ModelQuality: {
        Statistics: { ContentType: 'application/json', S3Uri: 's3://dlplatform-data-modelbucket/evaluations/x/evaluation.json' },
      },
    });
    expect(standin.calls.every((c) => c.status === 200)).toBe(true);
  });

  test('a model below the absolute bar is registered Rejected and fails the deploy with both figures', async () => {
    await expect(onEvent(event('Create', properties('b1', { test_macro_f1: 0.85 })))).rejects.toThrow(
      /Quality gate failed: test_macro_f1 0\.85 is below the minimum 0\.9\. .*registered as Rejected/,
    );
    const [version] = standin.modelPackages(group);
    expect(version.status).toBe('Rejected');
    expect(version.approvalDescription).toBe('Quality gate: test_macro_f1 0.85 is below the minimum 0.9');
  });

  test('a model that regresses beyond the tolerance against the approved one is Rejected, naming both figures', async () => {
    await onEvent(event('Create', properties('c1', { test_macro_f1: 0.97 })));
    await expect(onEvent(event('Create', properties('c2', { test_macro_f1: 0.94 })))).rejects.toThrow(
      // No approved model scored on these rows: its registered figure, and the reason says so.
      /test_macro_f1 0\.94 is 0\.03 below the approved model version 1 \(dlplatform-training-00000000000000c1\) \(0\.97, as registered: the evaluate job scored no approved model\), more than the tolerance 0\.02/,
    );
    expect(standin.modelPackages(group).map((p) => p.status)).toEqual(['Approved', 'Rejected']);
  });

  test('a model within the tolerance of the approved one is approved and moves the serving version', async () => {
    await onEvent(event('Create', properties('d1', { test_macro_f1: 0.97 })));
    const result = await onEvent(event('Create', properties('d2', { test_macro_f1: 0.96 })));
    const [, second] = standin.modelPackages(group);
    expect(result.Data?.ServingModelPackageArn).toBe(second.arn);
  });

  test('for a metric where lower is better, the bar is a maximum', async () => {
    const gate = JSON.stringify({ metric: 'test_ece', bar: 0.05, maxRegression: 0.01 });
    await expect(onEvent(event('Create', properties('e1', { test_ece: 0.08 }, { QualityGate: gate })))).rejects.toThrow(
      /test_ece 0\.08 is above the maximum 0\.05/,
    );
  });

  test('manual approval registers PendingManualApproval and keeps serving the approved version until a person approves', async () => {
    const first = await onEvent(event('Create', properties('f1', { test_macro_f1: 0.95 })));
    const result = await onEvent(event('Create', properties('f2', { test_macro_f1: 0.96 }, { Approval: 'manual' })));
    const [, pending] = standin.modelPackages(group);
    expect(pending.status).toBe('PendingManualApproval');
    expect(result.Data?.ModelApprovalStatus).toBe('PendingManualApproval');
    expect(result.Data?.ServingModelPackageArn).toBe(first.Data?.ModelPackageArn);

    // aws sagemaker update-model-package --model-approval-status Approved; the next registration step sees it.
    standin.setApproval(pending.arn, 'Approved');
    const again = await onEvent(event('Update', properties('f2', { test_macro_f1: 0.96 }, { Approval: 'manual' }), pending.arn));
    expect(again.Data?.ServingModelPackageArn).toBe(pending.arn);
    expect(standin.modelPackages(group)).toHaveLength(2);
  });

  test('the first model under manual approval leaves the pointer at "none"', async () => {
    const result = await onEvent(event('Create', properties('g1', { test_macro_f1: 0.95 }, { Approval: 'manual' })));
    expect(result.Data?.ServingModelPackageArn).toBe(NO_APPROVED_VERSION);
  });

  test('one version per training job: a repeated event registers nothing new', async () => {
    const props = properties('h1', { test_macro_f1: 0.95 });
    const first = await onEvent(event('Create', props));
    const second = await onEvent(event('Update', props, first.PhysicalResourceId));
    expect(second.PhysicalResourceId).toBe(first.PhysicalResourceId);
    expect(standin.modelPackages(group)).toHaveLength(1);
    expect(standin.operations().filter((o) => o === 'CreateModelPackage')).toHaveLength(1);
  });

  test('a repeated event for a rejected model fails again with the recorded reason', async () => {
    const props = properties('i1', { test_macro_f1: 0.5 });
    await expect(onEvent(event('Create', props))).rejects.toThrow(/below the minimum/);
    await expect(onEvent(event('Update', props))).rejects.toThrow(/Quality gate failed: test_macro_f1 0\.5 is below the minimum 0\.9/);
    expect(standin.modelPackages(group)).toHaveLength(1);
  });

  test('a version a person rejected fails the deploy saying so, without a second version', async () => {
    const props = properties('m1', { test_macro_f1: 0.95 }, { Approval: 'manual' });
    const first = await onEvent(event('Create', props));
    standin.setApproval(first.PhysicalResourceId, 'Rejected');
    await expect(onEvent(event('Update', props, first.PhysicalResourceId))).rejects.toThrow(
      /^The model was rejected in the registry: no reason given\. .*registered as Rejected/,
    );
    expect(standin.modelPackages(group)).toHaveLength(1);
  });

  test('rollback: an earlier approved version stays addressable by number, and delete keeps every version', async () => {
    const v1 = await onEvent(event('Create', properties('j1', { test_macro_f1: 0.95 })));
    await onEvent(event('Create', properties('j2', { test_macro_f1: 0.96 })));
    expect(v1.Data?.ModelPackageArn).toBe(`arn:aws:sagemaker:eu-west-1:123456789012:model-package/${group}/1`);
    await onEvent(event('Delete', properties('j2', { test_macro_f1: 0.96 }), v1.PhysicalResourceId));
    expect(standin.modelPackages(group).map((p) => p.status)).toEqual(['Approved', 'Approved']);
  });

  test('a model without the gated metric is rejected, listing what it has', async () => {
    await expect(onEvent(event('Create', properties('k1', { test_accuracy: 0.99 })))).rejects.toThrow(
      /the evaluation has no test_macro_f1; it has test_accuracy/,
    );
  });
});

/**
 * Like with like: the gate reads the evaluate job's comparison (comparison.json, approved/evaluation.json) from S3
 * (moto, behind the API-model proxy) beside the evaluation report, as evaluate writes them.
 */
describe('the gate on the same test rows (the evaluate job scored the approved model)', () => {
  const BUCKET = 'dlplatform-data-modelbucket';
  let moto: MotoServer;
  let s3: S3Client;
  let folderCount = 0;

  beforeAll(async () => {
    moto = await startMoto();
    process.env.AWS_ENDPOINT_URL_S3 = moto.endpoint;
    s3 = new S3Client({ forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
  }, 60_000);

  afterAll(async () => {
    await moto?.stop();
  });

  /** evaluation.json as evaluate writes it, with the gated figure. */
  const evaluation = (f1: number) => ({
    accuracy: f1,
    macro_avg: { precision: f1, recall: f1, f1 },
    weighted_avg: { f1 },
    log_loss: 0.2,
    calibration: { expected_calibration_error: 0.01 },
    latency: { single_row_ms: { p50: 1 } },
  });

  /** An evaluation folder in S3 holding what evaluate writes; returns its EvaluationUri. */
  async function evaluationFolder(files: Record<string, unknown>): Promise<string> {
    const prefix = `evaluations/dlplatform-training-evaluate-${String(++folderCount).padStart(16, '0')}/evaluation/`;
    for (const [name, body] of Object.entries(files)) {
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${prefix}${name}`, Body: JSON.stringify(body) }));
    }
    return `s3://${BUCKET}/${prefix}evaluation.json`;
  }

  const sameProblem = { same_problem: true, differences: [], approved_evaluation: `${APPROVED_DIR}/${EVALUATION_JSON}` };

  /** Version 1, approved with 0.97 on its own test rows; returns its model's URL. */
  async function approvedVersion(job: string): Promise<string> {
    const approved = properties(job, { test_macro_f1: 0.97 });
    await onEvent(event('Create', approved));
    return approved.ModelDataUrl;
  }

  test("a candidate worse than the approved model's registered figure but better on the same new rows is approved", async () => {
    const approvedUrl = await approvedVersion('s1');
    const uri = await evaluationFolder({
      [EVALUATION_JSON]: evaluation(0.94),
      [COMPARISON_JSON]: sameProblem,
      [`${APPROVED_DIR}/${EVALUATION_JSON}`]: evaluation(0.93),
    });
    // 0.94 is 0.03 below the registered 0.97 (beyond 0.02), but the approved model scores 0.93 on these rows.
    const result = await onEvent(
      event('Create', properties('s2', { test_macro_f1: 0.94 }, { EvaluationUri: uri, ApprovedModelDataUrl: approvedUrl })),
    );
    expect(result.Data?.ModelApprovalStatus).toBe('Approved');
    expect(result.Data?.GateReason).toBe(
      'test_macro_f1 0.94 meets the bar 0.9 and is within 0.02 of the approved model version 1 (dlplatform-training-00000000000000s1) (0.93 on the same test rows)',
    );
  });

  test('a candidate better than the registered figure but worse on the same rows is rejected, naming the same rows', async () => {
    const approvedUrl = await approvedVersion('t1');
    const uri = await evaluationFolder({
      [EVALUATION_JSON]: evaluation(0.92),
      [COMPARISON_JSON]: sameProblem,
      [`${APPROVED_DIR}/${EVALUATION_JSON}`]: evaluation(0.96),
    });
    // Its training job reported 0.98 (above the registered 0.97); on the rows both models were scored on, 0.92 against 0.96.
    await expect(
      onEvent(event('Create', properties('t2', { test_macro_f1: 0.98 }, { EvaluationUri: uri, ApprovedModelDataUrl: approvedUrl }))),
    ).rejects.toThrow(/test_macro_f1 0\.92 is 0\.04 below the approved model version 1 \(\S+\) \(0\.96 on the same test rows\)/);
    expect(standin.modelPackages(group).map((p) => p.status)).toEqual(['Approved', 'Rejected']);
  });

  test('a different problem is refused with what to do, and no version is recorded; accepted with schemaChange accept', async () => {
    const approvedUrl = await approvedVersion('u1');
    const differences = ['input columns: the candidate adds "colour"', 'labels: "a", "b" against the approved model\'s "x", "y"'];
    const uri = await evaluationFolder({
      [EVALUATION_JSON]: evaluation(0.91),
      [COMPARISON_JSON]: { same_problem: false, differences, approved_evaluation: null },
    });
    const candidate = properties('u2', { test_macro_f1: 0.91 }, { EvaluationUri: uri, ApprovedModelDataUrl: approvedUrl });
    const refused = onEvent(event('Create', candidate));
    await expect(refused).rejects.toThrow(
      /is refused: a different problem from the approved model version 1 \(\S+\) \(input columns: the candidate adds "colour"; labels: .*\): not compared and not a regression; train it into a new model group .*or set qualityGateSchemaChange=accept/,
    );
    await expect(refused).rejects.not.toThrow(/is [0-9.]+ below|more than the tolerance/);
    expect(standin.modelPackages(group)).toHaveLength(1);

    const gate = JSON.stringify({ metric: 'test_macro_f1', bar: 0.9, maxRegression: 0.02, schemaChange: 'accept' });
    const accepted = await onEvent(event('Create', { ...candidate, QualityGate: gate }));
    expect(accepted.Data?.ModelApprovalStatus).toBe('Approved');
    expect(accepted.Data?.GateReason).toMatch(/meets the bar 0\.9; a different problem .*accepted by qualityGateSchemaChange=accept/);
  });

  test('a comparison with a model that is no longer the approved one is not used: the registered figure, saying why', async () => {
    await approvedVersion('v1');
    const uri = await evaluationFolder({
      [EVALUATION_JSON]: evaluation(0.94),
      [COMPARISON_JSON]: sameProblem,
      [`${APPROVED_DIR}/${EVALUATION_JSON}`]: evaluation(0.5),
    });
    const earlier = `s3://${BUCKET}/models/dlplatform-training-00000000000000v0/output/model.tar.gz`;
    await expect(
      onEvent(event('Create', properties('v2', { test_macro_f1: 0.94 }, { EvaluationUri: uri, ApprovedModelDataUrl: earlier }))),
    ).rejects.toThrow(/\(0\.97, as registered: the evaluate job scored s3:\/\/\S+v0\/output\/model\.tar\.gz, not this version's model/);
  });

  test('no comparison beside the evaluation (the approved artifact could not be scored): the registered figure, saying so', async () => {
    const approvedUrl = await approvedVersion('w1');
    const uri = await evaluationFolder({ [EVALUATION_JSON]: evaluation(0.94) });
    await expect(
      onEvent(event('Create', properties('w2', { test_macro_f1: 0.94 }, { EvaluationUri: uri, ApprovedModelDataUrl: approvedUrl }))),
    ).rejects.toThrow(/\(0\.97, as registered: s3:\/\/\S+ holds no comparison\.json/);
  });

  test('a comparison that is not what evaluate writes fails the registration naming the file', async () => {
    const approvedUrl = await approvedVersion('x1');
    const uri = await evaluationFolder({ [EVALUATION_JSON]: evaluation(0.94), [COMPARISON_JSON]: { same: 'yes' } });
    await expect(
      onEvent(event('Create', properties('x2', { test_macro_f1: 0.94 }, { EvaluationUri: uri, ApprovedModelDataUrl: approvedUrl }))),
    ).rejects.toThrow(/comparison\.json is not what evaluate writes: it lacks same_problem or differences/);
    expect(standin.modelPackages(group)).toHaveLength(1);
  });
});
