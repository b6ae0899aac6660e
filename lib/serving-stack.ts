import * as sagemaker from '@aws-cdk/aws-sagemaker-alpha';
import { CfnOutput, CfnParameter, Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ApiWaf } from '../constructs/serving/api-waf';
import { TrafficShifting } from '../constructs/serving/endpoint-deployment';
import { ApiAuth, InferenceApi } from '../constructs/serving/inference-api';
import { InferenceEndpoint } from '../constructs/serving/inference-endpoint';
import { InferenceProxy } from '../constructs/serving/inference-proxy';
import { LogsKey } from '../constructs/storage/logs-key';

export interface ServingStackProps extends StackProps {
  /** The training image; the endpoint runs it as `serve`. */
  readonly image: ecrAssets.DockerImageAsset;
  /** S3 URI of the trained model artifact (model.tar.gz). */
  readonly modelDataUrl: string;
  /** The bucket of the model artifact. */
  readonly modelBucket: s3.IBucket;
  /** Key (or key pattern) of the model artifacts in modelBucket: the only objects the model may read. */
  readonly modelArtifactKey: string;
  /**
   * Which model package version the endpoint serves: the one the SSM pointer names (the newest approved), or a
   * pinned earlier approved version (rollback without training).
   */
  readonly modelPackage: { readonly pointerParameterName: string } | { readonly pinnedArn: string };
  /** The platform key: it encrypts the model artifact, and the endpoint's volumes where the instance type allows. */
  readonly key: kms.IKey;
  /** Endpoint instance type. */
  readonly instanceType: string;
  /** Fewest endpoint instances (also the initial count). */
  readonly minCapacity: number;
  /** Most endpoint instances autoscaling may reach. */
  readonly maxCapacity: number;
  /** Autoscaling target: invocations per instance per minute. */
  readonly targetInvocationsPerInstance: number;
  /** How an update shifts traffic to a new model. */
  readonly trafficShifting: TrafficShifting;
  /** Endpoint 5XX errors in one minute that roll an update back. */
  readonly rollbackErrorsPerMinute: number;
  /** p99 model latency that rolls an update back. */
  readonly rollbackModelLatencyP99: Duration;
  /** How API clients authenticate. */
  readonly apiAuth: ApiAuth;
  /** Stage throttling: steady requests per second. */
  readonly throttleRateLimit: number;
  /** Stage throttling: burst requests. */
  readonly throttleBurstLimit: number;
  /** When not empty, only these IPv4 CIDR blocks reach the API. */
  readonly allowedCidrs: string[];
  /** Requests one IP may send in 5 minutes. */
  readonly wafRateLimitPer5Minutes: number;
  /** Largest request body WAF lets through, in bytes. */
  readonly wafMaxBodyBytes: number;
}

/** Serving: the SageMaker endpoint and the WAF-protected REST API in front of it. */
export class ServingStack extends Stack {
  /** The endpoint with its model, autoscaling and rollback alarms. */
  readonly inference: InferenceEndpoint;
  /** The endpoint's name. */
  readonly endpointName: string;
  /** The endpoint's production variant name (a dimension of its metrics). */
  readonly variantName: string;
  /** The inference API construct. */
  readonly inferenceApi: InferenceApi;
  /** The REST API. */
  readonly api: apigw.RestApi;
  /** The API's stage. */
  readonly stage: apigw.Stage;
  /** The web ACL on the stage (name, ARN, metric names). */
  readonly waf: ApiWaf;
  /** The API's Lambda proxy. */
  readonly proxyFunction: lambda.IFunction;
  /** Every Lambda function this stack creates. */
  readonly functions: lambda.IFunction[];
  /** Key of this stack's log groups. */
  readonly logsKey: kms.Key;

  constructor(scope: Construct, id: string, props: ServingStackProps) {
    super(scope, id, props);

    // An SSM-typed parameter: CloudFormation reads the pointer at each deploy, so the endpoint follows the
    // registry and a later deploy keeps (never reverts) the version the pointer names.
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html#aws-ssm-parameter-types
    const modelPackageArn = 'pinnedArn' in props.modelPackage ? props.modelPackage.pinnedArn : new CfnParameter(this, 'ServedModelPackage', {
      type: 'AWS::SSM::Parameter::Value<String>',
      default: props.modelPackage.pointerParameterName,
      description: 'SSM parameter naming the approved model package version the endpoint serves (written by the registration step)',
    }).valueAsString;

    this.inference = new InferenceEndpoint(this, 'Endpoint', {
      modelPackageArn,
      image: sagemaker.ContainerImage.fromEcrRepository(props.image.repository, props.image.imageTag),
      modelDataUrl: props.modelDataUrl,
      modelArtifactArn: props.modelBucket.arnForObjects(props.modelArtifactKey),
      encryptionKey: props.key,
      instanceType: props.instanceType,
      minCapacity: props.minCapacity,
      maxCapacity: props.maxCapacity,
      targetInvocationsPerInstance: props.targetInvocationsPerInstance,
      trafficShifting: props.trafficShifting,
      rollbackErrorsPerMinute: props.rollbackErrorsPerMinute,
      rollbackModelLatencyP99: props.rollbackModelLatencyP99,
    });
    this.endpointName = this.inference.endpointName;
    this.variantName = this.inference.variantName;

    this.logsKey = new LogsKey(this, 'LogsKey', { description: 'Encrypts the serving stack\'s log groups (API, WAF, Lambda)' });
    const proxy = new InferenceProxy(this, 'Proxy', { endpoint: this.inference, logsKey: this.logsKey });
    this.proxyFunction = proxy.function;
    this.functions = [proxy.function];

    this.inferenceApi = new InferenceApi(this, 'InferenceApi', {
      handler: proxy.function,
      auth: props.apiAuth,
      throttleRateLimit: props.throttleRateLimit,
      throttleBurstLimit: props.throttleBurstLimit,
      logsKey: this.logsKey,
    });
    this.api = this.inferenceApi.api;
    this.stage = this.inferenceApi.stage;

    this.waf = new ApiWaf(this, 'Waf', {
      stage: this.stage,
      rateLimitPer5Minutes: props.wafRateLimitPer5Minutes,
      maxBodyBytes: props.wafMaxBodyBytes,
      allowedCidrs: props.allowedCidrs,
      logsKey: this.logsKey,
    });

    new CfnOutput(this, 'PredictUrl', { description: 'POST prediction requests here', value: this.inferenceApi.predictUrl });
    new CfnOutput(this, 'EndpointName', { description: 'The SageMaker endpoint', value: this.endpointName });
    if (this.inferenceApi.apiKey) {
      new CfnOutput(this, 'ApiKeyId', {
        description: 'Read the key with: aws apigateway get-api-key --include-value --api-key <id>',
        value: this.inferenceApi.apiKey.keyId,
      });
    }
  }
}
