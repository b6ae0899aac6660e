/**
 * What every SageMaker job resource of this app shares (TrainingJob, ProcessingJob): the handler functions
 * (runtime/sagemaker-job.handler.ts), the Provider framework around them, and the chain of custom resources
 * that waits for one job longer than CloudFormation's hour allows one resource. Each construct grants its
 * handlers its own job's permissions.
 */
import { CustomResource, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct, IDependable } from 'constructs';
import * as path from 'path';

import { guardTrustPolicy } from '../private/confused-deputy';
import { lambdaRole } from '../private/lambda-role';
import { acknowledgeWildcardResource } from '../private/nag-acknowledgements';
import { withoutActionsOnAnyResource } from '../private/narrow-wildcard-grant';
import { PlatformFunction } from '../private/platform-function';
import type { SageMakerJobKind } from './sagemaker-execution-role';

/** CloudFormation waits at most 1 hour for one custom resource. */
const CFN_LIMIT_SECONDS = 3600;
/** The longest a deploy may wait for a job. */
export const MAX_TIMEOUT = Duration.hours(2);
/** The longest one phase waits: well inside CloudFormation's hour for a custom resource. */
export const PHASE_SECONDS = 55 * 60;

export interface JobProviderOptions {
  /** Which job the handlers serve: their descriptions, and the job ARNs they may manage. */
  readonly kind: SageMakerJobKind;
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
  readonly kind: SageMakerJobKind;
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
  const onEvent = handler(
    scope,
    'OnEvent',
    'onEvent',
    handlerLogs,
    `Starts, adopts or stops the SageMaker ${options.kind} job of a custom resource`,
  );
  const isComplete = handler(
    scope,
    'IsComplete',
    'isComplete',
    handlerLogs,
    `Reports whether the SageMaker ${options.kind} job of a custom resource has ended`,
  );
  // Every phase waits at most PHASE_SECONDS; the provider's own limit (and CloudFormation's) sits above that.
  const waits = phases(options.timeout.toSeconds());
  const interval = options.queryInterval.toSeconds();
  const totalTimeoutSeconds = Math.min(
    Math.ceil((Math.max(...waits) + 2 * interval) / interval) * interval,
    Math.floor(CFN_LIMIT_SECONDS / interval) * interval,
  );
  const provider = createProvider(scope, onEvent, isComplete, options, Duration.seconds(totalTimeoutSeconds));
  return { kind: options.kind, onEvent, isComplete, provider, waits, totalTimeoutSeconds };
}

/**
 * The chain of phase resources for one job: the first (id `Resource`) starts it, each next one (`Wait<i>`)
 * waits where the previous handed over. Returns the last: its attributes are the completed job's.
 */
export function createJobResources(
  scope: Construct,
  jobs: JobProvider,
  options: {
    readonly resourceType: string;
    readonly queryInterval: Duration;
    /** Properties of every phase. */
    readonly common: Record<string, unknown>;
    /** Properties of the start phase only (the Create request). */
    readonly start: Record<string, unknown>;
    /** What the job waits for (e.g. a data upload). */
    readonly after?: IDependable[];
    /**
     * The start phase names the job at run time (an evaluate job that scores the approved model): each wait phase
     * reads the name from the previous phase's attribute of the same name, not from `common`.
     * @default - the job name in `common`, fixed at synth
     */
    readonly nameAtRunTime?: string;
  },
): CustomResource {
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
        ...(previous && options.nameAtRunTime ? { [options.nameAtRunTime]: previous.getAttString(options.nameAtRunTime) } : {}),
      },
    });
    if (previous) resource.node.addDependency(previous);
    else for (const d of options.after ?? []) resource.node.addDependency(d);
    previous = resource;
  });
  return previous!;
}

/** Wait phases (seconds) that together cover `total`, none longer than one custom resource may take. */
export function phases(total: number): number[] {
  const out: number[] = [];
  for (let left = total; left > 0; left -= PHASE_SECONDS) out.push(Math.min(left, PHASE_SECONDS));
  return out;
}

/** What the handlers may start: the security settings of the Create request they send. */
export interface JobRequestSettings {
  /** Start of the names of the construct's jobs: the handlers manage `<prefix>-*` only. */
  readonly jobNamePrefix: string;
  /** The role the jobs run with; the handlers may pass it, and no other. */
  readonly role: iam.IRole;
  /** Whether the request isolates the container (then the handler may start no job without it). */
  readonly networkIsolation: boolean;
  /** The request's output key. */
  readonly outputKey: string;
  /** The request's volume key, when it has one. */
  readonly volumeKey?: string;
}

/**
 * The handlers' permissions: create, describe and stop the construct's own jobs, pass its role to SageMaker and
 * nothing else. The conditions pin the security settings: the handler can start no job without them. Keys and
 * the actions they apply to: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html#amazonsagemaker-policy-keys
 * (sagemaker:OutputKmsKey is deprecated and applies to no action; a volume key is pinned only when the request
 * carries one, since an absent key would fail the condition).
 */
export function grantJobHandlers(jobs: JobProvider, settings: JobRequestSettings): void {
  const { onEvent, isComplete } = jobs;
  const action = jobs.kind === 'training' ? 'TrainingJob' : 'ProcessingJob';
  const jobArns = Stack.of(onEvent).formatArn({
    service: 'sagemaker',
    resource: `${jobs.kind}-job`,
    resourceName: `${settings.jobNamePrefix}-*`,
  });
  iam.Grant.addToPrincipal({
    grantee: onEvent,
    actions: [`sagemaker:Create${action}`],
    resourceArns: [jobArns],
    conditions: {
      ...(settings.networkIsolation ? { Bool: { 'sagemaker:NetworkIsolation': 'true' } } : {}),
      ArnEquals: {
        'sagemaker:OutputKmsKeyArn': settings.outputKey,
        ...(settings.volumeKey ? { 'sagemaker:VolumeKmsKeyArn': settings.volumeKey } : {}),
      },
    },
  });
  iam.Grant.addToPrincipal({
    grantee: onEvent,
    actions: [`sagemaker:Describe${action}`, `sagemaker:Stop${action}`],
    resourceArns: [jobArns],
  });
  iam.Grant.addToPrincipal({ grantee: isComplete, actions: [`sagemaker:Describe${action}`], resourceArns: [jobArns] });
  iam.Grant.addToPrincipal({
    grantee: onEvent,
    actions: ['iam:PassRole'],
    resourceArns: [settings.role.roleArn],
    conditions: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
  });
  for (const fn of [onEvent, isComplete]) {
    acknowledgeWildcardResource(
      fn.role!,
      jobArns,
      "Job names are <prefix>-<hash of the inputs>, fixed at synth: the handler manages only this construct's jobs.",
    );
  }
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

/** The logging actions the waiter's role holds on its own log group only (the rest take no resource). */
const WAITER_STREAM_ACTIONS = ['logs:CreateLogStream', 'logs:PutLogEvents'];

function createProvider(
  scope: Construct,
  onEvent: lambda.IFunction,
  isComplete: lambda.IFunction,
  options: JobProviderOptions,
  totalTimeout: Duration,
): cr.Provider {
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
      acknowledgeWildcardResource(
        role,
        `${fn.functionArn}:*`,
        'The provider framework invokes the handler function; `:*` only adds its versions and aliases.',
      );
    }
  }
  // The provider's own functions and waiter are aws-cdk-lib's: found by type, not by their construct ids. The
  // waiter invokes the framework's isComplete and onTimeout functions, not its onEvent one (the service token).
  const waited = provider.node
    .findAll()
    .filter((c): c is lambda.Function => c instanceof lambda.Function && c.functionArn !== provider.serviceToken);
  // The waiter state machine's role is aws-cdk-lib's too: found by the service it trusts, not its construct id.
  for (const role of provider.node.findAll().filter((c): c is iam.Role => c instanceof iam.Role)) {
    const trust = JSON.stringify(Stack.of(role).resolve((role.node.defaultChild as iam.CfnRole).assumeRolePolicyDocument));
    if (!trust.includes('states.amazonaws.com')) continue;
    guardTrustPolicy(role, 'states.amazonaws.com');
    // aws-cdk-lib grants the waiter Step Functions' logging policy (https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html)
    // on `*`; CreateLogStream and PutLogEvents take a log stream, so they keep only the waiter's own log group.
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: WAITER_STREAM_ACTIONS, resources: [waiterLogs.logGroupArn] }));
    withoutActionsOnAnyResource(role, WAITER_STREAM_ACTIONS);
    for (const fn of waited)
      acknowledgeWildcardResource(
        role,
        `${fn.functionArn}:*`,
        "The waiter invokes the provider's own function; `:*` only adds its versions and aliases.",
      );
    acknowledgeWildcardResource(
      role,
      '*',
      'Step Functions log delivery (logs:CreateLogDelivery and the calls around it) takes no resource type.',
    );
  }
  return provider;
}
