import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

import { requireModernTls } from './api-tls';
import { acknowledgeInferenceApi } from './inference-api-acknowledgements';
import { PREDICTION_REQUEST_SCHEMA } from './runtime/prediction-request';

/** How clients authenticate: SigV4-signed requests (IAM), or an API key with a usage plan. */
export type ApiAuth = 'iam' | 'api-key';

/** Properties of an {@link InferenceApi}. */
export interface InferenceApiProps {
  /** The function behind `POST /predict` (Lambda proxy integration). */
  readonly handler: lambda.IFunction;

  /**
   * Name of the REST API. API Gateway's metrics are filed under it (the ApiName dimension), so it must be
   * unique in the account and region for the alarms and dashboard to see this API alone.
   * @default - the stack's name followed by '-inference'
   */
  readonly restApiName?: string;

  /**
   * How clients authenticate.
   * @default 'iam'
   */
  readonly auth?: ApiAuth;

  /**
   * Stage throttling: steady requests per second (and per API key in its usage plan).
   * @default 100
   */
  readonly throttleRateLimit?: number;

  /**
   * Stage throttling: burst requests.
   * @default 200
   */
  readonly throttleBurstLimit?: number;

  /**
   * Name of the stage, the first path segment of the URL.
   * @default 'v1'
   */
  readonly stageName?: string;

  /**
   * Key that encrypts the access and execution log groups.
   * @default - CloudWatch Logs' own encryption
   */
  readonly logsKey?: kms.IKey;

  /**
   * How long access and execution logs are kept.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Execution log level. Request and response bodies are never logged (no data trace).
   * @default apigw.MethodLoggingLevel.ERROR
   */
  readonly executionLogLevel?: apigw.MethodLoggingLevel;
}

/**
 * The inference REST API: `POST /predict` on a regional endpoint that takes TLS 1.2 or newer only, IAM (or API key) auth, a request
 * validator with the JSON-schema model of a prediction request, stage throttling, JSON access logs and
 * execution logs in encrypted, retained log groups, X-Ray tracing, and JSON error bodies for API Gateway's
 * own errors. openapi/inference-api.yaml describes it (a test keeps the two in agreement).
 */
export class InferenceApi extends Construct {
  /** The REST API. */
  readonly api: apigw.RestApi;
  /** Its one stage. */
  readonly stage: apigw.Stage;
  /** `POST /predict`. */
  readonly predictMethod: apigw.Method;
  /** The full URL of `POST /predict`. */
  readonly predictUrl: string;
  /** The access log group. */
  readonly accessLogGroup: logs.LogGroup;
  /** The execution log group (created here so it is encrypted and retained). */
  readonly executionLogGroup: logs.LogGroup;
  /** How clients authenticate. */
  readonly auth: ApiAuth;
  /** The API key, in 'api-key' mode. */
  readonly apiKey?: apigw.IApiKey;
  /** The usage plan, in 'api-key' mode. */
  readonly usagePlan?: apigw.UsagePlan;

  constructor(scope: Construct, id: string, props: InferenceApiProps) {
    super(scope, id);
    this.auth = props.auth ?? 'iam';
    const stageName = props.stageName ?? 'v1';
    const retention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;
    const throttle = { rateLimit: props.throttleRateLimit ?? 100, burstLimit: props.throttleBurstLimit ?? 200 };

    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', { encryptionKey: props.logsKey, retention });

    this.api = new apigw.RestApi(this, 'Api', {
      restApiName: props.restApiName ?? `${Stack.of(this).stackName}-inference`,
      description: 'Inference API: POST /predict answers predictions from the SageMaker endpoint',
      endpointTypes: [apigw.EndpointType.REGIONAL],
      // Execution logs need API Gateway's account-level CloudWatch role; kept on destroy because every
      // other REST API in the account and region relies on the same setting.
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      deployOptions: {
        stageName,
        tracingEnabled: true,
        metricsEnabled: true,
        loggingLevel: props.executionLogLevel ?? apigw.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        throttlingRateLimit: throttle.rateLimit,
        throttlingBurstLimit: throttle.burstLimit,
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: apigw.AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });
    this.stage = this.api.deploymentStage;
    requireModernTls(this.api);

    // API Gateway would create this group itself, unencrypted and kept forever; creating it first sets both.
    this.executionLogGroup = new logs.LogGroup(this, 'ExecutionLogs', {
      logGroupName: `API-Gateway-Execution-Logs_${this.api.restApiId}/${stageName}`,
      encryptionKey: props.logsKey,
      retention,
    });
    this.stage.node.addDependency(this.executionLogGroup);

    // API Gateway's own errors (auth, validation, throttling) get the same JSON shape as the Lambda's.
    for (const [id, type] of [
      ['Default4xx', apigw.ResponseType.DEFAULT_4XX],
      ['Default5xx', apigw.ResponseType.DEFAULT_5XX],
    ] as const) {
      this.api.addGatewayResponse(id, {
        type,
        templates: { 'application/json': '{"error": $context.error.messageString, "requestId": "$context.requestId"}' },
      });
    }

    const requestModel = this.api.addModel('PredictionRequest', {
      contentType: 'application/json',
      modelName: 'PredictionRequest',
      description: 'A batch of rows to predict: {"instances": [[number, ...], ...]}',
      schema: PREDICTION_REQUEST_SCHEMA as unknown as apigw.JsonSchema,
    });
    const validator = this.api.addRequestValidator('RequestValidator', {
      requestValidatorName: 'body-and-content-type',
      validateRequestBody: true,
      validateRequestParameters: true,
    });

    this.predictMethod = this.api.root.addResource('predict').addMethod(
      'POST',
      new apigw.LambdaIntegration(props.handler, {
        proxy: true,
        allowTestInvoke: false,
        timeout: Duration.seconds(29),
      }),
      {
        authorizationType: this.auth === 'iam' ? apigw.AuthorizationType.IAM : apigw.AuthorizationType.NONE,
        apiKeyRequired: this.auth === 'api-key',
        requestValidator: validator,
        // CSV bodies have no model; the proxy validates them.
        requestModels: { 'application/json': requestModel },
        requestParameters: { 'method.request.header.Content-Type': true },
      },
    );
    this.predictUrl = this.api.urlForPath('/predict');

    if (this.auth === 'api-key') {
      this.usagePlan = this.api.addUsagePlan('UsagePlan', {
        description: 'Throttles each API key of the inference API',
        throttle,
        apiStages: [{ api: this.api, stage: this.stage }],
      });
      this.apiKey = this.api.addApiKey('ApiKey', { description: 'Inference API client key' });
      this.usagePlan.addApiKey(this.apiKey);
    }

    acknowledgeInferenceApi(this);
  }

  /** Allows a principal to call `POST /predict` on this stage (IAM auth). */
  grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['execute-api:Invoke'],
      resourceArns: [this.api.arnForExecuteApi('POST', '/predict', this.stage.stageName)],
    });
  }
}

/** Access log record: who called what, how it ended and how long it took. Never the body or the API key. */
const ACCESS_LOG_FIELDS = {
  requestId: apigw.AccessLogField.contextRequestId(),
  extendedRequestId: apigw.AccessLogField.contextExtendedRequestId(),
  requestTime: apigw.AccessLogField.contextRequestTime(),
  ip: apigw.AccessLogField.contextIdentitySourceIp(),
  userAgent: apigw.AccessLogField.contextIdentityUserAgent(),
  caller: apigw.AccessLogField.contextIdentityCaller(),
  userArn: apigw.AccessLogField.contextIdentityUserArn(),
  apiKeyId: apigw.AccessLogField.contextIdentityApiKeyId(),
  httpMethod: apigw.AccessLogField.contextHttpMethod(),
  resourcePath: apigw.AccessLogField.contextResourcePath(),
  protocol: apigw.AccessLogField.contextProtocol(),
  status: apigw.AccessLogField.contextStatus(),
  responseLength: apigw.AccessLogField.contextResponseLength(),
  responseLatency: apigw.AccessLogField.contextResponseLatency(),
  integrationStatus: apigw.AccessLogField.contextIntegrationStatus(),
  integrationLatency: apigw.AccessLogField.contextIntegrationLatency(),
  errorMessage: apigw.AccessLogField.contextErrorMessage(),
  errorType: apigw.AccessLogField.contextErrorResponseType(),
  wafResponseCode: apigw.AccessLogField.contextWafResponseCode(),
  xrayTraceId: apigw.AccessLogField.contextXrayTraceId(),
};
