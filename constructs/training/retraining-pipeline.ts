import { ArnFormat, Duration, Names, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import * as path from 'path';

import { servicePrincipalForThisAccount } from '../private/confused-deputy';
import { acknowledgeWildcardResource } from '../private/nag-acknowledgements';
import { PlatformFunction } from '../private/platform-function';
import { check, validateProps } from '../private/validation';
import { alarmStateChangePattern, alarmTriggerInput } from './alarm-retraining-trigger';
import type { ModelRegistry } from './model-registry';
import type { ProcessingJob } from './processing-job';
import { grantRunInputs } from './retraining-job-access';
import { acknowledgeRetrainingPipeline, acknowledgeRunInputReads } from './retraining-pipeline-acknowledgements';
import { processingJobRequest, trainingJobRequest } from './runtime/job-requests';
import type { Approval } from './runtime/model-registration-contract';
import type { GateSettings } from './runtime/quality-gate';
import { ABSENT, COMPLETION_MARKER, PipelineConfig, SCHEDULE_EXPRESSION } from './runtime/retraining-contract';
import type { TrainingJob } from './training-job';

/** The source and detail type of the outcome event every run puts on the default event bus. */
export const OUTCOME_EVENT = { source: 'dlplatform.retraining', detailType: 'Retraining Run Outcome' } as const;

/** Properties of a {@link RetrainingPipeline}. */
export interface RetrainingPipelineProps {
  /** The deploy's prepare job: the pipeline runs its request again on the data as it is now. */
  readonly prepareJob: ProcessingJob;
  /** The deploy's training job: the pipeline runs its request on the newly prepared data. */
  readonly trainingJob: TrainingJob;
  /** The deploy's evaluate job. */
  readonly evaluateJob: ProcessingJob;
  /** The registry: the gate, the versions. */
  readonly registry: ModelRegistry;
  /** The raw data the prepare job reads: a bucket and a key prefix (or one `.csv` key). */
  readonly rawData: { readonly bucket: s3.IBucket; readonly key: string };
  /** The key of the prepared data (data.sha256 is read from prepare's report). */
  readonly encryptionKey: kms.IKey;
  /** The serving image's URI and content hash, as the deploy registers them. */
  readonly image: { readonly uri: string; readonly codeHash: string };
  /** The quality gate, as the deploy applies it. */
  readonly gate: GateSettings;
  /** Approval of a model that passes the gate. */
  readonly approval: Approval;
  /**
   * Start a run when a completion marker (`_SUCCESS`) lands under the raw prefix (or the raw `.csv` is written):
   * an S3 Object Created rule on the raw bucket, which must send events to EventBridge.
   * @default true
   */
  readonly onNewData?: boolean;
  /**
   * EventBridge Scheduler expression (`rate(7 days)`, `cron(0 3 ? * MON *)`) that starts a run.
   * @default - no schedule
   */
  readonly schedule?: string;
  /**
   * Key of the log groups.
   * @default - CloudWatch Logs' own encryption
   */
  readonly logEncryptionKey?: kms.IKey;
  /**
   * Days the logs are kept.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The retraining pipeline: a Standard Step Functions state machine that runs prepare → train → evaluate → gate →
 * register with the deploy's own job requests (built by runtime/job-requests.ts from the deploy's job constructs'
 * specs), roles, image, names and gate (model-registration.handler.ts). It ends at the registered version: Approved
 * by the gate (the Serving stack's rollout reconciler then moves the pointer and the endpoint), PendingManualApproval, or Rejected.
 *
 * - No duplicate work: the prepare job is named after the raw data's listing and the training job after the
 *   prepared data's content hash (with image, hyperparameters and instance settings); a job that exists is reused,
 *   and a registered version of the training job ends the run, naming it.
 * - One run at a time: a run that finds an earlier one in progress ends at once (a dropped trigger, logged).
 * - Triggers: new data (a completion marker), a schedule, an alarm ({@link addAlarmTrigger}, or an AlarmRetrainingTrigger in
 *   the alarm's stack), by hand (`npm run retrain`).
 * - Every run puts one outcome event ({@link OUTCOME_EVENT}) on the default bus; a failed run fails the execution.
 */
export class RetrainingPipeline extends Construct {
  /** The state machine. */
  readonly stateMachine: sfn.StateMachine;
  /** Its name, fixed at synth (so the plan step's permission to list its runs names it without a cycle). */
  readonly stateMachineName: string;
  /** The steps' function, for alarms on its errors. */
  readonly functions: lambda.IFunction[];
  /** The role EventBridge starts runs with (new data, alarms). */
  readonly eventsRole: iam.Role;
  /** The new-data rule, when on. */
  readonly newDataRule?: events.Rule;
  /** The schedule, when set. */
  readonly schedule?: scheduler.CfnSchedule;
  private readonly eventRuleNames: string[] = [];

  constructor(scope: Construct, id: string, props: RetrainingPipelineProps) {
    super(scope, id);
    validateProps(this, [
      ...(props.schedule !== undefined
        ? [
            check(
              'schedule',
              props.schedule,
              (e) => SCHEDULE_EXPRESSION.test(e),
              'rate(<n> <unit>) or cron(<6 fields>)',
              'https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html',
            ),
          ]
        : []),
    ]);
    const stack = Stack.of(this);
    const retention = props.logRetention ?? logs.RetentionDays.THREE_MONTHS;
    this.stateMachineName = Names.uniqueResourceName(this, { maxLength: 80, separator: '-' });
    const stateMachineArn = stack.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: this.stateMachineName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });

    const { prepareJob, trainingJob, evaluateJob, registry } = props;
    const config: PipelineConfig = {
      raw: { bucket: props.rawData.bucket.bucketName, key: props.rawData.key },
      prepare: { spec: prepareJob.spec, identity: prepareJob.identity },
      train: { spec: trainingJob.spec, identity: trainingJob.identity },
      evaluate: { spec: evaluateJob.spec, identity: evaluateJob.identity },
      registration: {
        ModelPackageGroupName: registry.groupName,
        ImageUri: props.image.uri,
        QualityGate: JSON.stringify(props.gate),
        Approval: props.approval,
        CodeHash: props.image.codeHash,
      },
    };

    // The steps' function: plan, fingerprint, register.
    const stepLogs = new logs.LogGroup(this, 'StepLogs', { retention, encryptionKey: props.logEncryptionKey });
    const steps = new PlatformFunction(this, 'Steps', {
      entry: path.join(__dirname, 'runtime', 'retraining-steps.handler.ts'),
      handler: 'onStep',
      description: "The retraining pipeline's plan, fingerprint and register steps",
      timeout: Duration.minutes(2),
      logGroup: stepLogs,
    }).function;
    this.functions = [steps];
    grantSteps(this, steps, props, stateMachineArn);

    // The states.
    const lambdaStep = (stateId: string, payload: Record<string, unknown>, resultPath: string) =>
      new tasks.LambdaInvoke(this, stateId, {
        lambdaFunction: steps,
        payload: sfn.TaskInput.fromObject({ 'config.$': '$.config', ...payload }),
        payloadResponseOnly: true,
        resultPath,
        retryOnServiceExceptions: true,
      });
    const outcome = (stateId: string, fields: Record<string, string>) =>
      new sfn.Pass(this, stateId, { parameters: fields, resultPath: '$.outcome' });
    const emit = new tasks.EventBridgePutEvents(this, 'EmitOutcome', {
      entries: [
        {
          source: OUTCOME_EVENT.source,
          detailType: OUTCOME_EVENT.detailType,
          detail: sfn.TaskInput.fromObject({ 'execution.$': '$$.Execution.Id', 'trigger.$': '$.trigger', 'outcome.$': '$.outcome' }),
        },
      ],
      resultPath: sfn.JsonPath.DISCARD,
    });
    const done = new sfn.Choice(this, 'Failed?')
      .when(
        sfn.Condition.stringEquals('$.outcome.result', 'Failed'),
        new sfn.Fail(this, 'RunFailed', { errorPath: '$.outcome.error', causePath: '$.outcome.cause' }),
      )
      .otherwise(new sfn.Succeed(this, 'RunEnded', { outputPath: '$.outcome' }));
    emit.next(done);

    const failed = new sfn.Pass(this, 'RecordFailure', {
      parameters: { result: 'Failed', 'error.$': '$.error.Error', 'cause.$': '$.error.Cause' },
      resultPath: '$.outcome',
    }).next(emit);
    const catching = <T extends sfn.TaskStateBase | sfn.CustomState>(state: T): T => {
      state.addCatch(failed, { resultPath: '$.error' });
      return state;
    };

    const configure = new sfn.Pass(this, 'Configure', {
      comment: "The deploy's job specs, identities and gate, fixed at synth; the execution input is the trigger",
      parameters: { config, 'trigger.$': '$' },
    });
    const plan = catching(
      lambdaStep(
        'Plan',
        {
          step: 'plan',
          execution: { 'id.$': '$$.Execution.Id', 'startTime.$': '$$.Execution.StartTime', 'stateMachine.$': '$$.StateMachine.Id' },
        },
        '$.plan',
      ),
    );
    const dropped = outcome('Dropped', { result: 'Dropped', 'runningExecution.$': '$.plan.runningExecution' }).next(emit);

    const prepare = catching(
      syncJob(
        this,
        'Prepare',
        'createProcessingJob',
        '$.plan.prepare.request',
        requestKeys(processingJobRequest(prepareJob.spec, { jobName: 'x', inputKeys: {} })),
      ),
    );
    const fingerprint = catching(
      lambdaStep('Fingerprint', { step: 'fingerprint', 'prepareName.$': '$.plan.prepare.name' }, '$.fingerprint'),
    );
    const unchanged = outcome('Unchanged', {
      result: 'Unchanged',
      'fingerprint.$': '$.fingerprint.fingerprint',
      'modelPackageArn.$': '$.fingerprint.version.arn',
      'modelPackageVersion.$': '$.fingerprint.version.number',
      'status.$': '$.fingerprint.version.status',
    }).next(emit);
    const train = catching(
      syncJob(
        this,
        'Train',
        'createTrainingJob',
        '$.fingerprint.train.request',
        requestKeys(trainingJobRequest(trainingJob.spec, { jobName: 'x', dataPrefix: '' })),
      ),
    );
    const evaluate = catching(
      syncJob(
        this,
        'Evaluate',
        'createProcessingJob',
        '$.fingerprint.evaluate.request',
        requestKeys(processingJobRequest(evaluateJob.spec, { jobName: 'x', inputKeys: {} })),
      ),
    );
    const register = catching(
      lambdaStep(
        'Register',
        {
          step: 'register',
          'prepareName.$': '$.plan.prepare.name',
          'trainName.$': '$.fingerprint.train.name',
          'evaluateName.$': '$.fingerprint.evaluate.name',
          'approvedModel.$': '$.fingerprint.evaluate.approvedModel',
        },
        '$.registration',
      ),
    );
    const registered = outcome('Registered', {
      'result.$': '$.registration.status',
      'fingerprint.$': '$.fingerprint.fingerprint',
      'modelPackageArn.$': '$.registration.modelPackageArn',
      'modelPackageVersion.$': '$.registration.modelPackageVersion',
      'reason.$': '$.registration.reason',
    }).next(emit);
    const jobFailedBefore = (stateId: string, job: string, statusPath: string, setting: string) =>
      new sfn.Pass(this, stateId, {
        parameters: {
          result: 'Failed',
          error: `${job}JobNotReusable`,
          cause: sfn.JsonPath.format(
            `The ${job.toLowerCase()} job {} of these inputs already exists with status {}; raise ${setting} to run it again.`,
            sfn.JsonPath.stringAt(`${statusPath.replace(/status$/, 'name')}`),
            sfn.JsonPath.stringAt(statusPath),
          ),
        },
        resultPath: '$.outcome',
      }).next(emit);
    // A job of that name: Absent → run it; Completed → reuse it; anything else → the run fails, naming the setting.
    const runOrReuse = (stateId: string, statusPath: string, run: sfn.IChainable, next: sfn.IChainable, failedBefore: sfn.IChainable) =>
      new sfn.Choice(this, stateId)
        .when(sfn.Condition.stringEquals(statusPath, ABSENT), run)
        .when(sfn.Condition.stringEquals(statusPath, 'Completed'), next)
        .otherwise(failedBefore);

    register.next(registered);
    const evaluateStep = runOrReuse(
      'EvaluateOrReuse?',
      '$.fingerprint.evaluate.status',
      evaluate.next(register),
      register,
      jobFailedBefore(
        'EvaluateNotReusable',
        'Evaluate',
        '$.fingerprint.evaluate.status',
        'trainingAttempt (the evaluate job is named after the training job)',
      ),
    );
    const trainStep = runOrReuse(
      'TrainOrReuse?',
      '$.fingerprint.train.status',
      train.next(evaluateStep),
      evaluateStep,
      jobFailedBefore('TrainNotReusable', 'Training', '$.fingerprint.train.status', 'trainingAttempt'),
    );
    const afterFingerprint = new sfn.Choice(this, 'AlreadyRegistered?')
      .when(sfn.Condition.booleanEquals('$.fingerprint.registered', true), unchanged)
      .otherwise(trainStep);
    fingerprint.next(afterFingerprint);
    const prepareStep = runOrReuse(
      'PrepareOrReuse?',
      '$.plan.prepare.status',
      prepare.next(fingerprint),
      fingerprint,
      jobFailedBefore('PrepareNotReusable', 'Prepare', '$.plan.prepare.status', 'prepareAttempt'),
    );
    const definition = configure
      .next(plan)
      .next(
        new sfn.Choice(this, 'AnotherRunInProgress?')
          .when(sfn.Condition.booleanEquals('$.plan.busy', true), dropped)
          .otherwise(prepareStep),
      );

    const machineLogs = new logs.LogGroup(this, 'Logs', { retention, encryptionKey: props.logEncryptionKey });
    const role = new iam.Role(this, 'Role', { assumedBy: servicePrincipalForThisAccount(this, 'states.amazonaws.com') });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: this.stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      comment: "Retraining: prepare, train, evaluate, gate and register with the deploy's jobs and gate",
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      role,
      // The longest run: each job's own limit, plus time for the steps between them.
      timeout: Duration.seconds(
        prepareJob.spec.maxRuntimeSeconds +
          (trainingJob.spec.useSpot ? trainingJob.spec.maxWaitSeconds : trainingJob.spec.maxRuntimeSeconds) +
          evaluateJob.spec.maxRuntimeSeconds +
          3600,
      ),
      logs: { destination: machineLogs, level: sfn.LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
    });
    grantJobs(this, role, props);
    // The job roles read what a run's own jobs wrote (the deploy's jobs read only the deploy's): retraining-job-access.ts.
    acknowledgeRunInputReads(grantRunInputs(props));
    acknowledgeWildcardResource(
      role,
      `${steps.functionArn}:*`,
      "The state machine invokes the steps' function; `:*` only adds its versions and aliases.",
    );
    acknowledgeWildcardResource(
      role,
      '*',
      'Step Functions log delivery (logs:CreateLogDelivery and the calls around it) and X-Ray (xray:PutTraceSegments) support no resource scope.',
    );

    this.eventsRole = new iam.Role(this, 'EventsRole', {
      description: "EventBridge starts a retraining run with it, for this pipeline's rules only",
      assumedBy: new iam.ServicePrincipal('events.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': stack.account },
        // EventBridge sets aws:SourceArn to the rule's ARN (https://docs.aws.amazon.com/eventbridge/latest/userguide/cross-service-confused-deputy-prevention.html).
        ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'events', resource: 'rule', resourceName: `${this.rulePrefix()}*` }) },
      }),
    });
    this.stateMachine.grantStartExecution(this.eventsRole);

    if (props.onNewData ?? true) {
      const key = props.rawData.key;
      // One object says "the upload is complete": the marker under a prefix, or the file itself for one .csv.
      const marker = /\.csv$/i.test(key) ? key : `${key}${COMPLETION_MARKER}`;
      this.newDataRule = this.addRule(
        'NewData',
        'new-data',
        `Starts a retraining run when the completion marker ${marker} is written to the raw data bucket`,
        {
          source: ['aws.s3'],
          detailType: ['Object Created'],
          detail: { bucket: { name: [props.rawData.bucket.bucketName] }, object: { key: [marker] } },
        },
        events.RuleTargetInput.fromObject({ trigger: 'new-data', key: events.EventField.fromPath('$.detail.object.key') }),
      );
    }

    if (props.schedule !== undefined) {
      const schedulerRole = new iam.Role(this, 'SchedulerRole', {
        description: 'EventBridge Scheduler starts a retraining run with it',
        // https://docs.aws.amazon.com/scheduler/latest/UserGuide/setting-up.html#setting-up-execution-role (confused deputy: aws:SourceAccount)
        assumedBy: servicePrincipalForThisAccount(this, 'scheduler.amazonaws.com'),
      });
      this.stateMachine.grantStartExecution(schedulerRole);
      this.schedule = new scheduler.CfnSchedule(this, 'Schedule', {
        description: 'Starts a retraining run on the retrainSchedule setting',
        scheduleExpression: props.schedule,
        flexibleTimeWindow: { mode: 'OFF' },
        target: { arn: this.stateMachine.stateMachineArn, roleArn: schedulerRole.roleArn, input: JSON.stringify({ trigger: 'schedule' }) },
      });
    }
    acknowledgeRetrainingPipeline(this);
  }

  /**
   * Starts a run when `alarm` goes into ALARM, with a rule in this pipeline's stack. For an alarm in a stack that
   * depends on this one (the monitoring stack's drift alarms), use an AlarmRetrainingTrigger (alarm-retraining-trigger.ts) in the
   * alarm's stack instead: a rule here would make the two stacks refer to each other.
   */
  addAlarmTrigger(alarm: cloudwatch.IAlarm): events.Rule {
    const id = `Alarm${Names.uniqueId(alarm).slice(-40)}`;
    return this.addRule(
      id,
      `alarm-${this.eventRuleNames.length}`,
      `Starts a retraining run when ${alarm.alarmName} is in ALARM`,
      alarmStateChangePattern([alarm]),
      alarmTriggerInput(),
    );
  }

  /** Failed and timed-out runs per 5 minutes (an alarm at one raises an incident through the responder). */
  metricFailedRuns(): cloudwatch.IMetric {
    return new cloudwatch.MathExpression({
      expression: 'FILL(failed, 0) + FILL(timedOut, 0)',
      usingMetrics: {
        failed: this.stateMachine.metricFailed({ period: Duration.minutes(5), statistic: 'Sum' }),
        timedOut: this.stateMachine.metricTimedOut({ period: Duration.minutes(5), statistic: 'Sum' }),
      },
      label: 'Failed or timed-out retraining runs',
      period: Duration.minutes(5),
    });
  }

  private rulePrefix(): string {
    return Names.uniqueResourceName(this, { maxLength: 40, separator: '-' });
  }

  private addRule(
    id: string,
    suffix: string,
    description: string,
    eventPattern: events.EventPattern,
    input: events.RuleTargetInput,
  ): events.Rule {
    const ruleName = `${this.rulePrefix()}-${suffix}`;
    this.eventRuleNames.push(ruleName);
    const rule = new events.Rule(this, id, { ruleName, description, eventPattern });
    rule.addTarget(new targets.SfnStateMachine(this.stateMachine, { role: this.eventsRole, input }));
    return rule;
  }
}

/** The top-level members of a request: each becomes `<Member>.$` of the task's Parameters, read from the step's request. */
function requestKeys(request: object): string[] {
  return Object.keys(request);
}

/**
 * A SageMaker job as a .sync task (Step Functions starts it and waits for it): aws-cdk-lib 2.276 has no processing
 * task, and its training task lacks spot, checkpoints and MaxWait, so both are CustomStates whose Parameters are the
 * request the steps built. https://docs.aws.amazon.com/step-functions/latest/dg/connect-sagemaker.html
 */
function syncJob(
  scope: Construct,
  stateId: string,
  action: 'createTrainingJob' | 'createProcessingJob',
  requestPath: string,
  keys: string[],
): sfn.CustomState {
  return new sfn.CustomState(scope, stateId, {
    stateJson: {
      Type: 'Task',
      Resource: `arn:${Stack.of(scope).partition}:states:::sagemaker:${action}.sync`,
      Parameters: Object.fromEntries(keys.map((k) => [`${k}.$`, `${requestPath}.${k}`])),
      // The job's description is large and the steps read what they need from SageMaker: keep the state small.
      ResultPath: null,
    },
  });
}

/** The steps' permissions: list this pipeline's runs, read the raw listing and the prepared data's hash, describe the jobs, register. */
function grantSteps(scope: RetrainingPipeline, steps: lambda.IFunction, props: RetrainingPipelineProps, stateMachineArn: string): void {
  const stack = Stack.of(scope);
  // Actions, resource types and condition keys: https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html
  iam.Grant.addToPrincipal({ grantee: steps, actions: ['states:ListExecutions'], resourceArns: [stateMachineArn] });
  // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html (s3:prefix on ListBucket)
  iam.Grant.addToPrincipal({
    grantee: steps,
    actions: ['s3:ListBucket'],
    resourceArns: [props.rawData.bucket.bucketArn],
    conditions: { StringLike: { 's3:prefix': [`${props.rawData.key}*`] } },
  });
  const hashes = props.prepareJob.outputBucket.arnForObjects(`${props.prepareJob.spec.outputPrefix}*/report/data.sha256`);
  iam.Grant.addToPrincipal({ grantee: steps, actions: ['s3:GetObject'], resourceArns: [hashes] });
  // The gate reads the evaluate job's comparison with the approved model (evaluation-comparison.ts).
  const evaluations = props.evaluateJob.outputBucket.arnForObjects(
    `${props.evaluateJob.spec.outputPrefix}${props.evaluateJob.identity.prefix}-*/evaluation/*`,
  );
  iam.Grant.addToPrincipal({ grantee: steps, actions: ['s3:GetObject'], resourceArns: [evaluations] });
  props.encryptionKey.grantDecrypt(steps);
  const jobArns = (kind: 'training' | 'processing', prefix: string) =>
    stack.formatArn({ service: 'sagemaker', resource: `${kind}-job`, resourceName: `${prefix}-*` });
  const processing = [props.prepareJob.identity.prefix, props.evaluateJob.identity.prefix].map((p) => jobArns('processing', p));
  const training = jobArns('training', props.trainingJob.identity.prefix);
  iam.Grant.addToPrincipal({ grantee: steps, actions: ['sagemaker:DescribeProcessingJob'], resourceArns: processing });
  iam.Grant.addToPrincipal({ grantee: steps, actions: ['sagemaker:DescribeTrainingJob'], resourceArns: [training] });
  props.registry.grantRegistration(steps);
  const role = steps.role!;
  acknowledgeWildcardResource(
    role,
    hashes,
    'Each prepare job writes its data.sha256 under prepared/<job name>/report/: the steps read only those files.',
  );
  acknowledgeWildcardResource(
    role,
    evaluations,
    'Each evaluate job writes under evaluations/<job name>/evaluation/, named when it starts: the gate reads only those folders.',
  );
  for (const arn of [...processing, training]) {
    acknowledgeWildcardResource(role, arn, "Job names are <prefix>-<hash of the inputs>: the steps describe only this platform's jobs.");
  }
}

/**
 * The state machine's permissions for the .sync jobs, as Step Functions documents them
 * (https://docs.aws.amazon.com/step-functions/latest/dg/sagemaker-iam.html): create, describe and stop the
 * deploy's jobs (with the deploy's conditions: network isolation and the platform key), pass their roles, and the
 * managed rules through which Step Functions learns that a job ended.
 */
function grantJobs(scope: RetrainingPipeline, role: iam.Role, props: RetrainingPipelineProps): void {
  const stack = Stack.of(scope);
  const jobs: [string, 'TrainingJob' | 'ProcessingJob', iam.IRole, string | undefined, boolean][] = [
    [
      props.prepareJob.identity.prefix,
      'ProcessingJob',
      props.prepareJob.role,
      props.prepareJob.spec.volumeKms ? props.prepareJob.spec.keyArn : undefined,
      true,
    ],
    [
      props.evaluateJob.identity.prefix,
      'ProcessingJob',
      props.evaluateJob.role,
      props.evaluateJob.spec.volumeKms ? props.evaluateJob.spec.keyArn : undefined,
      true,
    ],
    [
      props.trainingJob.identity.prefix,
      'TrainingJob',
      props.trainingJob.role,
      props.trainingJob.spec.volumeKms ? props.trainingJob.spec.keyArn : undefined,
      props.trainingJob.spec.networkIsolation,
    ],
  ];
  for (const [prefix, action, jobRole, volumeKey, isolated] of jobs) {
    const kind = action === 'TrainingJob' ? 'training-job' : 'processing-job';
    const arn = stack.formatArn({ service: 'sagemaker', resource: kind, resourceName: `${prefix}-*` });
    // The condition keys the deploy's job handlers are held to (sagemaker-job-provider.ts's grantJobHandlers).
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [`sagemaker:Create${action}`],
        resources: [arn],
        conditions: {
          ...(isolated ? { Bool: { 'sagemaker:NetworkIsolation': 'true' } } : {}),
          ArnEquals: {
            'sagemaker:OutputKmsKeyArn': props.encryptionKey.keyArn,
            ...(volumeKey ? { 'sagemaker:VolumeKmsKeyArn': volumeKey } : {}),
          },
        },
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [`sagemaker:Describe${action}`, `sagemaker:Stop${action}`, 'sagemaker:ListTags'],
        resources: [arn],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [jobRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
      }),
    );
    acknowledgeWildcardResource(role, arn, "Job names are <prefix>-<hash of the inputs>: the pipeline runs only this platform's jobs.");
  }
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
      resources: ['Training', 'Processing'].map((k) =>
        stack.formatArn({ service: 'events', resource: 'rule', resourceName: `StepFunctionsGetEventsForSageMaker${k}JobsRule` }),
      ),
    }),
  );
}
