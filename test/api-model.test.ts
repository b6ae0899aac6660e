/**
 * The API-model validator itself: botocore's published models from the venv, Java patterns translated to
 * JavaScript, and every kind of constraint the services check, each shown to catch a bad request.
 */
import * as fs from 'fs';
import * as path from 'path';

import { compileJavaPattern, UnsupportedJavaPattern } from '../local/api-model/java-pattern';
import { restInput } from '../local/api-model/rest-input';
import { botocoreVersion, loadServiceModel } from '../local/api-model/service-model';
import { validateInput, validationMessage } from '../local/api-model/validate-input';

/** Every service a handler calls, and SNS (the alarm topic), by botocore name. */
const SERVICES = ['sagemaker', 'sagemaker-runtime', 'dynamodb', 'secretsmanager', 'sns'];
const sagemaker = loadServiceModel('sagemaker');

/** A CreateTrainingJob request SageMaker accepts, shaped like the one the TrainingJob construct builds. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests reach into and break nested members freely
function goodRequest(): Record<string, any> {
  return {
    TrainingJobName: 'dlplatform-train-0123456789ab',
    RoleArn: 'arn:aws:iam::123456789012:role/TrainingRole',
    AlgorithmSpecification: { TrainingImage: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/repo:tag', TrainingInputMode: 'File' },
    HyperParameters: { epochs: '10' },
    InputDataConfig: [{ ChannelName: 'train', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://bucket/data/train/' } } }],
    OutputDataConfig: { S3OutputPath: 's3://bucket/models/' },
    ResourceConfig: { InstanceType: 'ml.p3.2xlarge', InstanceCount: 1, VolumeSizeInGB: 30 },
    StoppingCondition: { MaxRuntimeInSeconds: 3600, MaxWaitTimeInSeconds: 7200 },
    EnableManagedSpotTraining: true,
  };
}

function violations(operation: string, input: unknown, model = sagemaker): string[] {
  return validateInput(model, operation, input).map((v) => `${v.path}: ${v.constraint}`);
}

describe('botocore service models from the venv', () => {
  test('the installed botocore is the release pinned in requirements-dev.txt', () => {
    const pins = fs.readFileSync(path.join(__dirname, '..', 'training-image', 'requirements-dev.txt'), 'utf8');
    expect(pins).toMatch(new RegExp(`^botocore==${botocoreVersion().replace(/\./g, '\\.')}$`, 'm'));
  });

  test.each(SERVICES)('every pattern in the %s model translates to a JavaScript RegExp', (service) => {
    const patterns = Object.values(loadServiceModel(service).shapes).flatMap((s) => (s.pattern === undefined ? [] : [s.pattern]));
    expect(patterns.length).toBeGreaterThan(0);
    for (const pattern of patterns) expect(() => compileJavaPattern(pattern)).not.toThrow();
  });
});

describe('Java patterns as the services match them', () => {
  test('a value must match as a whole, not merely contain a match', () => {
    expect(compileJavaPattern('[a-zA-Z0-9_.-]+').test('"smart-dcb-messages"')).toBe(false);
    expect(compileJavaPattern('[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}').test('my_job')).toBe(false);
    expect(compileJavaPattern('[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}').test('my-job')).toBe(true);
  });

  test('Unicode categories (\\p{L}) match letters beyond ASCII', () => {
    expect(compileJavaPattern('([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)').test('Équipe données 2')).toBe(true);
    expect(compileJavaPattern('([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)').test('a;b')).toBe(false);
  });

  test('Java POSIX classes and \\A...\\z: \\p{Print} is printable ASCII only', () => {
    const re = compileJavaPattern('\\A\\S[\\p{Print}]*\\z');
    expect(re.test('model-a.tar.gz')).toBe(true);
    expect(re.test(' leading space')).toBe(false);
    expect(re.test('tab\there')).toBe(false);
    expect(re.test('café')).toBe(false);
  });

  test('\\p{ASCII} refuses non-ASCII header values', () => {
    expect(compileJavaPattern('\\p{ASCII}*').test('application/json')).toBe(true);
    expect(compileJavaPattern('\\p{ASCII}*').test('text/csv; charset=\u00e9')).toBe(false);
  });

  test('a quantified anchor (${1,128}) is read as the anchor', () => {
    expect(compileJavaPattern('([\\p{L}\\p{Z}\\p{N}_.:\\/=+\\-@]*)${1,128}').test('team:ml')).toBe(true);
  });

  test('\\s is ASCII whitespace, and [\\s\\S] is any character', () => {
    expect(compileJavaPattern('\\S+').test('a\u00a0b')).toBe(true);
    expect(compileJavaPattern('[\\s\\S]+').test('any\nthing')).toBe(true);
    expect(compileJavaPattern('[a\\S]').test(' ')).toBe(false);
  });

  test('a - next to a class escape is a literal', () => {
    expect(compileJavaPattern('[\\p{L}\\p{N}-_]*').test('a-b_c')).toBe(true);
    expect(compileJavaPattern('[\\p{L}\\p{N}-_]*').test('a.b')).toBe(false);
  });

  test('Java features with no translation are refused, not mis-translated', () => {
    expect(() => compileJavaPattern('[0-9A-Z]{2}+')).toThrow(UnsupportedJavaPattern);
    expect(() => compileJavaPattern('[\\p{Print}&&[^|:/]]+')).toThrow(/class intersection/);
  });
});

describe('validating CreateTrainingJob against the SageMaker model', () => {
  test('a well-formed request has no violations', () => {
    expect(violations('CreateTrainingJob', goodRequest())).toEqual([]);
  });

  test('a TrainingJobName over 63 characters breaks both its length and its pattern', () => {
    const request = { ...goodRequest(), TrainingJobName: 'a'.repeat(64) };
    expect(violations('CreateTrainingJob', request)).toEqual([
      'trainingJobName: Member must have length less than or equal to 63',
      'trainingJobName: Member must satisfy regular expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}',
    ]);
  });

  test("a TrainingJobName outside the pattern, with the services' message", () => {
    const found = validateInput(sagemaker, 'CreateTrainingJob', { ...goodRequest(), TrainingJobName: 'my_job' });
    expect(validationMessage(found)).toBe(
      "1 validation error detected: Value 'my_job' at 'trainingJobName' failed to satisfy constraint: " +
        'Member must satisfy regular expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}',
    );
  });

  test('a value outside an enum', () => {
    const request = goodRequest();
    request.AlgorithmSpecification.TrainingInputMode = 'Streaming';
    expect(violations('CreateTrainingJob', request)).toEqual([
      'algorithmSpecification.trainingInputMode: Member must satisfy enum value set: [Pipe, File, FastFile]',
    ]);
  });

  test('a missing required member, at any depth', () => {
    const request = goodRequest();
    delete request.RoleArn;
    delete request.InputDataConfig[0].ChannelName;
    expect(violations('CreateTrainingJob', request)).toEqual([
      'roleArn: Member must not be null',
      'inputDataConfig.1.member.channelName: Member must not be null',
    ]);
  });

  test('a number out of range', () => {
    const request = goodRequest();
    request.StoppingCondition.MaxRuntimeInSeconds = 0;
    expect(violations('CreateTrainingJob', request)).toEqual([
      'stoppingCondition.maxRuntimeInSeconds: Member must have value greater than or equal to 1',
    ]);
  });

  test('a number of the wrong type (a string where the model wants an integer)', () => {
    const request = goodRequest();
    request.ResourceConfig.VolumeSizeInGB = '30';
    expect(violations('CreateTrainingJob', request)).toEqual(['resourceConfig.volumeSizeInGB: Member must be a number (integer)']);
  });

  test('a list over its maximum size', () => {
    const request = goodRequest();
    request.InputDataConfig = Array.from({ length: 21 }, (_, i) => ({ ...request.InputDataConfig[0], ChannelName: `c${i}` }));
    expect(violations('CreateTrainingJob', request)).toEqual(['inputDataConfig: Member must have length less than or equal to 20']);
  });

  test('a map over its maximum size, and a map value over its length', () => {
    const request = goodRequest();
    request.HyperParameters = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`h${i}`, '1']));
    request.HyperParameters.h0 = 'x'.repeat(2501);
    expect(violations('CreateTrainingJob', request)).toEqual([
      'hyperParameters: Member must have length less than or equal to 100',
      'hyperParameters.h0: Member must have length less than or equal to 2500',
    ]);
  });

  test('a nested member outside its pattern', () => {
    const request = goodRequest();
    request.InputDataConfig[0].DataSource.S3DataSource.S3Uri = 'ftp://bucket/data';
    expect(violations('CreateTrainingJob', request)).toEqual([
      'inputDataConfig.1.member.dataSource.s3DataSource.s3Uri: Member must satisfy regular expression pattern: (https|s3)://([^/]+)/?(.*)',
    ]);
  });

  test('a member the model does not define (the SDK would silently drop it)', () => {
    const request = goodRequest();
    request.ResourceConfig.VolumeKmsKey = 'arn:aws:kms:eu-west-1:123456789012:key/1';
    expect(violations('CreateTrainingJob', request)).toEqual([
      'resourceConfig.volumeKmsKey: Member is not defined in ResourceConfig (the SDK drops it; the service ignores it)',
    ]);
  });

  test('every violation of a request is reported, not only the first', () => {
    const request = { ...goodRequest(), TrainingJobName: 'my_job', RoleArn: undefined, EnableManagedSpotTraining: 'yes' };
    expect(validationMessage(validateInput(sagemaker, 'CreateTrainingJob', request))).toMatch(
      /^3 validation errors detected: Value null at 'roleArn'.*; Value 'my_job' at 'trainingJobName'.*; Value 'yes' at 'enableManagedSpotTraining' failed to satisfy constraint: Member must be a boolean$/,
    );
  });
});

describe('validating InvokeEndpoint (restJson1: URI, headers, blob body) against the SageMaker Runtime model', () => {
  const runtime = loadServiceModel('sagemaker-runtime');
  const request = (pathname: string, headers: Record<string, string>, body: Buffer) =>
    validateInput(
      runtime,
      'InvokeEndpoint',
      restInput(runtime, 'InvokeEndpoint', { path: pathname, headers, query: new URLSearchParams(), body }),
    ).map((v) => `${v.path}: ${v.constraint}`);

  test('a well-formed invocation has no violations', () => {
    expect(
      request(
        '/endpoints/digits-endpoint/invocations',
        { 'content-type': 'application/json', accept: 'application/json' },
        Buffer.from('{}'),
      ),
    ).toEqual([]);
  });

  test('a body over 6 MB, an endpoint name outside the pattern and custom attributes over 1024 characters', () => {
    expect(
      request(
        '/endpoints/digits_endpoint/invocations',
        { 'x-amzn-sagemaker-custom-attributes': 'a'.repeat(1025) },
        Buffer.alloc(6 * 1024 * 1024 + 1),
      ),
    ).toEqual([
      'endpointName: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9])*',
      'body: Member must have length less than or equal to 6291456',
      'customAttributes: Member must have length less than or equal to 1024',
    ]);
  });

  test("a path that is not InvokeEndpoint's is no InvokeEndpoint request", () => {
    expect(
      restInput(runtime, 'InvokeEndpoint', {
        path: '/endpoints/x/other',
        headers: {},
        query: new URLSearchParams(),
        body: Buffer.alloc(0),
      }),
    ).toBeUndefined();
  });
});

describe('validating DynamoDB and Secrets Manager requests', () => {
  const dynamodb = loadServiceModel('dynamodb');
  const secrets = loadServiceModel('secretsmanager');

  test("the dedupe store's conditional PutItem is valid; a bad ReturnValues enum is not", () => {
    const put = {
      TableName: 'incident-claims',
      Item: { pk: { S: 'k' }, expiresAt: { N: '1' } },
      ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
      ExpressionAttributeValues: { ':now': { N: '0' } },
    };
    expect(violations('PutItem', put, dynamodb)).toEqual([]);
    expect(violations('PutItem', { ...put, ReturnValues: 'EVERYTHING' }, dynamodb)).toEqual([
      'returnValues: Member must satisfy enum value set: [NONE, ALL_OLD, UPDATED_OLD, ALL_NEW, UPDATED_NEW]',
    ]);
  });

  test('a Scan Limit below 1 is out of range', () => {
    expect(violations('Scan', { TableName: 'incident-claims', Limit: 0 }, dynamodb)).toEqual([
      'limit: Member must have value greater than or equal to 1',
    ]);
  });

  test('GetSecretValue without a SecretId, or with one over 2048 characters', () => {
    expect(violations('GetSecretValue', {}, secrets)).toEqual(['secretId: Member must not be null']);
    expect(violations('GetSecretValue', { SecretId: 'a'.repeat(2049) }, secrets)).toEqual([
      'secretId: Member must have length less than or equal to 2048',
    ]);
  });

  test('a sensitive value is never echoed in the message', () => {
    const found = validateInput(secrets, 'PutSecretValue', { SecretId: 's', SecretString: 'x'.repeat(65537) });
    expect(validationMessage(found)).toBe(
      "1 validation error detected: Value at 'secretString' failed to satisfy constraint: Member must have length less than or equal to 65536",
    );
  });
});
