import { CfnCondition, CfnResource, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import * as path from 'path';

import { supportsVolumeKms } from '../instance-types';
import { servicePrincipalForThisAccount } from '../private/confused-deputy';
import { PlatformFunction } from '../private/platform-function';
import { check, validateProps } from '../private/validation';
import { SageMakerExecutionRole } from '../training/sagemaker-execution-role';
import { acknowledgeDriftCheck } from './drift-check-acknowledgements';
import type { DriftMetricName } from './runtime/drift-metrics';
import { DriftSchedule, MAX_JOB_NAME_PREFIX } from './runtime/drift-window';

const RUNTIME = path.join(__dirname, 'runtime');
/** Where the image's `monitor` reads and writes (training-image/src/dlplatform/paths.py, docs/drift.md). */
const PROCESSING_ROOT = '/opt/ml/processing';

/** Properties of a {@link DriftCheck}. */
export interface DriftCheckProps {
  /** The training image; the job runs it as `monitor`. */
  readonly image: ecrAssets.DockerImageAsset;
  /** Where the endpoint's variant captures its traffic (`InferenceEndpoint.captureLocation`): the job reads it. */
  readonly capture: { readonly bucket: s3.IBucket; readonly prefix: string };
  /** The model artifacts the served versions may carry (`models/<training job prefix>-`): the job reads the served one. */
  readonly modelArtifacts: { readonly bucket: s3.IBucket; readonly prefix: string };
  /** The served model package version: the check compares the traffic with the baseline its artifact carries. */
  readonly modelPackageArn: string;
  /** IAM resource of every model package version that may be served (DescribeModelPackage), e.g. the group's `<group>/*`. */
  readonly modelPackageVersions: string;
  /** The endpoint: the metrics' EndpointName dimension. */
  readonly endpointName: string;
  /** Its production variant: the metrics' VariantName dimension. */
  readonly variantName: string;
  /** Key of the capture files, the reports and the job's volume. */
  readonly encryptionKey: kms.IKey;
  /** CloudWatch namespace of the drift metrics. */
  readonly namespace: string;
  /**
   * How often the check runs; each run reads the last whole hour, or UTC day, of capture files.
   * @default 'hourly'
   */
  readonly schedule?: DriftSchedule;
  /**
   * Fewest valid records a window needs for drift figures (MONITOR_MIN_RECORDS).
   * @default 200
   */
  readonly minRecords?: number;
  /**
   * PSI at or above which a feature or the predicted class has drifted (MONITOR_DRIFT_THRESHOLD).
   * @default 0.25
   */
  readonly threshold?: number;
  /**
   * Instance type of the job.
   * @default 'ml.m5.large'
   */
  readonly instanceType?: string;
  /**
   * Start of the job names (at most 43 characters; the window and the attempt are added).
   * @default - the stack name, lowercased, then `-drift`
   */
  readonly jobNamePrefix?: string;
  /**
   * Key prefix of the reports in the capture bucket: `<reportPrefix><job name>/drift/drift.json`.
   * @default 'drift-reports/'
   */
  readonly reportPrefix?: string;
  /**
   * Key of the functions' and the state machine's log groups.
   * @default - CloudWatch Logs' own encryption
   */
  readonly logsKey?: kms.IKey;
  /**
   * Run only while this condition holds (the schedule is created only then), e.g. while an endpoint exists.
   * @default - always
   */
  readonly condition?: CfnCondition;
}

/**
 * The scheduled drift check: EventBridge Scheduler starts a Standard state machine that works out the window
 * (the last hour's capture folder), skips a window without capture files, finds the served model's artifact,
 * runs the image's `monitor` as a network-isolated Processing job over the window, and publishes drift.json's
 * metrics to CloudWatch from a Lambda function (the job has no network to do it).
 */
export class DriftCheck extends Construct {
  /** The state machine one run is. */
  readonly stateMachine: sfn.StateMachine;
  /** The schedule that starts it. */
  readonly schedule: scheduler.Schedule;
  /** The role the Processing jobs run with. */
  readonly jobRole: iam.Role;
  /** The functions (window and publisher), for error alarms. */
  readonly functions: lambda.IFunction[];
  /** Start of every job name. */
  readonly jobNamePrefix: string;
  /** CloudWatch namespace of the metrics. */
  readonly namespace: string;
  /** How long one window is (the alarms' period). */
  readonly windowLength: Duration;

  constructor(scope: Construct, id: string, props: DriftCheckProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const schedule = props.schedule ?? 'hourly';
    const instanceType = props.instanceType ?? 'ml.m5.large';
    const reportPrefix = props.reportPrefix ?? 'drift-reports/';
    this.jobNamePrefix =
      props.jobNamePrefix ??
      `${stack.stackName
        .toLowerCase()
        .replace(/[^a-z0-9-]/g, '-')
        .slice(0, MAX_JOB_NAME_PREFIX - 6)}-drift`;
    this.namespace = props.namespace;
    this.windowLength = schedule === 'hourly' ? Duration.hours(1) : Duration.days(1);
    validateProps(this, [
      check('schedule', schedule, (s) => s === 'hourly' || s === 'daily', 'hourly or daily'),
      check(
        'jobNamePrefix',
        this.jobNamePrefix,
        (p) => /^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/.test(p) && p.length <= MAX_JOB_NAME_PREFIX,
        `up to ${MAX_JOB_NAME_PREFIX} letters, digits and inner hyphens`,
        'https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateProcessingJob.html',
      ),
      check(
        'minRecords',
        props.minRecords ?? 200,
        (n) => Number.isInteger(n) && n >= 1 && n <= 1_000_000_000,
        'a whole number from 1 to 1000000000',
      ),
      check('threshold', props.threshold ?? 0.25, (n) => n > 0 && n <= 100, 'a number above 0 and at most 100'),
      check('reportPrefix', reportPrefix, (p) => /^([^/\s]+\/)+$/.test(p), 'key folders ending in "/"'),
      // CloudWatch namespaces: https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html
      check(
        'namespace',
        props.namespace,
        (n) => /^[A-Za-z0-9.\-_/#:]{1,255}$/.test(n) && !n.startsWith('AWS/'),
        'up to 255 letters, digits and . - _ / # :, not starting with AWS/',
        'https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html',
      ),
    ]);

    const volumeKms = supportsVolumeKms(instanceType);
    this.jobRole = new SageMakerExecutionRole(this, 'JobRole', {
      jobKind: 'processing',
      jobNamePrefix: this.jobNamePrefix,
      inputs: [props.capture, props.modelArtifacts],
      outputs: [{ bucket: props.capture.bucket, prefix: reportPrefix }],
      encryptionKey: props.encryptionKey,
      volumeEncryption: volumeKms,
      repository: props.image.repository,
    });

    const windowFn = new PlatformFunction(this, 'Window', {
      entry: path.join(RUNTIME, 'drift-window.handler.ts'),
      description: 'Drift check: the capture folder and job name of one scheduled run',
      timeout: Duration.seconds(10),
      memorySize: 128,
      logsKey: props.logsKey,
    });
    const publishFn = new PlatformFunction(this, 'Publish', {
      entry: path.join(RUNTIME, 'drift-metrics.handler.ts'),
      description: "Drift check: publishes a window's drift.json metrics to CloudWatch",
      timeout: Duration.seconds(30),
      logsKey: props.logsKey,
      environment: { NAMESPACE: props.namespace, REPORT_BUCKET: props.capture.bucket.bucketName, REPORT_PREFIX: reportPrefix },
    });
    // Reads the check's own reports, nothing else of the bucket (no list, no captured traffic).
    const reports = props.capture.bucket.arnForObjects(`${reportPrefix}${this.jobNamePrefix}-*`);
    iam.Grant.addToPrincipal({ grantee: publishFn.role, actions: ['s3:GetObject'], resourceArns: [reports] });
    props.encryptionKey.grant(publishFn.role, 'kms:Decrypt');
    publishFn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        // https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/iam-cw-condition-keys-namespace.html
        conditions: { StringEquals: { 'cloudwatch:namespace': props.namespace } },
      }),
    );
    this.functions = [windowFn.function, publishFn.function];

    const windowState = new tasks.LambdaInvoke(this, 'Window of this run', {
      lambdaFunction: windowFn.function,
      payload: sfn.TaskInput.fromObject({
        time: sfn.JsonPath.stringAt('$.time'),
        executionName: sfn.JsonPath.stringAt('$$.Execution.Name'),
        schedule,
        bucket: props.capture.bucket.bucketName,
        capturePrefix: props.capture.prefix,
        reportPrefix,
        jobNamePrefix: this.jobNamePrefix,
      }),
      payloadResponseOnly: true,
      resultPath: '$.window',
      retryOnServiceExceptions: true,
    });
    const findCapture = new tasks.CallAwsService(this, 'Any capture files', {
      service: 's3',
      action: 'listObjectsV2',
      parameters: { Bucket: props.capture.bucket.bucketName, Prefix: sfn.JsonPath.stringAt('$.window.captureKeyPrefix'), MaxKeys: 1 },
      // Lists key names only (endpoint, variant, hour): never reads a captured body.
      iamAction: 's3:ListBucket',
      iamResources: [props.capture.bucket.bucketArn],
      resultSelector: { count: sfn.JsonPath.numberAt('$.KeyCount') },
      resultPath: '$.capture',
    });
    const servedModel = new tasks.CallAwsService(this, 'Served model', {
      service: 'sagemaker',
      action: 'describeModelPackage',
      parameters: { ModelPackageName: props.modelPackageArn },
      iamResources: [props.modelPackageVersions],
      resultSelector: { modelDataUrl: sfn.JsonPath.stringAt('$.InferenceSpecification.Containers[0].ModelDataUrl') },
      resultPath: '$.model',
    });
    const runJob = new sfn.CustomState(this, 'Check drift', {
      stateJson: {
        Type: 'Task',
        // The .sync integration waits for the job (https://docs.aws.amazon.com/step-functions/latest/dg/connect-sagemaker.html);
        // aws-cdk-lib has no task construct for processing jobs.
        Resource: `arn:${stack.partition}:states:::sagemaker:createProcessingJob.sync`,
        Parameters: {
          'ProcessingJobName.$': '$.window.jobName',
          RoleArn: this.jobRole.roleArn,
          AppSpecification: { ImageUri: props.image.imageUri, ContainerArguments: ['monitor'] },
          // The window is the capture folder: each file is read by one run, so no inference-time bounds are set.
          Environment: { MONITOR_MIN_RECORDS: String(props.minRecords ?? 200), MONITOR_DRIFT_THRESHOLD: String(props.threshold ?? 0.25) },
          ProcessingInputs: [
            {
              InputName: 'capture',
              S3Input: { 'S3Uri.$': '$.window.captureUri', LocalPath: `${PROCESSING_ROOT}/input/capture`, ...S3_INPUT },
            },
            {
              InputName: 'model',
              S3Input: { 'S3Uri.$': '$.model.modelDataUrl', LocalPath: `${PROCESSING_ROOT}/input/model`, ...S3_INPUT },
            },
          ],
          ProcessingOutputConfig: {
            Outputs: [
              {
                OutputName: 'drift',
                S3Output: { 'S3Uri.$': '$.window.reportUri', LocalPath: `${PROCESSING_ROOT}/output/drift`, S3UploadMode: 'EndOfJob' },
              },
            ],
            KmsKeyId: props.encryptionKey.keyArn,
          },
          ProcessingResources: {
            ClusterConfig: {
              InstanceCount: 1,
              InstanceType: instanceType,
              VolumeSizeInGB: 30,
              ...(volumeKms ? { VolumeKmsKeyId: props.encryptionKey.keyArn } : {}),
            },
          },
          StoppingCondition: { MaxRuntimeInSeconds: Math.min(this.windowLength.toSeconds(), 3600) },
          // No network, like every platform job: it reads and writes S3 through SageMaker's own channels.
          NetworkConfig: { EnableNetworkIsolation: true, EnableInterContainerTrafficEncryption: false },
        },
        ResultPath: null,
      },
    });
    const publish = new tasks.LambdaInvoke(this, 'Publish metrics', {
      lambdaFunction: publishFn.function,
      payload: sfn.TaskInput.fromObject({
        bucket: props.capture.bucket.bucketName,
        key: sfn.JsonPath.stringAt('$.window.reportKey'),
        endpointName: props.endpointName,
        variantName: props.variantName,
      }),
      payloadResponseOnly: true,
      resultPath: '$.published',
      retryOnServiceExceptions: true,
    });
    const noTraffic = new sfn.Succeed(this, 'No capture in the window');
    const definition = windowState
      .next(findCapture)
      .next(
        new sfn.Choice(this, 'Traffic captured?')
          .when(sfn.Condition.numberGreaterThan('$.capture.count', 0), servedModel.next(runJob).next(publish))
          .otherwise(noTraffic),
      );

    const stateMachineRole = new iam.Role(this, 'StateMachineRole', {
      assumedBy: servicePrincipalForThisAccount(this, 'states.amazonaws.com'),
      description:
        'Runs the drift check: its window function, the capture listing, the served model lookup, the monitor job, the metrics function',
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      role: stateMachineRole,
      comment: 'Drift check of one window of captured endpoint traffic (docs/drift.md)',
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      stateMachineType: sfn.StateMachineType.STANDARD,
      timeout: Duration.hours(2),
      tracingEnabled: true,
      logs: {
        destination: new logs.LogGroup(this, 'Logs', { encryptionKey: props.logsKey, retention: logs.RetentionDays.THREE_MONTHS }),
        level: sfn.LogLevel.ALL,
        // Execution data holds names, S3 keys and the published figures only, never a captured body.
        includeExecutionData: true,
      },
    });
    this.grantRunJob(this.stateMachine.role);

    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      schedule:
        schedule === 'hourly'
          ? scheduler.ScheduleExpression.cron({ minute: '5' })
          : scheduler.ScheduleExpression.cron({ minute: '5', hour: '0' }),
      description: `Starts the ${schedule} drift check of endpoint variant ${props.variantName}`,
      target: new targets.StepFunctionsStartExecution(this.stateMachine, {
        role: this.scheduleRole(),
        input: scheduler.ScheduleTargetInput.fromObject({ time: scheduler.ContextAttribute.scheduledTime }),
        retryAttempts: 3,
      }),
    });
    if (props.condition) {
      for (const r of this.schedule.node.findAll().filter((c): c is CfnResource => CfnResource.isCfnResource(c)))
        r.cfnOptions.condition = props.condition;
    }
    acknowledgeDriftCheck({
      check: this,
      windowFunction: windowFn.function,
      publishFunction: publishFn.function,
      publishRole: publishFn.role,
      reports,
      stateMachineRole,
      functions: this.functions,
      jobs: this.jobsArn,
      modelPackageVersions: props.modelPackageVersions,
    });
  }

  /**
   * The role the schedule starts the state machine with: only EventBridge Scheduler acting for this account's
   * default schedule group, where the schedule is, may assume it. AWS: "The value of aws:SourceArn must be your
   * EventBridge Scheduler schedule group ARN", not a schedule's
   * (https://docs.aws.amazon.com/scheduler/latest/UserGuide/cross-service-confused-deputy-prevention.html).
   * The target grants it states:StartExecution on this state machine.
   */
  private scheduleRole(): iam.Role {
    const stack = Stack.of(this);
    return new iam.Role(this, 'ScheduleRole', {
      description: 'EventBridge Scheduler starts the drift check with it',
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': stack.account },
        ArnEquals: { 'aws:SourceArn': stack.formatArn({ service: 'scheduler', resource: 'schedule-group', resourceName: 'default' }) },
      }),
    });
  }

  /** ARN of every job the check runs. */
  get jobsArn(): string {
    return Stack.of(this).formatArn({ service: 'sagemaker', resource: 'processing-job', resourceName: `${this.jobNamePrefix}-*` });
  }

  /**
   * What the .sync integration needs (https://docs.aws.amazon.com/step-functions/latest/dg/sagemaker-iam.html, CreateProcessingJob,
   * Run a Job): create, describe and stop this check's jobs, read their tags, pass the job role to SageMaker, and
   * the managed rule through which Step Functions hears that a job ended.
   */
  private grantRunJob(role: iam.IRole): void {
    const stack = Stack.of(this);
    const jobs = this.jobsArn;
    iam.Grant.addToPrincipal({
      grantee: role,
      // AWS's template allows ListTags on `*`; the integration reads the tags of the job it runs, so this check's jobs
      // suffice. The request carries no Tags, so no AddTags.
      actions: ['sagemaker:CreateProcessingJob', 'sagemaker:DescribeProcessingJob', 'sagemaker:StopProcessingJob', 'sagemaker:ListTags'],
      resourceArns: [jobs],
    });
    iam.Grant.addToPrincipal({
      grantee: role,
      actions: ['iam:PassRole'],
      resourceArns: [this.jobRole.roleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
    });
    iam.Grant.addToPrincipal({
      grantee: role,
      actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
      resourceArns: [
        stack.formatArn({ service: 'events', resource: 'rule', resourceName: 'StepFunctionsGetEventsForSageMakerProcessingJobsRule' }),
      ],
    });
  }
}

/** The S3 input settings both inputs share: a key prefix (one file is the prefix that matches only itself), copied as files. */
const S3_INPUT = { S3DataType: 'S3Prefix', S3InputMode: 'File', S3DataDistributionType: 'FullyReplicated', S3CompressionType: 'None' };

/** A drift metric of an endpoint variant, for alarms and dashboards in any stack. */
export function driftMetric(
  namespace: string,
  name: DriftMetricName,
  endpointName: string,
  variantName: string,
  props: cloudwatch.MetricOptions = {},
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace,
    metricName: name,
    statistic: 'Maximum',
    ...props,
    dimensionsMap: { EndpointName: endpointName, VariantName: variantName },
  });
}
