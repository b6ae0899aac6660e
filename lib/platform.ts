import { App, Duration, Environment } from 'aws-cdk-lib';

import { hasGpu } from '../constructs/instance-types';
import { platformReservations } from '../constructs/private/lambda-concurrency';
import { trafficShiftingFor } from '../constructs/serving/endpoint-deployment';
import { proxyFunctionTimeout } from '../constructs/serving/inference-proxy';
import { ModelArtifact } from '../constructs/training/model-artifact';
import { PlatformConfig } from './config';
import { DataStack } from './data-stack';
import { prepareEnvironment, trainingHyperparameters } from './image-settings';
import { MonitoringStack } from './monitoring-stack';
import { ServingStack } from './serving-stack';
import { TrainingStack } from './training-stack';

/** The stacks of one platform, for wiring and for tests. */
export interface Platform {
  readonly data: DataStack;
  readonly training: TrainingStack;
  readonly serving: ServingStack;
  readonly monitoring: MonitoringStack;
}

/** Builds every stack of the platform from a validated configuration. */
export function buildPlatform(app: App, config: PlatformConfig): Platform {
  const env: Environment | undefined = config.account || config.region ? { account: config.account, region: config.region } : undefined;
  const name = (part: string) => `${config.stackPrefix}-${part}`;

  // The serving pointer: written by the registration step, read by the serving stack (never a CloudFormation resource).
  const pointer = `/${config.stackPrefix}/serving/model-package-arn`;
  // The drift check publishes here; the monitoring stack alarms on it.
  const driftNamespace = `${config.stackPrefix}/Drift`;

  const data = new DataStack(app, name('Data'), {
    env,
    description: 'Deep-learning platform: KMS key and the data, model-artifact, capture and access-log buckets',
    noncurrentVersionExpirationDays: config.noncurrentVersionExpirationDays,
    captureRetentionDays: config.captureRetentionDays,
  });

  const training = new TrainingStack(app, name('Training'), {
    env,
    description: 'Deep-learning platform: training image, sample data upload and the SageMaker GPU training job',
    dataBucket: data.dataBucket,
    modelBucket: data.modelBucket,
    key: data.key,
    dataSourceUri: config.dataSourceUri,
    dataVersion: config.dataVersion,
    prepareEnvironment: prepareEnvironment(config),
    prepareInstanceType: config.prepareInstanceType,
    prepareMaxRuntime: Duration.seconds(config.prepareMaxRuntimeSeconds),
    prepareAttempt: config.prepareAttempt,
    instanceType: config.trainingInstanceType,
    instanceCount: config.trainingInstanceCount,
    volumeSizeGb: config.trainingVolumeSizeGb,
    useSpot: config.trainingUseSpot,
    maxRuntime: Duration.seconds(config.trainingMaxRuntimeSeconds),
    maxWait: Duration.seconds(config.trainingMaxWaitSeconds),
    timeout: Duration.minutes(config.trainingTimeoutMinutes),
    hyperparameters: trainingHyperparameters(config),
    gate: {
      metric: config.qualityGateMetric,
      bar: config.qualityGateBar,
      maxRegression: config.qualityGateMaxRegression,
      schemaChange: config.qualityGateSchemaChange,
    },
    approval: config.modelApproval,
    modelPackageGroupNamePrefix: `${config.stackPrefix}-models`,
    servingPointerParameterName: pointer,
    subnetIds: config.trainingSubnetIds,
    securityGroupIds: config.trainingSecurityGroupIds,
    attempt: config.trainingAttempt,
    manageTrainingLogGroup: config.manageTrainingLogGroup,
    retrainOnNewData: config.retrainOnNewData,
    retrainSchedule: config.retrainSchedule,
  });

  const serving = new ServingStack(app, name('Serving'), {
    env,
    description: 'Deep-learning platform: SageMaker endpoint (blue/green, autoscaling) behind a WAF-protected REST API',
    image: training.image,
    // Any approved version may be served (a rollback serves an earlier one), so the endpoint's model may read the
    // model artifact of every training job of this platform (models/<job name>/output/model.tar.gz), nothing else.
    modelData: new ModelArtifact({
      bucket: data.modelBucket,
      key: `models/${training.jobNamePrefix}-*/output/model.tar.gz`,
      encryptionKey: data.key,
    }),
    modelPackage:
      config.servingModelPackageVersion !== undefined
        ? { pinnedArn: training.registry.versionArn(config.servingModelPackageVersion) }
        : { pointerParameterName: pointer },
    registry: training.registry.shared,
    key: data.key,
    instanceType: config.servingInstanceType,
    inferenceAmiVersion: config.servingInferenceAmiVersion,
    workers: config.servingWorkers,
    minCapacity: config.servingMinCapacity,
    maxCapacity: config.servingMaxCapacity,
    targetInvocationsPerInstance: config.servingTargetInvocationsPerInstance,
    trafficShifting: trafficShiftingFor(config.deploymentStrategy, {
      canaryPercent: config.deploymentCanaryPercent,
      stepPercent: config.deploymentLinearStepPercent,
      bakeTime: Duration.seconds(config.deploymentWaitSeconds),
    }),
    rollbackErrorsPerMinute: config.rollbackAlarm5xxPerMinute,
    rollbackModelLatencyP99: Duration.millis(config.rollbackAlarmModelLatencyP99Ms),
    apiAuth: config.apiAuth,
    throttleRateLimit: config.apiThrottleRateLimit,
    throttleBurstLimit: config.apiThrottleBurstLimit,
    reserveProxyConcurrency: config.reserveLambdaConcurrency,
    proxyReservedConcurrencyCap: config.proxyReservedConcurrencyCap,
    allowedCidrs: config.apiAllowedCidrs,
    wafRateLimitPer5Minutes: config.wafRateLimitPer5Minutes,
    drift:
      config.captureSamplingPercentage === 0
        ? undefined
        : {
            bucket: data.captureBucket,
            samplingPercentage: config.captureSamplingPercentage,
            schedule: config.driftCheckSchedule,
            minRecords: config.driftMinRecords,
            threshold: config.driftThreshold,
            instanceType: config.prepareInstanceType,
            modelArtifacts: { bucket: data.modelBucket, prefix: `models/${training.jobNamePrefix}-` },
            modelPackageVersions: training.registry.versionsArn,
            namespace: driftNamespace,
          },
  });

  // The endpoint's stack names no value of the training stack (it reads the pointer from SSM), yet it must deploy
  // after it: the training stack's registration step writes the pointer.
  serving.addStackDependency(training, 'the training stack writes the serving pointer the endpoint reads');

  const monitoring = new MonitoringStack(app, name('Monitoring'), {
    env,
    description: 'Deep-learning platform: alarms, the alarm responder Lambda, the alarm topic and the dashboard',
    endpoint: { endpointName: serving.endpointName, variantName: serving.variantName, hasGpu: hasGpu(config.servingInstanceType) },
    api: { restApi: serving.api, stageName: serving.stage.stageName },
    webAcl: { webAclName: serving.waf.webAclName },
    functions: [...training.functions, ...serving.functions],
    trainingJobNamePrefix: training.jobNamePrefix,
    drift: serving.drift
      ? {
          namespace: driftNamespace,
          endpointName: serving.endpointName,
          variantName: serving.variantName,
          window: serving.drift.windowLength,
          failedRuns: serving.drift.stateMachine.metricFailed({ period: Duration.minutes(5), statistic: 'Sum' }),
        }
      : undefined,
    failedRetrainingRuns: training.retraining.metricFailedRuns(),
    retraining: training.retraining.stateMachine,
    retrainOnDrift: config.retrainOnDrift ? training.retraining.stateMachine : undefined,
    rollout: serving.rollout
      ? {
          succeeded: serving.rollout.metricSucceeded(),
          failed: serving.rollout.metricFailed(),
          timedOut: serving.rollout.metricTimedOut(),
          undeliveredApprovals: serving.rollout.metricUndeliveredApprovals(),
          logGroupName: serving.rollout.logGroup.logGroupName,
        }
      : undefined,
    thresholds: {
      endpoint5xxCount: config.alarmEndpoint5xxCount,
      endpoint4xxCount: config.alarmEndpoint4xxCount,
      modelLatencyP99: Duration.millis(config.alarmModelLatencyP99Ms),
      cpuUtilizationPercent: config.alarmCpuUtilizationPercent,
      gpuUtilizationPercent: config.alarmGpuUtilizationPercent,
      memoryUtilizationPercent: config.alarmMemoryUtilizationPercent,
      gpuMemoryUtilizationPercent: config.alarmGpuMemoryUtilizationPercent,
      api5xxCount: config.alarmApi5xxCount,
      apiLatencyP99: Duration.millis(config.alarmApiLatencyP99Ms),
      wafBlockedCount: config.alarmWafBlockedCount,
      lambdaErrorCount: config.alarmLambdaErrorCount,
      lambdaThrottleCount: config.alarmLambdaThrottleCount,
      predictionDrift: config.driftThreshold,
      invalidInputRate: config.alarmInvalidInputRate,
    },
    alarmEmails: config.alarmEmails,
    webhookSecretArn: config.webhookSecretArn,
    runbookUrl: config.runbookUrl,
    responderReservedConcurrency: platformReservations(config, proxyFunctionTimeout().toSeconds())?.responder,
  });

  return { data, training, serving, monitoring };
}
