import * as sagemaker from '@aws-cdk/aws-sagemaker-alpha';
import { CfnOutput, Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

import { DriftCheck } from '../constructs/drift/drift-check';
import { supportsVolumeKms } from '../constructs/instance-types';
import { ApiWaf } from '../constructs/serving/api-waf';
import { TrafficShifting } from '../constructs/serving/endpoint-deployment';
import { ApiAuth, InferenceApi } from '../constructs/serving/inference-api';
import { InferenceEndpoint } from '../constructs/serving/inference-endpoint';
import { InferenceProxy } from '../constructs/serving/inference-proxy';
import { RolloutReconciler } from '../constructs/serving/rollout-reconciler';
import { servedModelPackage, ServedModelPackageSource } from '../constructs/serving/served-model-package';
import { LogsKey } from '../constructs/storage/logs-key';
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- SETTINGS is what the props' {@link}s point to
import type { PlatformConfig, SETTINGS } from './config';

/**
 * What the serving stack needs. Settings are described once, in lib/config.ts's SETTINGS (linked from each
 * prop); durations and the traffic shifting arrive converted, by lib/platform.ts.
 */
export interface ServingStackProps extends StackProps {
  /** The training image; the endpoint runs it as `serve`. */
  readonly image: ecrAssets.DockerImageAsset;
  /**
   * The artifacts the served model package versions may carry (any approved version of this platform: a rollback
   * serves an earlier one); binding it grants the endpoint's model read on them.
   */
  readonly modelData: sagemaker.ModelData;
  /**
   * Which model package version the endpoint serves: the one the SSM pointer names (the newest approved), or a
   * pinned earlier approved version ({@link SETTINGS.servingModelPackageVersion}: rollback without training).
   */
  readonly modelPackage: ServedModelPackageSource;
  /**
   * The registry whose approvals roll out by themselves (the rollout reconciler), while the endpoint follows the
   * pointer; a pinned version has no rollout.
   */
  readonly registry?: RolloutRegistry;
  /** The platform key: it encrypts the endpoint's volumes where the instance type allows. */
  readonly key: kms.IKey;
  /** @see {@link SETTINGS.servingInstanceType} */
  readonly instanceType: PlatformConfig['servingInstanceType'];
  /** @see {@link SETTINGS.servingInferenceAmiVersion} */
  readonly inferenceAmiVersion: PlatformConfig['servingInferenceAmiVersion'];
  /** @see {@link SETTINGS.servingWorkers} */
  readonly workers: PlatformConfig['servingWorkers'];
  /** @see {@link SETTINGS.servingMinCapacity} */
  readonly minCapacity: PlatformConfig['servingMinCapacity'];
  /** @see {@link SETTINGS.servingMaxCapacity} */
  readonly maxCapacity: PlatformConfig['servingMaxCapacity'];
  /** @see {@link SETTINGS.servingTargetInvocationsPerInstance} */
  readonly targetInvocationsPerInstance: PlatformConfig['servingTargetInvocationsPerInstance'];
  /** @see {@link SETTINGS.deploymentStrategy} */
  readonly trafficShifting: TrafficShifting;
  /** @see {@link SETTINGS.rollbackAlarm5xxPerMinute} */
  readonly rollbackErrorsPerMinute: PlatformConfig['rollbackAlarm5xxPerMinute'];
  /** @see {@link SETTINGS.rollbackAlarmModelLatencyP99Ms} */
  readonly rollbackModelLatencyP99: Duration;
  /** @see {@link SETTINGS.apiAuth} */
  readonly apiAuth: ApiAuth;
  /** @see {@link SETTINGS.apiThrottleRateLimit} */
  readonly throttleRateLimit: PlatformConfig['apiThrottleRateLimit'];
  /** @see {@link SETTINGS.apiThrottleBurstLimit} */
  readonly throttleBurstLimit: PlatformConfig['apiThrottleBurstLimit'];
  /** @see {@link SETTINGS.reserveLambdaConcurrency} */
  readonly reserveProxyConcurrency: PlatformConfig['reserveLambdaConcurrency'];
  /** @see {@link SETTINGS.proxyReservedConcurrencyCap} */
  readonly proxyReservedConcurrencyCap: PlatformConfig['proxyReservedConcurrencyCap'];
  /** @see {@link SETTINGS.apiAllowedCidrs} */
  readonly allowedCidrs: PlatformConfig['apiAllowedCidrs'];
  /** @see {@link SETTINGS.wafRateLimitPer5Minutes} */
  readonly wafRateLimitPer5Minutes: PlatformConfig['wafRateLimitPer5Minutes'];
  /**
   * Capture the endpoint's traffic into this bucket and check it for drift on a schedule; unset
   * ({@link SETTINGS.captureSamplingPercentage} 0): neither.
   */
  readonly drift?: ServingDriftProps;
}

/** Data capture and the drift check (docs/drift.md). */
export interface ServingDriftProps {
  /** The capture bucket (captured traffic under `capture/`, reports under `drift-reports/`). */
  readonly bucket: s3.IBucket;
  /** @see {@link SETTINGS.captureSamplingPercentage} */
  readonly samplingPercentage: PlatformConfig['captureSamplingPercentage'];
  /** @see {@link SETTINGS.driftCheckSchedule} */
  readonly schedule: PlatformConfig['driftCheckSchedule'];
  /** @see {@link SETTINGS.driftMinRecords} */
  readonly minRecords: PlatformConfig['driftMinRecords'];
  /** @see {@link SETTINGS.driftThreshold} */
  readonly threshold: PlatformConfig['driftThreshold'];
  /** Instance type of the drift job ({@link SETTINGS.prepareInstanceType}). */
  readonly instanceType: string;
  /** Where the served model's artifact may be (the training jobs' `models/<prefix>-`). */
  readonly modelArtifacts: { readonly bucket: s3.IBucket; readonly prefix: string };
  /** Every version of the model package group, for DescribeModelPackage. */
  readonly modelPackageVersions: string;
  /** CloudWatch namespace of the drift metrics. */
  readonly namespace: string;
}

/** The Model Package Group a rollout follows: references to the training stack's registry. */
export interface RolloutRegistry {
  /** The group's name. */
  readonly groupName: string;
  /** The group names its state change events may carry. */
  readonly eventGroupNames: string[];
  /** The group's name as SageMaker writes it in ARNs. */
  readonly groupNameInArns: string;
}

/** Serving: the SageMaker endpoint, the WAF-protected REST API in front of it, and the rollout after an approval. */
export class ServingStack extends Stack {
  /** The endpoint with its model, autoscaling and rollback alarms. */
  readonly inference: InferenceEndpoint;
  /** The endpoint's name: its attribute, so another stack that names it gets a cross-stack reference. */
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
  /** The scheduled drift check, when the endpoint captures its traffic. */
  readonly drift?: DriftCheck;
  /** The rollout after an approval; undefined for a pinned version. */
  readonly rollout?: RolloutReconciler;

  constructor(scope: Construct, id: string, props: ServingStackProps) {
    super(scope, id, props);

    const served = servedModelPackage(this, props.modelPackage);

    this.logsKey = new LogsKey(this, 'LogsKey', { description: "Encrypts the serving stack's log groups (endpoint, API, WAF, Lambda)" });
    this.inference = new InferenceEndpoint(this, 'Endpoint', {
      logsKey: this.logsKey,
      modelPackageArn: served.arn,
      condition: served.condition,
      image: sagemaker.ContainerImage.fromEcrRepository(props.image.repository, props.image.imageTag),
      modelData: props.modelData,
      encryptionKey: props.key,
      instanceType: props.instanceType,
      inferenceAmiVersion: props.inferenceAmiVersion,
      // The model server's worker count (training-image/src/dlplatform/serve/server.py); unset, it decides by GPUs or vCPUs.
      // CreateModel takes Environment beside ModelPackageName, as the SageMaker Python SDK's ModelPackage sends it.
      environment: props.workers === undefined ? undefined : { MODEL_SERVER_WORKERS: String(props.workers) },
      minCapacity: props.minCapacity,
      maxCapacity: props.maxCapacity,
      targetInvocationsPerInstance: props.targetInvocationsPerInstance,
      trafficShifting: props.trafficShifting,
      rollbackErrorsPerMinute: props.rollbackErrorsPerMinute,
      rollbackModelLatencyP99: props.rollbackModelLatencyP99,
      dataCapture: props.drift
        ? { bucket: props.drift.bucket, prefix: 'capture/', samplingPercentage: props.drift.samplingPercentage, encryptionKey: props.key }
        : undefined,
    });
    this.endpointName = this.inference.endpointName;

    // In this stack: it updates this stack (its own id is a reference here), and the endpoint's logical ids are its own.
    if (props.registry && 'pointerParameterName' in props.modelPackage) {
      this.rollout = new RolloutReconciler(this, 'Rollout', {
        endpoint: this.inference,
        pointerParameterName: props.modelPackage.pointerParameterName,
        modelPackageGroupName: props.registry.groupName,
        eventGroupNames: props.registry.eventGroupNames,
        groupNameInArns: props.registry.groupNameInArns,
        volumeKey: supportsVolumeKms(props.instanceType) ? props.key : undefined,
        logsKey: this.logsKey,
      });
    }
    this.variantName = this.inference.variantName;

    if (props.drift && this.inference.captureLocation) {
      this.drift = new DriftCheck(this, 'Drift', {
        image: props.image,
        capture: this.inference.captureLocation,
        modelArtifacts: props.drift.modelArtifacts,
        modelPackageArn: served.arn,
        modelPackageVersions: props.drift.modelPackageVersions,
        endpointName: this.endpointName,
        variantName: this.variantName,
        encryptionKey: props.key,
        namespace: props.drift.namespace,
        schedule: props.drift.schedule,
        minRecords: props.drift.minRecords,
        threshold: props.drift.threshold,
        instanceType: props.drift.instanceType,
        logsKey: this.logsKey,
        // No endpoint, no traffic: the schedule exists while a model version is served.
        condition: served.condition,
      });
    }

    const proxy = new InferenceProxy(this, 'Proxy', {
      endpoint: this.inference,
      logsKey: this.logsKey,
      reserveConcurrency: props.reserveProxyConcurrency,
      requestsPerSecond: props.throttleRateLimit,
      reservedConcurrencyCap: props.proxyReservedConcurrencyCap,
    });
    this.proxyFunction = proxy.function;
    this.functions = [proxy.function, ...(this.drift?.functions ?? [])];

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
      // maxBodyBytes: the default, from training-image/request-limits.json, as every other layer of the API.
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
