/**
 * A local stand-in for what `npm run preflight` reads from an AWS account: STS (who am I), CloudFormation (the
 * platform's deployed stacks), SSM (the CDK bootstrap version), Lambda (account concurrency, a function's
 * reservation) and Service Quotas (SageMaker's and Lambda's quotas). One server on 127.0.0.1 and a free port
 * answers all five, for the unmodified SDK clients (AWS_ENDPOINT_URL, or each client's `endpoint`).
 *
 * It routes a request by the service its SigV4 signature names (the credential scope
 * `<key>/<date>/<region>/<service>/aws4_request`; an unsigned request is refused as the services refuse it),
 * then speaks that service's protocol from its published API model (botocore's service-2.json from the venv):
 * awsQuery for STS and CloudFormation (form-encoded requests, XML answers), awsJson1_1 for SSM and Service
 * Quotas, restJson1 for Lambda. Every request is checked against the model like the real service checks it
 * (required members, patterns, ranges, unknown members), and every answer against the operation's output
 * shape before it is sent, so a scenario cannot answer what the service never would.
 * Only read operations exist here: a request for any other operation fails, which is how the tests show that
 * the preflight changes nothing.
 */
import { createHash } from 'crypto';
import * as http from 'http';
import { AddressInfo } from 'net';

import { queryErrorXml, queryInput, queryResponseXml } from '../../local/api-model/query-protocol';
import { restInput } from '../../local/api-model/rest-input';
import { loadServiceModel, ServiceModel } from '../../local/api-model/service-model';
import { recordCheckedRequest, validateInput, validateOutput, validationMessage } from '../../local/api-model/validate-input';

/** A quota as Service Quotas keeps it: its AWS default and, when the account has one, its applied value. */
export interface StandinQuota {
  readonly name: string;
  readonly defaultValue: number;
  /** The account's applied value; absent: GetServiceQuota answers NoSuchResourceException, as it does for quotas with only a default. */
  readonly appliedValue?: number;
}

/** What the account holds. */
export interface AccountScenario {
  readonly account: string;
  /** SSM String parameters by name (e.g. `/cdk-bootstrap/hnb659fds/version`). */
  readonly parameters: Record<string, string>;
  /** Lambda's account settings. */
  readonly lambda: { readonly concurrentExecutions: number; readonly unreservedConcurrentExecutions: number };
  /** Deployed Lambda functions by name, with their reserved concurrency (undefined: none reserved). */
  readonly functions?: Record<string, number | undefined>;
  /** Deployed stacks by name, with their resources. */
  readonly stacks?: Record<string, readonly { logicalId: string; type: string; physicalId: string }[]>;
  /** Service Quotas' catalogue per service code (`sagemaker`, `lambda`): what the region offers. */
  readonly quotas: Record<string, readonly StandinQuota[]>;
}

/** A request the stand-in answered. */
export interface AccountCall {
  readonly service: string;
  readonly operation: string;
  readonly input: Record<string, unknown>;
  readonly status: number;
}

/** The signing name in the SigV4 scope, and the botocore model of the service it names. */
const SERVICES: Record<string, string> = {
  sts: 'sts',
  cloudformation: 'cloudformation',
  ssm: 'ssm',
  servicequotas: 'service-quotas',
  lambda: 'lambda',
};

/** A service's error, as its protocol carries it. */
class ServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** A stable, well-formed quota code for a quota name (Service Quotas' codes look like `L-1B43CB89`). */
export function quotaCode(name: string): string {
  return `L-${createHash('sha256').update(name).digest('hex').slice(0, 8).toUpperCase()}`;
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export class AccountStandin {
  /** Every request answered, in order. */
  readonly calls: AccountCall[] = [];
  private server?: http.Server;
  private readonly models = new Map<string, ServiceModel>();

  constructor(public scenario: AccountScenario) {
    for (const service of Object.values(SERVICES)) this.models.set(service, loadServiceModel(service));
  }

  /** Starts listening on 127.0.0.1 and a free port; returns the endpoint URL. */
  async start(): Promise<string> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** `Service.Operation` of every call, in order. */
  operations(): string[] {
    return this.calls.map((c) => `${c.service}.${c.operation}`);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    const requestId = `account-standin-${this.calls.length + 1}`;
    const scope = /Credential=[^/]+\/\d{8}\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request/.exec(String(req.headers.authorization ?? ''));
    if (!scope) {
      res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'Missing Authentication Token' }));
      return;
    }
    const [, region, signingName] = scope;
    const service = SERVICES[signingName];
    if (!service) {
      res
        .writeHead(400, { 'content-type': 'application/json' })
        .end(JSON.stringify({ message: `The stand-in does not answer ${signingName}` }));
      return;
    }
    const model = this.models.get(service)!;
    const protocol = model.metadata.protocol;
    let operation = '';
    let input: Record<string, unknown> = {};
    let status = 200;
    try {
      ({ operation, input } = this.parse(model, req, body));
      const violations = validateInput(model, operation, input);
      recordCheckedRequest(model, operation, violations);
      if (violations.length > 0)
        throw new ServiceError(protocol === 'query' ? 'ValidationError' : 'ValidationException', validationMessage(violations));
      const output = this.answer(service, operation, input, region);
      const wrong = validateOutput(model, operation, output);
      if (wrong.length > 0)
        throw new Error(
          `the stand-in's ${operation} answer does not fit the ${model.metadata.serviceId} model: ${validationMessage(wrong)}`,
        );
      this.send(res, model, operation, output, requestId);
    } catch (e) {
      const error = e instanceof ServiceError ? e : new ServiceError('InternalFailure', String(e), 500);
      status = error.status;
      this.sendError(res, model, error, requestId);
    }
    this.calls.push({ service: model.metadata.serviceId, operation, input, status });
  }

  /** The operation and its input, read as the service's protocol carries them. */
  private parse(model: ServiceModel, req: http.IncomingMessage, body: Buffer): { operation: string; input: Record<string, unknown> } {
    const text = body.toString('utf8');
    switch (model.metadata.protocol) {
      case 'query': {
        const params = new URLSearchParams(text);
        const operation = params.get('Action') ?? '';
        if (!model.operations[operation])
          throw new ServiceError('InvalidAction', `Could not find operation ${operation} for version ${params.get('Version')}`);
        if (params.get('Version') !== model.metadata.apiVersion)
          throw new ServiceError('InvalidAction', `Version ${params.get('Version')} is not ${model.metadata.apiVersion}`);
        const { input, problems } = queryInput(model, operation, params);
        if (problems.length > 0) throw new ServiceError('ValidationError', problems.map((p) => `${p.parameter} ${p.problem}`).join('; '));
        return { operation, input };
      }
      case 'json': {
        const [prefix, operation] = String(req.headers['x-amz-target'] ?? '').split('.');
        if (prefix !== model.metadata.targetPrefix || !model.operations[operation])
          throw new ServiceError('UnknownOperationException', `Unknown operation ${String(req.headers['x-amz-target'])}`);
        try {
          return { operation, input: JSON.parse(text || '{}') };
        } catch {
          throw new ServiceError('SerializationException', 'Request body is not valid JSON');
        }
      }
      case 'rest-json': {
        const url = new URL(req.url ?? '/', 'http://standin');
        const request = { path: url.pathname, headers: req.headers, query: url.searchParams, body };
        for (const [name, op] of Object.entries(model.operations)) {
          if (op.http.method !== req.method || !op.input) continue;
          const input = restInput(model, name, request);
          if (input) return { operation: name, input };
        }
        throw new ServiceError('UnknownOperationException', `No operation at ${req.method} ${url.pathname}`, 404);
      }
      default:
        throw new Error(`protocol ${model.metadata.protocol} is not spoken here`);
    }
  }

  /** What the account answers (only read operations; anything else is an error). */
  private answer(service: string, operation: string, input: Record<string, unknown>, region: string): Record<string, unknown> {
    const s = this.scenario;
    switch (`${service}.${operation}`) {
      case 'sts.GetCallerIdentity':
        return { UserId: 'AIDASTANDINOPERATOR', Account: s.account, Arn: `arn:aws:iam::${s.account}:user/operator` };
      case 'cloudformation.ListStackResources': {
        const resources = s.stacks?.[input.StackName as string];
        if (!resources) throw new ServiceError('ValidationError', `Stack with id ${String(input.StackName)} does not exist`);
        return {
          StackResourceSummaries: resources.map((r) => ({
            LogicalResourceId: r.logicalId,
            PhysicalResourceId: r.physicalId,
            ResourceType: r.type,
            LastUpdatedTimestamp: 1_700_000_000,
            ResourceStatus: 'CREATE_COMPLETE',
          })),
        };
      }
      case 'ssm.GetParameter': {
        const name = input.Name as string;
        const value = s.parameters[name];
        if (value === undefined) throw new ServiceError('ParameterNotFound', '');
        return {
          Parameter: {
            Name: name,
            Type: 'String',
            Value: value,
            Version: 1,
            LastModifiedDate: 1_700_000_000,
            DataType: 'text',
            ARN: `arn:aws:ssm:${region}:${s.account}:parameter${name}`,
          },
        };
      }
      case 'lambda.GetAccountSettings':
        return {
          AccountLimit: {
            TotalCodeSize: 80_530_636_800,
            CodeSizeUnzipped: 262_144_000,
            CodeSizeZipped: 52_428_800,
            ConcurrentExecutions: s.lambda.concurrentExecutions,
            UnreservedConcurrentExecutions: s.lambda.unreservedConcurrentExecutions,
          },
          AccountUsage: { TotalCodeSize: 0, FunctionCount: Object.keys(s.functions ?? {}).length },
        };
      case 'lambda.GetFunctionConcurrency': {
        const name = input.FunctionName as string;
        if (!s.functions || !(name in s.functions)) {
          throw new ServiceError(
            'ResourceNotFoundException',
            `Function not found: arn:aws:lambda:${region}:${s.account}:function:${name}`,
            404,
          );
        }
        const reserved = s.functions[name];
        return reserved === undefined ? {} : { ReservedConcurrentExecutions: reserved };
      }
      case 'service-quotas.ListAWSDefaultServiceQuotas': {
        const catalogue = this.catalogue(input.ServiceCode as string);
        const start = input.NextToken ? Number(Buffer.from(input.NextToken as string, 'base64').toString('utf8')) : 0;
        const size = (input.MaxResults as number | undefined) ?? 100;
        const page = catalogue.slice(start, start + size);
        return {
          Quotas: page.map((q) => this.quota(input.ServiceCode as string, q, q.defaultValue, region)),
          ...(start + size < catalogue.length ? { NextToken: Buffer.from(String(start + size)).toString('base64') } : {}),
        };
      }
      case 'service-quotas.GetServiceQuota': {
        const quota = this.catalogue(input.ServiceCode as string).find((q) => quotaCode(q.name) === input.QuotaCode);
        if (!quota || quota.appliedValue === undefined)
          throw new ServiceError('NoSuchResourceException', 'The request failed because the specified service quota does not exist.');
        return { Quota: this.quota(input.ServiceCode as string, quota, quota.appliedValue, region) };
      }
      default:
        throw new ServiceError('AccessDenied', `The stand-in answers read operations only, not ${operation}`, 403);
    }
  }

  private catalogue(serviceCode: string): readonly StandinQuota[] {
    const catalogue = this.scenario.quotas[serviceCode];
    if (!catalogue)
      throw new ServiceError('NoSuchResourceException', `The request failed because the specified service ${serviceCode} does not exist.`);
    return catalogue;
  }

  private quota(serviceCode: string, q: StandinQuota, value: number, region: string): Record<string, unknown> {
    const code = quotaCode(q.name);
    return {
      ServiceCode: serviceCode,
      ServiceName: serviceCode === 'sagemaker' ? 'Amazon SageMaker' : 'AWS Lambda',
      QuotaArn: `arn:aws:servicequotas:${region}:${this.scenario.account}:${serviceCode}/${code}`,
      QuotaCode: code,
      QuotaName: q.name,
      Value: value,
      Unit: 'None',
      Adjustable: true,
      GlobalQuota: false,
    };
  }

  private send(res: http.ServerResponse, model: ServiceModel, operation: string, output: Record<string, unknown>, requestId: string): void {
    const protocol = model.metadata.protocol;
    if (protocol === 'query') {
      const xml = queryResponseXml(model, operation, output, requestId);
      res.writeHead(200, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId, 'content-length': Buffer.byteLength(xml) }).end(xml);
      return;
    }
    const text = JSON.stringify(output);
    const contentType = protocol === 'json' ? `application/x-amz-json-${model.metadata.jsonVersion}` : 'application/json';
    const status = model.operations[operation].http.responseCode ?? 200;
    res
      .writeHead(status, { 'content-type': contentType, 'x-amzn-requestid': requestId, 'content-length': Buffer.byteLength(text) })
      .end(text);
  }

  private sendError(res: http.ServerResponse, model: ServiceModel, error: ServiceError, requestId: string): void {
    const protocol = model.metadata.protocol;
    if (protocol === 'query') {
      const xml = queryErrorXml(error.code, error.message, requestId, error.status < 500);
      res
        .writeHead(error.status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId, 'content-length': Buffer.byteLength(xml) })
        .end(xml);
      return;
    }
    // awsJson1_1 names the error in `__type`; restJson1 in the X-Amzn-ErrorType header (Lambda's bodies carry Type and Message).
    const text = JSON.stringify(
      protocol === 'json' ? { __type: error.code, message: error.message } : { Type: 'User', Message: error.message },
    );
    const contentType = protocol === 'json' ? `application/x-amz-json-${model.metadata.jsonVersion}` : 'application/json';
    res
      .writeHead(error.status, {
        'content-type': contentType,
        'x-amzn-requestid': requestId,
        'x-amzn-errortype': error.code,
        'content-length': Buffer.byteLength(text),
      })
      .end(text);
  }
}
