/**
 * One source for each contract between the app and the training image: the metrics (training-image/
 * metric-definitions.json, read by the training job, the quality gate, the configuration and local mode) and
 * prepare's settings (lib/image-settings.ts, used by the deploy and local mode alike).
 */
import { Template } from 'aws-cdk-lib/assertions';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { APPROVED_DIR, COMPARISON_JSON, EVALUATION_JSON } from '../constructs/training/runtime/evaluation-comparison';
import { APPROVED_MODEL_INPUT, PROCESSING_ROOT } from '../constructs/training/runtime/job-requests';
import { EVALUATION_METRICS, evaluationMetrics, IMAGE_METRICS, LOWER_IS_BETTER } from '../constructs/training/runtime/metric-definitions';
import { applyQualityGate } from '../constructs/training/runtime/quality-gate';
import { TEST_ROWS_FILE } from '../constructs/training/runtime/retraining-contract';
import { SETTINGS } from '../lib/config';
import { prepareEnvironment, trainingHyperparameters } from '../lib/image-settings';
import { loadLocalConfig } from '../local/local-config';
import { parseLocalOptions, UsageError } from '../local/local-options';
import { buildTestPlatform } from './support/platform';
import { evaluate } from './support/training-job-events';

const EVALUATION = {
  accuracy: 0.97,
  macro_avg: { precision: 0.96, recall: 0.95, f1: 0.955 },
  weighted_avg: { f1: 0.969 },
  log_loss: 0.11,
  calibration: { expected_calibration_error: 0.013 },
  latency: { single_row_ms: { p50: 0.19, p99: 0.4 }, batch_ms_per_row: 0.01 },
};

describe('the metric contract (metric-definitions.json)', () => {
  test('reads every evaluation metric where the file says the report holds it', () => {
    expect(evaluationMetrics(EVALUATION)).toEqual({
      test_accuracy: 0.97,
      test_macro_precision: 0.96,
      test_macro_recall: 0.95,
      test_macro_f1: 0.955,
      test_weighted_f1: 0.969,
      test_log_loss: 0.11,
      test_ece: 0.013,
      test_latency_p50_ms: 0.19,
    });
  });

  test('an evaluation without a metric the file names fails, naming the metric and the path', () => {
    expect(() => evaluationMetrics({ ...EVALUATION, calibration: {} })).toThrow(
      'The evaluation has no number at calibration.expected_calibration_error (test_ece',
    );
  });

  test("the quality gate takes each metric's direction from the file", () => {
    expect([...LOWER_IS_BETTER]).toEqual(IMAGE_METRICS.filter((m) => m.Direction === 'Minimize').map((m) => m.Name));
    for (const metric of EVALUATION_METRICS) {
      const lower = IMAGE_METRICS.find((m) => m.Name === metric)!.Direction === 'Minimize';
      expect({ metric, passed: applyQualityGate({ [metric]: 2 }, { metric, bar: 1, maxRegression: 0 }).passed }).toEqual({
        metric,
        passed: !lower,
      });
    }
  });

  test("the gate may compare exactly the evaluation's metrics, and the setting says which are better lower", () => {
    expect(() => SETTINGS.qualityGateMetric.parse('validation_loss', 'qualityGateMetric')).toThrow(
      /allowed: test_accuracy, test_macro_precision/,
    );
    expect(SETTINGS.qualityGateMetric.description).toContain('For test_log_loss, test_ece and test_latency_p50_ms lower is better.');
  });
});

describe("the gate's comparison: the names the app reads are the image's", () => {
  test("evaluate's comparison files, its approved-model input and prepare's raw test rows are named as the Python names them", () => {
    const root = path.join(__dirname, '..');
    const script = [
      'import json',
      'from dlplatform.evaluate.comparison import APPROVED_DIR, COMPARISON_JSON',
      'from dlplatform.evaluate.evaluation import EVALUATION_JSON',
      'from dlplatform.paths import SageMakerPaths',
      'from dlplatform.prepare.job import TEST_ROWS_FILE',
      "p = SageMakerPaths.from_env({'SM_ROOT': '/opt/ml'})",
      'print(json.dumps([APPROVED_DIR, COMPARISON_JSON, EVALUATION_JSON, TEST_ROWS_FILE, str(p.evaluate_approved_model_dir)]))',
    ].join('\n');
    const python = execFileSync(path.join(root, '.venv', 'bin', 'python'), ['-c', script], {
      env: { ...process.env, PYTHONPATH: path.join(root, 'training-image', 'src') },
      encoding: 'utf8',
    });
    expect(JSON.parse(python)).toEqual([
      APPROVED_DIR,
      COMPARISON_JSON,
      EVALUATION_JSON,
      TEST_ROWS_FILE,
      `${PROCESSING_ROOT}/input/${APPROVED_MODEL_INPUT}`,
    ]);
  });
});

describe("prepare's settings: the deploy and local mode read them the same way", () => {
  /** The prepare job's Environment and the training job's HyperParameters the deploy synthesizes. */
  function deployed(overrides: Record<string, unknown>): { environment: Record<string, string>; hyperparameters: Record<string, string> } {
    const { platform } = buildTestPlatform(overrides);
    const template = Template.fromStack(platform.training);
    const request = (type: string, property: string) => {
      const [start] = Object.values(template.findResources(type, { Properties: { Phase: 'start' } }));
      return JSON.parse(evaluate(platform.training.resolve(start.Properties[property])) as string);
    };
    const prepare = Object.values(template.findResources('Custom::SageMakerProcessingJob', { Properties: { Phase: 'start' } }))
      .map((r) => JSON.parse(evaluate(platform.training.resolve(r.Properties.CreateProcessingJobRequest)) as string))
      .find((r) => r.AppSpecification.ContainerArguments[0] === 'prepare');
    return {
      environment: prepare.Environment,
      hyperparameters: request('Custom::SageMakerTrainingJob', 'CreateTrainingJobRequest').HyperParameters,
    };
  }

  test("local mode's -c overrides reach prepare and training exactly as the deploy passes them", () => {
    const overrides = { prepareMissingValues: 'drop', prepareSeed: '7', prepareLabelColumn: 'class', hyperparameters: '{"epochs":"3"}' };
    const { config } = loadLocalConfig(overrides);
    const deploy = deployed(overrides);
    expect(prepareEnvironment(config)).toEqual(deploy.environment);
    expect(trainingHyperparameters(config)).toEqual(deploy.hyperparameters);
    expect(deploy.environment).toEqual({
      PREPARE_LABEL_COLUMN: 'class',
      PREPARE_MISSING_VALUES: 'drop',
      PREPARE_DROP_DUPLICATES: 'true',
      PREPARE_CONSTANT_COLUMNS: 'drop',
      PREPARE_VALIDATION_FRACTION: '0.15',
      PREPARE_TEST_FRACTION: '0.15',
      PREPARE_SEED: '7',
    });
    expect(deploy.hyperparameters).toEqual({ label_column: 'class', epochs: '3' });
  });

  test("local mode reads cdk.json's settings, the -c overrides over them", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'local-config-'));
    try {
      fs.writeFileSync(path.join(root, 'cdk.json'), JSON.stringify({ context: { prepareMissingValues: 'mean', prepareSeed: 11 } }));
      expect(prepareEnvironment(loadLocalConfig({}, root).config)).toMatchObject({ PREPARE_MISSING_VALUES: 'mean', PREPARE_SEED: '11' });
      expect(prepareEnvironment(loadLocalConfig({ prepareSeed: '12' }, root).config)).toMatchObject({
        PREPARE_MISSING_VALUES: 'mean',
        PREPARE_SEED: '12',
      });
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test("an unset label column adds nothing, so the default deploy's jobs keep their names", () => {
    const { environment, hyperparameters } = deployed({});
    expect(environment).not.toHaveProperty('PREPARE_LABEL_COLUMN');
    expect(hyperparameters).toEqual({});
  });

  test('a PREPARE_* variable in the shell is refused with the -c that replaces it, not silently ignored', () => {
    expect(parseLocalOptions(['-c', 'prepareSeed=3', '--context', 'trainingUseSpot=false'], {}).context).toEqual({
      prepareSeed: '3',
      trainingUseSpot: 'false',
    });
    expect(() => parseLocalOptions([], { PREPARE_MISSING_VALUES: 'drop' })).toThrow(
      new UsageError(
        "PREPARE_MISSING_VALUES set in the environment: local mode reads prepare's settings as cdk deploy does, from cdk.json and -c; " +
          'unset it and pass -c prepareMissingValues=drop',
      ),
    );
    expect(() => parseLocalOptions(['-c', 'prepareSeed'], {})).toThrow(
      '-c takes key=value (a setting of lib/config.ts), got "prepareSeed"',
    );
  });

  test('--label is the prepareLabelColumn setting the deploy reads, and the text-column settings reach prepare', () => {
    const options = parseLocalOptions(['--label', 'diagnosis', '-c', 'prepareMaxCategories=5', '-c', 'prepareUnseenCategories=refuse'], {});
    expect(options.context).toEqual({ prepareLabelColumn: 'diagnosis', prepareMaxCategories: '5', prepareUnseenCategories: 'refuse' });
    const { config } = loadLocalConfig(options.context);
    expect(prepareEnvironment(config)).toEqual(deployed(options.context).environment);
    expect(prepareEnvironment(config)).toMatchObject({
      PREPARE_LABEL_COLUMN: 'diagnosis',
      PREPARE_MAX_CATEGORIES: '5',
      PREPARE_UNSEEN_CATEGORIES: 'refuse',
    });
    expect(trainingHyperparameters(config)).toEqual({ label_column: 'diagnosis' });
    expect(() => parseLocalOptions(['--label', 'a', '-c', 'prepareLabelColumn=b'], {})).toThrow(
      '--label a and -c prepareLabelColumn=b disagree',
    );
    expect(() => parseLocalOptions(['--label', 'a', '--model-dir', '/tmp/m'], {})).toThrow('--label has no effect with --model-dir');
  });
});
