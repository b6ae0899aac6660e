/**
 * The local stand-ins refuse what the real services' API models refuse, answering through the unmodified SDK
 * clients with each service's own validation error: the SageMaker API stand-in (awsJson1_1), the SageMaker
 * Runtime stand-in (restJson1) and moto behind the API-model proxy (DynamoDB, Secrets Manager).
 */
import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { CreateTrainingJobCommand, DescribeTrainingJobCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

import { MAX_PAYLOAD_BYTES } from '../constructs/serving/runtime/prediction-request';
import { loadServiceModel } from '../local/api-model/service-model';
import { SageMakerRuntimeStandIn, startSageMakerRuntimeStandIn } from '../local/sagemaker-runtime-standin';
import { freePort, MotoServer, startMoto } from './support/moto-server';
import { SageMakerStandin } from './support/sagemaker-api-standin';

const client = { region: 'eu-west-1', credentials: { accessKeyId: 'AKIDSTANDIN', secretAccessKey: 'standin-secret' }, maxAttempts: 1 };
const saved = { ...process.env };

/** The error an SDK call rejects with: its name, HTTP status and message. */
async function failure(call: Promise<unknown>): Promise<{ name: string; status?: number; message: string }> {
  try {
    await call;
  } catch (e) {
    const err = e as Error & { $metadata?: { httpStatusCode?: number } };
    return { name: err.name, status: err.$metadata?.httpStatusCode, message: err.message };
  }
  throw new Error('the call succeeded');
}

beforeAll(() => {
  // Tests run on the repository's Node; the functions run on Node 24, where the SDK does not warn.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
});
afterAll(() => {
  process.env = saved;
});

describe('SageMaker API stand-in', () => {
  const standin = new SageMakerStandin();
  let sagemaker: SageMakerClient;
  beforeAll(async () => {
    sagemaker = new SageMakerClient({ ...client, endpoint: await standin.start() });
  });
  afterAll(async () => {
    sagemaker.destroy();
    await standin.stop();
  });

  test('refuses a TrainingJobName over 63 characters with ValidationException (400)', async () => {
    const name = 'a'.repeat(64);
    expect(await failure(sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: name })))).toEqual({
      name: 'ValidationException',
      status: 400,
      message:
        `2 validation errors detected: Value '${name}' at 'trainingJobName' failed to satisfy constraint: Member must have length less than or equal to 63; ` +
        `Value '${name}' at 'trainingJobName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`,
    });
  });

  test('refuses a CreateTrainingJob with a missing required member and an out-of-range number, naming both', async () => {
    const err = await failure(
      sagemaker.send(
        new CreateTrainingJobCommand({
          TrainingJobName: 'job-1',
          AlgorithmSpecification: { TrainingInputMode: 'File', TrainingImage: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/repo:tag' },
          OutputDataConfig: { S3OutputPath: 's3://bucket/models/' },
          ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 30 },
          StoppingCondition: { MaxRuntimeInSeconds: 0 },
        } as never),
      ),
    );
    expect(err).toMatchObject({ name: 'ValidationException', status: 400 });
    expect(err.message).toBe(
      "2 validation errors detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null; " +
        "Value '0' at 'stoppingCondition.maxRuntimeInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 1",
    );
    expect(() => standin.job('job-1')).toThrow(/no job job-1/);
  });
});

describe('SageMaker Runtime stand-in', () => {
  let standIn: SageMakerRuntimeStandIn;
  let runtime: SageMakerRuntimeClient;
  beforeAll(async () => {
    // No model server: every request here must be refused before it would be forwarded.
    standIn = await startSageMakerRuntimeStandIn({ modelUrl: `http://127.0.0.1:${await freePort()}` });
    runtime = new SageMakerRuntimeClient({ ...client, endpoint: standIn.url });
  });
  afterAll(async () => {
    runtime.destroy();
    await standIn.close();
  });

  const invoke = (input: Partial<ConstructorParameters<typeof InvokeEndpointCommand>[0]>) =>
    failure(
      runtime.send(
        new InvokeEndpointCommand({ EndpointName: 'digits-endpoint', ContentType: 'application/json', Body: Buffer.from('{}'), ...input }),
      ),
    );

  test('refuses an endpoint name outside the pattern with ValidationError (400)', async () => {
    expect(await invoke({ EndpointName: 'digits_endpoint' })).toEqual({
      name: 'ValidationError',
      status: 400,
      message:
        "1 validation error detected: Value 'digits_endpoint' at 'endpointName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9])*",
    });
  });

  test('refuses custom attributes over 1024 characters without echoing them (they are sensitive)', async () => {
    expect(await invoke({ CustomAttributes: 'a'.repeat(1025) })).toMatchObject({
      name: 'ValidationError',
      message:
        "1 validation error detected: Value at 'customAttributes' failed to satisfy constraint: Member must have length less than or equal to 1024",
    });
  });

  test("refuses a body over InvokeEndpoint's 6 MB", async () => {
    expect(await invoke({ Body: Buffer.alloc(6 * 1024 * 1024 + 1) })).toMatchObject({
      name: 'ValidationError',
      message:
        "1 validation error detected: Value at 'body' failed to satisfy constraint: Member must have length less than or equal to 6291456",
    });
  });

  test("the proxy's own payload limit is within InvokeEndpoint's body limit in the model", () => {
    const body = loadServiceModel('sagemaker-runtime').shapes.BodyBlob;
    expect(MAX_PAYLOAD_BYTES).toBeLessThanOrEqual(body.max!);
  });
});

describe('moto behind the API-model proxy', () => {
  let moto: MotoServer;
  let dynamodb: DynamoDBClient;
  let secrets: SecretsManagerClient;
  beforeAll(async () => {
    moto = await startMoto();
    dynamodb = new DynamoDBClient({ ...client, endpoint: moto.endpoint });
    secrets = new SecretsManagerClient({ ...client, endpoint: moto.endpoint });
    await dynamodb.send(
      new CreateTableCommand({
        TableName: 'claims',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  });
  afterAll(async () => {
    dynamodb.destroy();
    secrets.destroy();
    await moto.stop();
  });

  test('forwards a valid DynamoDB request to moto', async () => {
    await dynamodb.send(new PutItemCommand({ TableName: 'claims', Item: { pk: { S: 'a' } } }));
    const out = await dynamodb.send(new GetItemCommand({ TableName: 'claims', Key: { pk: { S: 'a' } } }));
    expect(out.Item).toEqual({ pk: { S: 'a' } });
    expect(moto.proxy.checked.get('DynamoDB.PutItem')).toEqual({ requests: 1, refused: 0 });
  });

  test('refuses a DynamoDB value outside an enum with ValidationException', async () => {
    expect(
      await failure(
        dynamodb.send(new PutItemCommand({ TableName: 'claims', Item: { pk: { S: 'b' } }, ReturnValues: 'EVERYTHING' as never })),
      ),
    ).toEqual({
      name: 'ValidationException',
      status: 400,
      message:
        "1 validation error detected: Value 'EVERYTHING' at 'returnValues' failed to satisfy constraint: Member must satisfy enum value set: [NONE, ALL_OLD, UPDATED_OLD, ALL_NEW, UPDATED_NEW]",
    });
  });

  test('refuses a DynamoDB number out of range and a missing required member', async () => {
    expect((await failure(dynamodb.send(new ScanCommand({ TableName: 'claims', Limit: 0 })))).message).toBe(
      "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1",
    );
    expect(await failure(dynamodb.send(new GetItemCommand({ TableName: 'claims' } as never)))).toMatchObject({
      name: 'ValidationException',
      message: "1 validation error detected: Value null at 'key' failed to satisfy constraint: Member must not be null",
    });
  });

  test('refuses a Secrets Manager SecretId over 2048 characters with ValidationException', async () => {
    expect(await failure(secrets.send(new GetSecretValueCommand({ SecretId: 'a'.repeat(2049) })))).toMatchObject({
      name: 'ValidationException',
      status: 400,
      message: expect.stringMatching(
        /^1 validation error detected: Value 'a{200}\.\.\.' at 'secretId' failed to satisfy constraint: Member must have length less than or equal to 2048$/,
      ),
    });
  });
});
