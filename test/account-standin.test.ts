/**
 * The account stand-in behind the preflight tests refuses what the real services refuse, through the
 * unmodified SDK clients, in each service's protocol: an unsigned request, a request its API model refuses
 * (with the service's validation error), an operation it does not answer (anything that writes), and it
 * will not send an answer the model does not allow. And the query-protocol reader it uses (CloudFormation,
 * STS) reads lists and nested structures as the SDK writes them.
 */
import { CloudFormationClient, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { GetFunctionConcurrencyCommand, LambdaClient, PutFunctionConcurrencyCommand } from '@aws-sdk/client-lambda';
import { GetServiceQuotaCommand, ListAWSDefaultServiceQuotasCommand, ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';

import { queryInput } from '../local/api-model/query-protocol';
import { loadServiceModel } from '../local/api-model/service-model';
import { AccountStandin, quotaCode } from './support/account-standin';

const client = { region: 'eu-west-1', credentials: { accessKeyId: 'AKIDSTANDIN', secretAccessKey: 'standin-secret' }, maxAttempts: 1 };

async function failure(call: Promise<unknown>): Promise<{ name: string; status?: number; message: string }> {
  try {
    await call;
  } catch (e) {
    const err = e as Error & { $metadata?: { httpStatusCode?: number } };
    return { name: err.name, status: err.$metadata?.httpStatusCode, message: err.message };
  }
  throw new Error('the call succeeded');
}

const standin = new AccountStandin({
  account: '123456789012',
  parameters: { '/cdk-bootstrap/hnb659fds/version': '27' },
  lambda: { concurrentExecutions: 1000, unreservedConcurrentExecutions: 900 },
  functions: { 'my-function': 100 },
  stacks: { 'DlPlatform-Serving': [{ logicalId: 'Proxy', type: 'AWS::Lambda::Function', physicalId: 'my-function' }] },
  quotas: { sagemaker: [{ name: 'ml.m5.large for endpoint usage', defaultValue: 4, appliedValue: 2 }] },
});
let endpoint: string;
const saved = { ...process.env };

beforeAll(async () => {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  endpoint = await standin.start();
});
afterAll(async () => {
  await standin.stop();
  process.env = saved;
});

describe('account stand-in', () => {
  test('answers each protocol in the shape the SDK parses: query XML (STS, CloudFormation), JSON 1.1 (SSM, Service Quotas), REST JSON (Lambda)', async () => {
    const sts = new STSClient({ ...client, endpoint });
    const cfn = new CloudFormationClient({ ...client, endpoint });
    const ssm = new SSMClient({ ...client, endpoint });
    const quotas = new ServiceQuotasClient({ ...client, endpoint });
    const lambda = new LambdaClient({ ...client, endpoint });
    expect((await sts.send(new GetCallerIdentityCommand({}))).Account).toBe('123456789012');
    expect((await cfn.send(new ListStackResourcesCommand({ StackName: 'DlPlatform-Serving' }))).StackResourceSummaries).toEqual([
      expect.objectContaining({
        LogicalResourceId: 'Proxy',
        PhysicalResourceId: 'my-function',
        ResourceType: 'AWS::Lambda::Function',
        LastUpdatedTimestamp: new Date(1_700_000_000_000),
      }),
    ]);
    expect((await ssm.send(new GetParameterCommand({ Name: '/cdk-bootstrap/hnb659fds/version' }))).Parameter?.Value).toBe('27');
    expect(
      (await quotas.send(new GetServiceQuotaCommand({ ServiceCode: 'sagemaker', QuotaCode: quotaCode('ml.m5.large for endpoint usage') })))
        .Quota,
    ).toMatchObject({ QuotaName: 'ml.m5.large for endpoint usage', Value: 2 });
    expect((await lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: 'my-function' }))).ReservedConcurrentExecutions).toBe(100);
    for (const c of [sts, cfn, ssm, quotas, lambda]) c.destroy();
  });

  test("answers each service's own errors: CloudFormation's ValidationError for a missing stack, SSM's ParameterNotFound, Lambda's 404", async () => {
    const cfn = new CloudFormationClient({ ...client, endpoint });
    const ssm = new SSMClient({ ...client, endpoint });
    const lambda = new LambdaClient({ ...client, endpoint });
    expect(await failure(cfn.send(new ListStackResourcesCommand({ StackName: 'Nope' })))).toEqual({
      name: 'ValidationError',
      status: 400,
      message: 'Stack with id Nope does not exist',
    });
    expect(await failure(ssm.send(new GetParameterCommand({ Name: '/nope' })))).toMatchObject({ name: 'ParameterNotFound', status: 400 });
    expect(await failure(lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: 'nope' })))).toEqual({
      name: 'ResourceNotFoundException',
      status: 404,
      message: 'Function not found: arn:aws:lambda:eu-west-1:123456789012:function:nope',
    });
    for (const c of [cfn, ssm, lambda]) c.destroy();
  });

  test("refuses a request the API model refuses, with the service's validation error", async () => {
    const quotas = new ServiceQuotasClient({ ...client, endpoint });
    const lambda = new LambdaClient({ ...client, endpoint });
    expect(await failure(quotas.send(new ListAWSDefaultServiceQuotasCommand({ ServiceCode: 'sagemaker', MaxResults: 101 })))).toEqual({
      name: 'ValidationException',
      status: 400,
      message:
        "1 validation error detected: Value '101' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100",
    });
    expect(await failure(lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: 'not a name!' })))).toMatchObject({
      name: 'ValidationException',
      status: 400,
      message: expect.stringContaining("at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern"),
    });
    quotas.destroy();
    lambda.destroy();
  });

  test("answers no operation that writes: the preflight's tests would see a change as a failed call", async () => {
    const ssm = new SSMClient({ ...client, endpoint });
    const lambda = new LambdaClient({ ...client, endpoint });
    expect(await failure(ssm.send(new PutParameterCommand({ Name: '/x', Value: 'y', Type: 'String' })))).toMatchObject({
      name: 'AccessDenied',
      status: 403,
    });
    expect(
      await failure(lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: 'my-function', ReservedConcurrentExecutions: 1 }))),
    ).toMatchObject({ status: 403 });
    ssm.destroy();
    lambda.destroy();
  });

  test('refuses an unsigned request', async () => {
    const res = await fetch(`${endpoint}/`, {
      method: 'POST',
      body: 'Action=GetCallerIdentity&Version=2011-06-15',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(403);
  });

  test("will not send an answer its service's model does not allow (a negative quota value)", async () => {
    const bad = new AccountStandin({
      ...standin.scenario,
      quotas: { sagemaker: [{ name: 'ml.m5.large for endpoint usage', defaultValue: -1 }] },
    });
    const quotas = new ServiceQuotasClient({ ...client, endpoint: await bad.start() });
    expect(await failure(quotas.send(new ListAWSDefaultServiceQuotasCommand({ ServiceCode: 'sagemaker' })))).toMatchObject({
      status: 500,
      message: expect.stringContaining(
        "at 'quotas.1.member.value' failed to satisfy constraint: Member must have value greater than or equal to 0",
      ),
    });
    quotas.destroy();
    await bad.stop();
  });
});

describe('query protocol reader', () => {
  test('reads lists of structures and nested members as the SDK writes them, and names parameters the model does not define', () => {
    const cfn = loadServiceModel('cloudformation');
    const params = new URLSearchParams({
      Action: 'CreateStack',
      Version: '2010-05-15',
      StackName: 's',
      'Parameters.member.1.ParameterKey': 'A',
      'Parameters.member.1.ParameterValue': '1',
      'Parameters.member.2.ParameterKey': 'B',
      'Capabilities.member.1': 'CAPABILITY_IAM',
      TimeoutInMinutes: '5',
      DisableRollback: 'true',
      Bogus: 'x',
    });
    expect(queryInput(cfn, 'CreateStack', params)).toEqual({
      input: {
        StackName: 's',
        Parameters: [{ ParameterKey: 'A', ParameterValue: '1' }, { ParameterKey: 'B' }],
        Capabilities: ['CAPABILITY_IAM'],
        TimeoutInMinutes: 5,
        DisableRollback: true,
      },
      problems: [{ parameter: 'Bogus', problem: 'is not a member of CreateStackInput' }],
    });
  });
});
