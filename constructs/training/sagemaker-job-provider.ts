/**
 * What every SageMaker job resource of this app shares (TrainingJob, ProcessingJob): the handler functions
 * (runtime/sagemaker-job.handler.ts), the Provider framework around them, and the chain of custom resources
 * that waits for one job longer than CloudFormation's hour allows one resource. Each construct grants its
 * handlers its own job's permissions.
 */
import * as path from 'path';
import { CustomResource, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct, IDependable } from 'constructs';
import { lambdaRole } from '../private/lambda-role';
import { acknowledgeWildcardResource } from '../private/nag-acknowledgements';
import { PlatformFunction } from '../private/platform-function';
import { guardTrustPolicy } from '../private/confused-deputy';
import { phases } from './training-job-rules';

/** CloudFormation waits at most 1 hour for one custom resource. */
const CFN_LIMIT_SECONDS = 3600;

export interface JobProviderOptions {
  /** Which job the handlers serve, for their descriptions (e.g. 'training', 'processing'). */
  readonly kind: string;
  /** Time between two checks of the job's status. */
  readonly queryInterval: Duration;
  /** How long the deploy waits for the job. */
  readonly timeout: Duration;
  /** Days the logs are kept. */
  readonly logRetention?: logs.RetentionDays;
  /** Key of the log groups. */
  readonly logEncryptionKey?: kms.IKey;
}

/** The handlers and provider of one job construct. */
export interface JobProvider {
  readonly onEvent: lambda.IFunction;
  readonly isComplete: lambda.IFunction;
  readonly provider: cr.Provider;
  /** Wait (seconds) of each phase resource. */
  readonly waits: number[];
  /** The provider's total timeout and the resources' service timeout, in seconds. */
  readonly totalTimeoutSeconds: number;
}

/** Creates the handler functions and the provider as children of `scope` (ids OnEvent, IsComplete, Provider, ...). */
export function createJobProvider(scope: Construct, options: JobProviderOptions): JobProvider {
  const handlerLogs = logGroup(scope, 'HandlerLogs', options);
  const onEvent = handler(scope, 'OnEvent', 'onEvent', handlerLogs, `Starts, adopts or stops the SageMaker ${options.kind} job of a custom resource`);
  const isComplete = handler(scope, 'IsComplete', 'isComplete', handlerLogs, `Reports whether the SageMaker ${options.kind} job of a custom resource has ended`);
  // Every phase waits at most PHASE_SECONDS; the provider's own limit (and CloudFormation's) sits above that.
  const waits = phases(options.timeout.toSeconds());
  const interval = options.queryInterval.toSeconds();
  const totalTimeoutSeconds = Math.min(Math.ceil((Math.max(...waits) + 2 * interval) / interval) * interval, Math.floor(CFN_LIMIT_SECONDS / interval) * interval);
  const provider = createProvider(scope, onEvent, isComplete, options, Duration.seconds(totalTimeoutSeconds));
  return { onEvent, isComplete, provider, waits, totalTimeoutSeconds };
}

/**
 * The chain of phase resources for one job: the first (id `Resource`) starts it, each next one (`Wait<i>`)
 * waits where the previous handed over. Returns the last: its attributes are the completed job's.
 */
export function createJobResources(scope: Construct, jobs: JobProvider, options: {
  readonly resourceType: string;
  readonly queryInterval: Duration;
  /** Properties of every phase. */
  readonly common: Record<string, unknown>;
  /** Properties of the start phase only (the Create request). */
  readonly start: Record<string, unknown>;
  /** What the job waits for (e.g. a data upload). */
  readonly after?: IDependable[];
}): CustomResource {
  const interval = options.queryInterval.toSeconds();
  let previous: CustomResource | undefined;
  jobs.waits.forEach((waitSeconds, i) => {
    const resource = new CustomResource(scope, i === 0 ? 'Resource' : `Wait${i}`, {
      serviceToken: jobs.provider.serviceToken,
      resourceType: options.resourceType,
      serviceTimeout: Duration.seconds(Math.min(CFN_LIMIT_SECONDS, jobs.totalTimeoutSeconds + 2 * interval)),
      properties: {
        Phase: i === 0 ? 'start' : 'wait',
        WaitSeconds: waitSeconds,
        FinalPhase: i === jobs.waits.length - 1,
        ...(i === 0 ? options.start : {}),
        ...options.common,
      },
    });
    if (previous) resource.node.addDependency(previous);
    else for (const d of options.after ?? []) resource.node.addDependency(d);
    previous = resource;
  });
  return previous!;
}

/** Lets the handlers pass the job's execution role to SageMaker, and nothing else. */
export function grantPassRole(jobs: JobProvider, role: iam.IRole): void {
  iam.Grant.addToPrincipal({
    grantee: jobs.onEvent, actions: ['iam:PassRole'], resourceArns: [role.roleArn],
    conditions: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
  });
}

function logGroup(scope: Construct, id: string, options: JobProviderOptions): logs.LogGroup {
  return new logs.LogGroup(scope, id, {
    retention: options.logRetention ?? logs.RetentionDays.THREE_MONTHS,
    encryptionKey: options.logEncryptionKey,
  });
}

function handler(scope: Construct, id: string, exportName: string, group: logs.LogGroup, description: string): lambda.IFunction {
  return new PlatformFunction(scope, id, {
    entry: path.join(__dirname, 'runtime', 'sagemaker-job.handler.ts'),
    handler: exportName,
    description,
    timeout: Duration.minutes(1),
    logGroup: group,
  }).function;
}

function createProvider(scope: Construct, onEvent: lambda.IFunction, isComplete: lambda.IFunction, options: JobProviderOptions, totalTimeout: Duration): cr.Provider {
  const providerLogs = logGroup(scope, 'ProviderLogs', options);
  const waiterLogs = logGroup(scope, 'WaiterLogs', options);
  const onEventRole = lambdaRole(scope, 'ProviderOnEventRole', providerLogs);
  const completeRole = lambdaRole(scope, 'ProviderCompleteRole', providerLogs);
  const provider = new cr.Provider(scope, 'Provider', {
    onEventHandler: onEvent,
    isCompleteHandler: isComplete,
    queryInterval: options.queryInterval,
    totalTimeout,
    logGroup: providerLogs,
    frameworkOnEventRole: onEventRole,
    frameworkCompleteAndTimeoutRole: completeRole,
    disableWaiterStateMachineLogging: false,
    waiterStateMachineLogOptions: { destination: waiterLogs, level: sfn.LogLevel.ALL, includeExecutionData: false },
  });
  for (const role of [onEventRole, completeRole]) {
    for (const fn of [onEvent, isComplete]) {
      acknowledgeWildcardResource(role, `${fn.functionArn}:*`, 'The provider framework invokes the handler function; `:*` only adds its versions and aliases.');
    }
  }
  // The provider's own functions and waiter are aws-cdk-lib's: found by type, not by their construct ids.
  // An acknowledgement on the provider reaches every resource beneath it (see private/nag-acknowledgements.ts).
  for (const fn of provider.node.findAll().filter((c): c is lambda.Function => c instanceof lambda.Function)) {
    acknowledgeWildcardResource(provider, `${fn.functionArn}:*`, 'The waiter invokes the provider\'s own function; `:*` only adds its versions and aliases.');
  }
  // The waiter state machine's role is aws-cdk-lib's too: found by the service it trusts, not its construct id.
  for (const role of provider.node.findAll().filter((c): c is iam.Role => c instanceof iam.Role)) {
    const trust = JSON.stringify(Stack.of(role).resolve((role.node.defaultChild as iam.CfnRole).assumeRolePolicyDocument));
    if (trust.includes('states.amazonaws.com')) guardTrustPolicy(role, 'states.amazonaws.com');
  }
  acknowledgeWildcardResource(provider, '*', 'Step Functions log delivery (logs:CreateLogDelivery and the calls around it) supports no resource scope.');
  Validations.of(provider).acknowledge({
    id: 'AwsSolutions-SF2',
    reason: 'The waiter only polls isComplete on a timer; the handlers log every status check, so a trace would add nothing.',
  });
  return provider;
}
