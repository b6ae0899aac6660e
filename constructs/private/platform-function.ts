import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

import { lambdaRole } from './lambda-role';
import { check, validateProps } from './validation';

/** Properties of a {@link PlatformFunction}. */
export interface PlatformFunctionProps {
  /** The handler module: a file in a `runtime/` folder (which may import only that folder and npm packages). */
  readonly entry: string;

  /**
   * The exported function Lambda calls.
   * @default 'handler'
   */
  readonly handler?: string;

  /** What the function does (the function's description). */
  readonly description: string;

  /** Longest one invocation may run. */
  readonly timeout: Duration;

  /**
   * Memory, in MiB.
   * @default 256
   */
  readonly memorySize?: number;

  /**
   * Environment variables.
   * @default - none
   */
  readonly environment?: Record<string, string>;

  /**
   * X-Ray tracing.
   * @default lambda.Tracing.DISABLED
   */
  readonly tracing?: lambda.Tracing;

  /**
   * Concurrent executions reserved for (and the most allowed to) the function.
   * @default - none reserved: the function shares the account's unreserved pool
   */
  readonly reservedConcurrentExecutions?: number;

  /**
   * What the role is for (the role's description).
   * @default - none
   */
  readonly roleDescription?: string;

  /**
   * The log group the function writes to, when several functions share one.
   * @default - a new log group, encrypted with `logsKey` and kept for `logRetention`
   */
  readonly logGroup?: logs.ILogGroup;

  /**
   * Key that encrypts a new log group (its policy must let CloudWatch Logs use it).
   * @default - CloudWatch Logs' own encryption
   */
  readonly logsKey?: kms.IKey;

  /**
   * How long a new log group keeps the logs.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * esbuild's `mainFields` (e.g. `['module', 'main']` lets the SDK's ES module builds tree-shake).
   * @default - esbuild's default for the node platform
   */
  readonly mainFields?: string[];

  /**
   * Extra esbuild arguments (e.g. `--alias:` swaps); paths in them must be absolute.
   * @default - none
   */
  readonly esbuildArgs?: Record<string, string>;

  /**
   * Files outside the entry's runtime/ folder that the bundle reads (e.g. a JSON table it imports), so a change
   * to them re-bundles.
   * @default - none
   */
  readonly bundleInputs?: string[];
}

/** Files outside the runtime/ folder that change what esbuild produces. */
const ROOT = path.join(__dirname, '..', '..');
const BUILD_INPUTS = ['package-lock.json', 'tsconfig.json'].map((f) => path.join(ROOT, f));

/**
 * The one way this project makes a Lambda function: Node.js 24 on arm64, the handler bundled by esbuild
 * with the SDK clients it imports (so the tested version is the deployed one), minified; JSON logs to its own
 * log group; and a role that may write only to that log group (no AWSLambdaBasicExecutionRole, which allows
 * every log group of the account). Callers grant the rest to `function` or `role`.
 *
 * The bundle's asset hash is computed from its inputs (the runtime/ folder, the lock file, tsconfig.json and
 * the bundling options), so a synth whose cdk.out already holds that bundle skips esbuild. The lint rules
 * (eslint.config.mjs) keep runtime/ code from importing anything else of this project.
 */
export class PlatformFunction extends Construct {
  /** The function. */
  readonly function: nodejs.NodejsFunction;
  /** The function's role. */
  readonly role: iam.Role;
  /** The log group the function writes to. */
  readonly logGroup: logs.ILogGroup;

  constructor(scope: Construct, id: string, props: PlatformFunctionProps) {
    super(scope, id);
    // The bundle hash covers the entry's folder, and the lint rules keep that folder apart: it must be runtime/.
    validateProps(this, [check('entry', props.entry, (e) => path.basename(path.dirname(e)) === 'runtime', 'a file in a runtime/ folder')]);
    this.logGroup =
      props.logGroup ??
      new logs.LogGroup(this, 'LogGroup', {
        encryptionKey: props.logsKey,
        retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      });
    this.role = lambdaRole(this, 'Role', this.logGroup, props.roleDescription);

    const bundling: nodejs.BundlingOptions = {
      minify: true,
      target: 'node24',
      // Bundle the SDK clients instead of using the runtime's copy, so the tested version is the deployed one.
      bundleAwsSDK: true,
      externalModules: [],
      ...(props.mainFields ? { mainFields: props.mainFields } : {}),
      ...(props.esbuildArgs ? { esbuildArgs: props.esbuildArgs } : {}),
    };
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: props.handler ?? 'handler',
      description: props.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      tracing: props.tracing,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      environment: props.environment,
      bundling: { ...bundling, assetHash: bundleHash(props.entry, bundling, props.bundleInputs ?? []) },
    });
  }
}

/** A hash of everything esbuild reads for `entry`: its runtime/ folder, the lock file, tsconfig.json, the options. */
function bundleHash(entry: string, options: nodejs.BundlingOptions, extraInputs: string[]): string {
  const runtimeDir = path.dirname(entry);
  // Options may hold absolute paths (esbuild aliases): hash them relative to the project, so the hash is the
  // same on every machine.
  const portable = JSON.stringify({ entry: path.basename(entry), options })
    .split(ROOT)
    .join('<root>');
  const hash = createHash('sha256').update(portable);
  const files = (fs.readdirSync(runtimeDir, { recursive: true }) as string[])
    .map((f) => path.join(runtimeDir, f))
    .filter((f) => fs.statSync(f).isFile())
    .sort();
  for (const file of [...files, ...extraInputs, ...BUILD_INPUTS])
    hash.update(path.relative(ROOT, file)).update('\0').update(fs.readFileSync(file)).update('\0');
  return hash.digest('hex');
}
