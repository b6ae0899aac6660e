import { CfnCondition, Duration, Fn } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import * as path from 'path';

import { proxyReservedConcurrency } from '../private/lambda-concurrency';
import { PlatformFunction } from '../private/platform-function';
import { check, subjectBefore, validateProps } from '../private/validation';
import { acknowledgeInferenceProxy } from './inference-proxy-acknowledgements';

/** Modules the proxy's bundle uses in place of SDK parts it never reaches (esbuild aliases, absolute paths). */
const BUNDLE_STAND_INS = path.join(__dirname, 'runtime', 'bundle-stand-ins');

/** An endpoint the proxy can call: its name and a way to grant InvokeEndpoint on it (an InferenceEndpoint). */
export interface InvokableEndpoint {
  readonly endpointName: string;
  /** The condition under which the endpoint exists (no approved model, no endpoint); undefined: always. */
  readonly condition?: CfnCondition;
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
   * Whether the function reserves concurrency: `requestsPerSecond` times its timeout, capped at
   * `reservedConcurrencyCap` (see {@link proxyReservedConcurrency}). A reservation guarantees the function that
   * many executions and caps it there; Lambda refuses one that leaves fewer than 100 of the account's quota
   * unreserved, which a new account's reduced quota cannot.
   * @default false - the function shares the account's unreserved pool
   */
  readonly reserveConcurrency?: boolean;

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
 * bundled with the pinned AWS SDK client, reserved concurrency sized by the API's throttle (when asked for), JSON logs
 * to its own retained log group, X-Ray tracing, and a
 * role that may only write its logs, send traces and invoke the one endpoint.
 */
export class InferenceProxy extends PlatformFunction {
  /** Concurrent executions reserved for it (and the most it may run); undefined: none reserved. */
  readonly reservedConcurrency?: number;

  constructor(scope: Construct, id: string, props: InferenceProxyProps) {
    const invokeTimeout = props.invokeTimeout ?? DEFAULT_INVOKE_TIMEOUT;
    validateProps(subjectBefore('InferenceProxy', scope, id), [
      check(
        'invokeTimeout',
        `${invokeTimeout.toSeconds()}s`,
        () => invokeTimeout.toMilliseconds() < 28_000,
        'under 28 seconds: API Gateway gives up at 29',
      ),
    ]);
    const timeout = proxyFunctionTimeout(invokeTimeout);
    const reservedConcurrency = props.reserveConcurrency
      ? proxyReservedConcurrency(props.requestsPerSecond ?? 100, timeout.toSeconds(), props.reservedConcurrencyCap ?? 100)
      : undefined;
    super(scope, id, {
      entry: path.join(__dirname, 'runtime', 'inference-proxy.handler.ts'),
      description: 'Validates prediction requests and calls the SageMaker endpoint',
      roleDescription: 'Inference API proxy: writes its logs and traces, invokes the inference endpoint',
      memorySize: props.memorySize,
      timeout,
      reservedConcurrentExecutions: reservedConcurrency,
      tracing: lambda.Tracing.ACTIVE,
      environment: {
        ENDPOINT_NAME: props.endpoint.endpointName,
        INVOKE_TIMEOUT_MS: String(invokeTimeout.toMilliseconds()),
        // While the endpoint does not exist, the proxy answers 503 "no model approved" without calling SageMaker.
        ...(props.endpoint.condition
          ? { ENDPOINT_DEPLOYED: Fn.conditionIf(props.endpoint.condition.logicalId, 'true', 'false').toString() }
          : {}),
      },
      logsKey: props.logsKey,
      logRetention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      // The SDK's ES module builds tree-shake: about 300 KiB instead of 435.
      mainFields: ['module', 'main'],
      // The request limits table the handler imports (runtime/request-limits.ts).
      bundleInputs: [path.join(__dirname, '..', '..', 'training-image', 'request-limits.json')],
      // Cold start: two SDK parts the function never reaches are swapped for stand-ins (each file says why),
      // about 170 KiB in all and under half the load time of a plain bundle (bench/proxy-cold-start.ts).
      esbuildArgs: {
        '--alias:@aws-sdk/credential-provider-node': path.join(BUNDLE_STAND_INS, 'credentials-from-env.ts'),
        '--alias:@smithy/core/event-streams': path.join(BUNDLE_STAND_INS, 'event-streams-unsupported.ts'),
      },
    });
    this.reservedConcurrency = reservedConcurrency;
    props.endpoint.grantInvoke(this.function);
    acknowledgeInferenceProxy(this, reservedConcurrency !== undefined);
  }
}
