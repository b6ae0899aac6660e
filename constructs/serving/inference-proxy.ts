import * as path from 'path';
import { Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { dependOnRolePolicyOnly } from '../private/role-dependency';
import { acknowledgeInferenceProxy } from './inference-proxy-acknowledgements';
import { proxyReservedConcurrency } from '../private/lambda-concurrency';

/** An endpoint the proxy can call: its name and a way to grant InvokeEndpoint on it (an InferenceEndpoint). */
export interface InvokableEndpoint {
  readonly endpointName: string;
  grantInvoke(grantee: iam.IGrantable): iam.Grant;
}

/** How long the proxy gives InvokeEndpoint by default, retries included. */
export const DEFAULT_INVOKE_TIMEOUT = Duration.seconds(25);

/** The function's timeout: the invoke deadline plus room for the answer; API Gateway stops waiting at 29 s anyway. */
export function proxyFunctionTimeout(invokeTimeout: Duration = DEFAULT_INVOKE_TIMEOUT): Duration {
  return invokeTimeout.plus(Duration.seconds(2));
}

/** Properties of an {@link InferenceProxy}. */
export interface InferenceProxyProps {
  /** The SageMaker endpoint the function invokes (it may invoke no other). */
  readonly endpoint: InvokableEndpoint;

  /**
   * Key that encrypts the function's log group.
   * @default - CloudWatch Logs' own encryption
   */
  readonly logsKey?: kms.IKey;

  /**
   * How long the function's logs are kept.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Total time the function gives InvokeEndpoint, retries included. Must stay under API Gateway's 29 s
   * integration timeout so that the client gets our 504 rather than API Gateway's.
   * @default Duration.seconds(25)
   */
  readonly invokeTimeout?: Duration;

  /**
   * Memory of the function (CPU scales with it).
   * @default 256
   */
  readonly memorySize?: number;

  /**
   * The steady request rate the API lets through (its stage throttle): with the function's timeout it sizes
   * the reserved concurrency (see {@link proxyReservedConcurrency}).
   * @default 100
   */
  readonly requestsPerSecond?: number;

  /**
   * The most concurrency reserved for the function, whatever rate times timeout comes to.
   * @default 100
   */
  readonly reservedConcurrencyCap?: number;
}

/**
 * The Lambda function behind the inference API (code: inference-proxy.handler.ts): Node.js 24 on arm64,
 * bundled with the pinned AWS SDK client, reserved concurrency sized by the API's throttle, JSON logs to its own retained log group, X-Ray tracing, and a
 * role that may only write its logs, send traces and invoke the one endpoint.
 */
export class InferenceProxy extends Construct {
  /** The function. */
  readonly function: nodejs.NodejsFunction;
  /** Its log group. */
  readonly logGroup: logs.LogGroup;
  /** Concurrent executions reserved for it (and the most it may run). */
  readonly reservedConcurrency: number;

  constructor(scope: Construct, id: string, props: InferenceProxyProps) {
    super(scope, id);
    const invokeTimeout = props.invokeTimeout ?? DEFAULT_INVOKE_TIMEOUT;
    if (invokeTimeout.toMilliseconds() >= 28_000) {
      throw new Error(`InferenceProxy invokeTimeout must be under 28 seconds (API Gateway gives up at 29), got ${invokeTimeout.toSeconds()} s`);
    }

    const timeout = proxyFunctionTimeout(invokeTimeout);
    this.reservedConcurrency = proxyReservedConcurrency(props.requestsPerSecond ?? 100, timeout.toSeconds(), props.reservedConcurrencyCap ?? 100);

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      encryptionKey: props.logsKey,
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
    });
    // Our own role: the default one carries the AWSLambdaBasicExecutionRole managed policy (logs:* on any group).
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Inference API proxy: writes its logs and traces, invokes the inference endpoint',
    });
    this.logGroup.grantWrite(role);

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: path.join(__dirname, 'runtime', 'inference-proxy.handler.ts'),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout,
      reservedConcurrentExecutions: this.reservedConcurrency,
      role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: lambda.Tracing.ACTIVE,
      description: 'Validates prediction requests and calls the SageMaker endpoint',
      environment: {
        ENDPOINT_NAME: props.endpoint.endpointName,
        INVOKE_TIMEOUT_MS: String(invokeTimeout.toMilliseconds()),
      },
      bundling: {
        minify: true,
        target: 'node24',
        // Bundle the SDK client instead of using the runtime's copy, so the tested version is the deployed one.
        bundleAwsSDK: true,
        externalModules: [],
        // The SDK's ES module builds tree-shake: about 300 KiB instead of 435.
        mainFields: ['module', 'main'],
      },
    });
    props.endpoint.grantInvoke(this.function);
    dependOnRolePolicyOnly(this.function, role);

    acknowledgeInferenceProxy(this);
    const policy = role.node.tryFindChild('DefaultPolicy');
    if (policy) {
      Validations.of(policy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) support no resource-level permissions',
      });
    }
  }
}
