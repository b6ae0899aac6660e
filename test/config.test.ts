import * as fs from 'fs';

import { PROCESSING_INSTANCE_TYPES } from '../constructs/instance-types';
import { ConfigError, loadConfig, SETTINGS } from '../lib/config';
import { loadServiceModel } from '../local/api-model/service-model';
import { SETTINGS_DOC, withCurrentTable } from '../scripts/settings-table';
import { buildTestPlatform } from './support/platform';

function errorFor(context: Record<string, unknown>): string {
  try {
    loadConfig(context);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(context)} to be rejected`);
}

describe('configuration', () => {
  test('every setting has a default that passes its own validation', () => {
    const config = loadConfig({});
    for (const [key, spec] of Object.entries(SETTINGS)) {
      expect(config[key as keyof typeof config]).toEqual(spec.default);
    }
    expect(config.trainingInstanceType).toBe('ml.p3.2xlarge');
  });

  test('accepts typed values from cdk.json and strings from -c key=value alike', () => {
    const typed = loadConfig({
      trainingInstanceCount: 2,
      trainingUseSpot: false,
      trainingMaxRuntimeSeconds: 1800,
      qualityGateBar: 0.9,
      apiAllowedCidrs: ['10.0.0.0/8'],
    });
    const strings = loadConfig({
      trainingInstanceCount: '2',
      trainingUseSpot: 'false',
      trainingMaxRuntimeSeconds: '1800',
      qualityGateBar: '0.9',
      apiAllowedCidrs: '10.0.0.0/8',
    });
    expect(strings).toEqual(typed);
    expect(loadConfig({ hyperparameters: '{"epochs": 5}' }).hyperparameters).toEqual({ epochs: '5' });
  });

  test.each([
    [{ trainingInstanceType: 'ml.p9.mega' }, 'Invalid setting "trainingInstanceType": "ml.p9.mega"; allowed: ml.p3.2xlarge'],
    [{ servingInstanceType: 'm5.large' }, 'Invalid setting "servingInstanceType": "m5.large"; allowed: ml.t2.medium'],
    [{ trainingInstanceCount: -1 }, 'Invalid setting "trainingInstanceCount": -1; allowed: a whole number from 1 to 64'],
    [{ servingMaxCapacity: '2.5' }, 'Invalid setting "servingMaxCapacity": "2.5"; allowed: a whole number from 1 to 100'],
    [{ qualityGateBar: -1 }, 'Invalid setting "qualityGateBar": -1; allowed: a number from 0 to 1000000'],
    [{ qualityGateBar: 'high' }, 'Invalid setting "qualityGateBar": "high"; allowed: a number from 0 to 1000000'],
    [{ qualityGateMetric: 'train_loss' }, 'Invalid setting "qualityGateMetric": "train_loss"; allowed: test_accuracy'],
    [{ modelApproval: 'sometimes' }, 'Invalid setting "modelApproval": "sometimes"; allowed: automatic, manual'],
    [{ servingModelPackageVersion: 0 }, 'Invalid setting "servingModelPackageVersion": 0; allowed: a whole number from 1 to 1000000'],
    [{ prepareMissingValues: 'zero' }, 'Invalid setting "prepareMissingValues": "zero"; allowed: median, mean, drop'],
    [{ prepareInstanceType: 'ml.p3.2xlarge' }, 'Invalid setting "prepareInstanceType": "ml.p3.2xlarge"; allowed: ml.m5.large'],
    [
      { prepareValidationFraction: 0.5, prepareTestFraction: 0.45 },
      'Invalid setting "prepareTestFraction": 0.45; allowed: less than 0.4 with prepareValidationFraction 0.5',
    ],
    [
      { webhookSecretArn: 'arn:aws:s3:::bucket' },
      'Invalid setting "webhookSecretArn": "arn:aws:s3:::bucket"; allowed: an ARN of the form arn:aws:secretsmanager:',
    ],
    [{ apiAllowedCidrs: '10.0.0.0/33' }, 'Invalid setting "apiAllowedCidrs[0]": "10.0.0.0/33"; allowed: an IPv4 CIDR block'],
    [{ apiAllowedCidrs: ['256.1.1.1/8'] }, 'Invalid setting "apiAllowedCidrs[0]": "256.1.1.1/8"; allowed: an IPv4 CIDR block'],
    [{ trainingUseSpot: 'yes' }, 'Invalid setting "trainingUseSpot": "yes"; allowed: true or false'],
    [{ deploymentStrategy: 'big-bang' }, 'Invalid setting "deploymentStrategy": "big-bang"; allowed: canary, linear, all-at-once'],
    [{ region: 'mars-1' }, 'Invalid setting "region": "mars-1"; allowed: an AWS region'],
    [{ account: '1234' }, 'Invalid setting "account": "1234"; allowed: a 12-digit AWS account id'],
    [{ hyperparameters: '{epochs: 5' }, 'Invalid setting "hyperparameters": "{epochs: 5"; allowed: valid JSON'],
    [{ hyperparameters: { 'Bad Name': '1' } }, 'Invalid setting "hyperparameters.Bad Name"'],
    [{ dataSourceUri: 'https://example.com/data' }, 'Invalid setting "dataSourceUri": "https://example.com/data"; allowed: an S3 URI'],
  ])('rejects %j with a message naming the setting, the value and what is allowed', (context, message) => {
    expect(errorFor(context)).toContain(message);
  });

  test('reports every bad setting at once, one line each', () => {
    const lines = errorFor({ trainingInstanceCount: 0, servingMaxCapacity: 0 }).split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain('"trainingInstanceCount"');
    expect(lines[1]).toContain('"servingMaxCapacity"');
  });

  test.each([
    [
      { trainingMaxWaitSeconds: 600, trainingMaxRuntimeSeconds: 1200 },
      '"trainingMaxWaitSeconds": 600; allowed: at least trainingMaxRuntimeSeconds (1200)',
    ],
    [
      { trainingMaxWaitSeconds: 7500, trainingTimeoutMinutes: 120 },
      '"trainingMaxWaitSeconds": 7500; allowed: at most trainingTimeoutMinutes * 60 (7200)',
    ],
    [{ trainingSubnetIds: ['subnet-0123456789abcdef0'] }, '"trainingSubnetIds"'],
    [{ servingMinCapacity: 5, servingMaxCapacity: 2 }, '"servingMinCapacity": 5; allowed: at most servingMaxCapacity (2)'],
    [
      { apiThrottleRateLimit: 500, apiThrottleBurstLimit: 100 },
      '"apiThrottleBurstLimit": 100; allowed: at least apiThrottleRateLimit (500)',
    ],
  ])('rejects the inconsistent combination %j', (context, message) => {
    expect(errorFor(context)).toContain(message);
  });

  test('a bad -c value fails synth of the whole app', () => {
    expect(() => buildTestPlatform({ servingInstanceType: 'ml.nope' })).toThrow(/Invalid setting "servingInstanceType": "ml.nope"/);
  });

  test('docs/configuration.md documents every setting with its current default (npm run docs:settings)', () => {
    const page = fs.readFileSync(SETTINGS_DOC, 'utf8');
    expect(page).toEqual(withCurrentTable(page));
    for (const key of Object.keys(SETTINGS)) expect(page).toContain(`| \`${key}\` |`);
  });
});

describe('processing instance types', () => {
  test("every prepare instance type is one SageMaker offers for Processing jobs (botocore's ProcessingInstanceType enum)", () => {
    const offered = loadServiceModel('sagemaker').shapes.ProcessingInstanceType.enum!;
    expect(PROCESSING_INSTANCE_TYPES.filter((t) => !offered.includes(t))).toEqual([]);
  });
});
