import * as sagemaker from '@aws-cdk/aws-sagemaker-alpha';
import { Duration, Names, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { CfnEndpoint, CfnEndpointConfig, CfnModel } from 'aws-cdk-lib/aws-sagemaker';
import { Construct } from 'constructs';
import { HOSTING_INSTANCE_TYPES, hasGpu, supportsVolumeKms } from '../instance-types';
import {
  RuleProblem, TrafficShiftMode, describeProblem, hostingDriverProblem, instanceTypeChangeProblem, instanceTypeSuffix, trafficShiftingProblem,
} from '../sagemaker-rules';
import { defaultInferenceAmi, hostingFamily } from './inference-ami';
import { TrafficShifting } from './endpoint-deployment';
import { servicePrincipalForThisAccount } from '../private/confused-deputy';
import { stackInstanceSuffix } from '../private/stack-instance';
import { acknowledgeInferenceEndpoint } from './inference-endpoint-acknowledgements';

/** Properties of an {@link InferenceEndpoint}. */
export interface InferenceEndpointProps {
  /** The serving image; SageMaker starts it with the argument `serve`. */
  readonly image: sagemaker.ContainerImage;

  /**
   * The model artifact, usually a training job's `modelArtifact`. Binding it grants the model's role what it
   * needs to read the artifact (a ModelArtifact: that one object and its key) and gives the model its URI.
   * With `modelPackageArn`, the artifacts the package's versions may carry: the grant still applies (SageMaker
   * downloads a package's artifact with the model's role), the URI is the package's own.
   */
  readonly modelData: sagemaker.ModelData;

  /**
   * A model package version to serve: SageMaker takes the image and the artifact from the version
   * (CreateModel's ModelPackageName) instead of `image` and `modelData`'s URI.
   * @default - the model is `image` with `modelData`
   */
  readonly modelPackageArn?: string;

  /** Key that encrypts the instances' storage volumes where the instance type allows. */
  readonly encryptionKey: kms.IKey;

  /**
   * Instance type of the endpoint.
   * @default 'ml.m5.large'
   */
  readonly instanceType?: string;

  /**
   * The production variant's InferenceAmiVersion: the AMI, and so the NVIDIA driver, of GPU instances. It must run
   * the training image's CUDA on `instanceType` (constructs/serving/inference-ami.ts); CPU types take none.
   * @default - for a GPU type, the AMI whose driver runs the image's CUDA there (natively, else through the image's
   * forward-compatibility package); none for a CPU type
   */
  readonly inferenceAmiVersion?: string;

  /**
   * Fewest instances, and the count the endpoint starts with.
   * @default 1
   */
  readonly minCapacity?: number;

  /**
   * Most instances target tracking may scale out to. Equal to `minCapacity`: no autoscaling.
   * @default - the same as minCapacity
   */
  readonly maxCapacity?: number;

  /**
   * Autoscaling target: invocations per instance per minute (SageMakerVariantInvocationsPerInstance).
   * @default 600
   */
  readonly targetInvocationsPerInstance?: number;

  /**
   * How an update shifts traffic to the new model (blue/green); it rolls back when a rollback alarm fires.
   * Canary and linear need minCapacity of at least 2: SageMaker keeps a canary or step within half the fleet.
   * @default TrafficShifting.allAtOnce() with a 5-minute baking period: works with any instance count
   */
  readonly trafficShifting?: TrafficShifting;

  /**
   * Endpoint 5XX errors in one minute that fire the error rollback alarm.
   * @default 5
   */
  readonly rollbackErrorsPerMinute?: number;

  /**
   * p99 model latency, over two consecutive minutes, that fires the latency rollback alarm.
   * @default Duration.seconds(1)
   */
  readonly rollbackModelLatencyP99?: Duration;

  /**
   * Name of the endpoint; its log group is `/aws/sagemaker/Endpoints/<name>`. When the endpoint autoscales the
   * name must end with the instance type (`-m5-large` for ml.m5.large): SageMaker refuses to change an
   * autoscaled variant's instance type in place, so a new type needs a new endpoint. The log group is kept
   * when the stack is deleted, so a fixed name makes deploying the stack again fail ("already exists") until
   * that group is deleted by hand.
   * @default - a name from the construct path and the instance type, plus 12 hex digits unique to the stack
   * instance (from its stack id): a new instance type or a stack deployed again after `cdk destroy` gets a new
   * endpoint and a new log group
   */
  readonly endpointName?: string;

  /**
   * Key that encrypts the endpoint's log group.
   * @default - CloudWatch Logs' own encryption
   */
  readonly logsKey?: kms.IKey;

  /**
   * How long the endpoint's logs (the model container's output) are kept.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Name of the production variant; blue/green updates need it to stay the same.
   * @default 'AllTraffic'
   */
  readonly variantName?: string;

  /**
   * Extra environment variables of the serving container.
   * @default - none
   */
  readonly environment?: Record<string, string>;
}

/**
 * A real-time SageMaker endpoint serving one model: Model (network-isolated, least-privilege role),
 * EndpointConfig, Endpoint with blue/green updates that roll back on its error and latency alarms, and
 * target-tracking autoscaling on invocations per instance.
 */
export class InferenceEndpoint extends Construct {
  /** The SageMaker endpoint. */
  readonly endpoint: sagemaker.Endpoint;
  /** The endpoint's name (known at synth time). */
  readonly endpointName: string;
  /** The production variant's name. */
  readonly variantName: string;
  /** The production variant's InferenceAmiVersion (undefined on CPU instances). */
  readonly inferenceAmiVersion?: string;
  /** The model hosted by the endpoint. */
  readonly model: sagemaker.Model;
  /** The role SageMaker assumes to run the model. */
  readonly role: iam.Role;
  /**
   * The log group SageMaker writes the endpoint's container logs to (`/aws/sagemaker/Endpoints/<name>`),
   * created here (encrypted, with retention, kept on delete) so that SageMaker never creates it itself.
   */
  readonly logGroup: logs.LogGroup;
  /** Fires on endpoint 5XX errors; rolls a deployment back. */
  readonly errorAlarm: cloudwatch.Alarm;
  /** Fires on high p99 model latency; rolls a deployment back. */
  readonly latencyAlarm: cloudwatch.Alarm;
  /** The autoscaling target, when maxCapacity exceeds minCapacity. */
  readonly scalableTarget?: appscaling.ScalableTarget;

  constructor(scope: Construct, id: string, props: InferenceEndpointProps) {
    super(scope, id);
    const instanceType = props.instanceType ?? 'ml.m5.large';
    const minCapacity = props.minCapacity ?? 1;
    const maxCapacity = props.maxCapacity ?? minCapacity;
    checkCapacity(instanceType, minCapacity, maxCapacity);
    this.variantName = props.variantName ?? 'AllTraffic';
    const suffix = `-${instanceTypeSuffix(instanceType)}`;
    // <path>-<instance type>-<12 hex of the stack id>, at most 63 characters (SageMaker's longest endpoint name).
    // The instance-type rule below checks a name known at synth; this default ends with the stack's suffix.
    this.endpointName = props.endpointName
      ?? `${Names.uniqueResourceName(this, { maxLength: 63 - suffix.length - 13, separator: '-' })}${suffix}-${stackInstanceSuffix()}`;
    const shifting = props.trafficShifting ?? TrafficShifting.allAtOnce();
    const amiVersion = props.inferenceAmiVersion ?? (hasGpu(instanceType) ? defaultInferenceAmi(hostingFamily(instanceType))?.version : undefined);
    this.inferenceAmiVersion = amiVersion;
    checkRules([
      hostingDriverProblem({
        instanceType: { name: 'instanceType', value: instanceType },
        amiVersion: { name: 'inferenceAmiVersion', value: amiVersion },
        choices: HOSTING_INSTANCE_TYPES,
      }),
      trafficShiftingProblem({
        mode: { name: 'trafficShifting', value: MODES[shifting.type] },
        percent: { name: 'trafficShifting size', value: shifting.sizePercent ?? 0 },
        minInstances: { name: 'minCapacity', value: minCapacity },
        maxInstances: { name: 'maxCapacity', value: maxCapacity },
      }),
      Token.isUnresolved(this.endpointName) ? undefined : instanceTypeChangeProblem({
        endpointName: { name: 'endpointName', value: this.endpointName },
        instanceType: { name: 'instanceType', value: instanceType },
        autoscales: maxCapacity > minCapacity,
      }),
    ]);

    // SageMaker writes here by name (https://docs.aws.amazon.com/sagemaker/latest/dg/logging-cloudwatch.html).
    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      logGroupName: `/aws/sagemaker/Endpoints/${this.endpointName}`,
      encryptionKey: props.logsKey,
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.role = this.createRole();
    this.model = new sagemaker.Model(this, 'Model', {
      role: this.role,
      // The container needs no network: SageMaker downloads the artifact for it.
      networkIsolation: true,
      containers: [{ image: props.image, modelData: props.modelData, environment: props.environment }],
    });

    if (props.modelPackageArn) {
      // The alpha L2 has no model-package container: the container names the version and nothing else.
      // https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ContainerDefinition.html
      // The CfnModel is the alpha L2's: found by type, not by its construct id.
      const [cfnModel] = this.model.node.findAll().filter((c): c is CfnModel => c instanceof CfnModel);
      cfnModel.addPropertyDeletionOverride('PrimaryContainer.Image');
      cfnModel.addPropertyDeletionOverride('PrimaryContainer.ModelDataUrl');
      cfnModel.addPropertyOverride('PrimaryContainer.ModelPackageName', props.modelPackageArn);
    }

    // Instances with NVMe instance storage encrypt it themselves; SageMaker rejects a key for them
    // (volumeKmsProblem in sagemaker-rules.ts; test/sagemaker-rules.test.ts checks every hosting type).
    const volumeKey = supportsVolumeKms(instanceType) ? props.encryptionKey : undefined;
    const endpointConfig = new sagemaker.EndpointConfig(this, 'EndpointConfig', {
      encryptionKey: volumeKey,
      instanceProductionVariants: [{
        model: this.model,
        variantName: this.variantName,
        instanceType: sagemaker.InstanceType.of(instanceType),
        initialInstanceCount: minCapacity,
      }],
    });

    if (amiVersion !== undefined) {
      // The alpha L2 has no InferenceAmiVersion: set on its CfnEndpointConfig (found by type, not by construct id).
      const [cfnEndpointConfig] = endpointConfig.node.findAll().filter((c): c is CfnEndpointConfig => c instanceof CfnEndpointConfig);
      cfnEndpointConfig.addPropertyOverride('ProductionVariants.0.InferenceAmiVersion', amiVersion);
    }

    this.endpoint = new sagemaker.Endpoint(this, 'Endpoint', { endpointName: this.endpointName, endpointConfig });
    // The instances log from their first start: the group must exist by then.
    this.endpoint.node.addDependency(this.logGroup);

    this.errorAlarm = this.metric('Invocation5XXErrors', { period: Duration.minutes(1), statistic: 'Sum' }).createAlarm(this, 'Errors5xxAlarm', {
      alarmDescription: `Endpoint ${this.endpointName} returns 5XX errors; rolls a blue/green deployment back`,
      threshold: props.rollbackErrorsPerMinute ?? 5,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    // ModelLatency is reported in microseconds.
    this.latencyAlarm = this.metric('ModelLatency', { period: Duration.minutes(1), statistic: 'p99' }).createAlarm(this, 'LatencyAlarm', {
      alarmDescription: `Endpoint ${this.endpointName} p99 model latency is high; rolls a blue/green deployment back`,
      threshold: (props.rollbackModelLatencyP99 ?? Duration.seconds(1)).toMilliseconds() * 1000,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    // The alpha L2 exposes neither its CfnEndpoint nor a defaultChild: found by type, not by its construct id.
    const [cfnEndpoint] = this.endpoint.node.findAll().filter((c): c is CfnEndpoint => c instanceof CfnEndpoint);
    cfnEndpoint.deploymentConfig = shifting.renderDeploymentConfig([this.errorAlarm, this.latencyAlarm]);
    // An update keeps the instance count autoscaling chose instead of resetting it to minCapacity.
    cfnEndpoint.retainAllVariantProperties = true;

    acknowledgeInferenceEndpoint(this, supportsVolumeKms(instanceType));

    if (maxCapacity > minCapacity) {
      this.scalableTarget = new appscaling.ScalableTarget(this, 'ScalableTarget', {
        serviceNamespace: appscaling.ServiceNamespace.SAGEMAKER,
        resourceId: `endpoint/${this.endpointName}/variant/${this.variantName}`,
        scalableDimension: 'sagemaker:variant:DesiredInstanceCount',
        minCapacity,
        maxCapacity,
        // Application Auto Scaling's service-linked role for SageMaker endpoints (created on first use).
        role: iam.Role.fromRoleArn(this, 'ScalingRole', Stack.of(this).formatArn({
          service: 'iam',
          region: '',
          resource: 'role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com',
          resourceName: 'AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint',
        })),
      });
      // The endpoint name is a literal, so the dependency is not implied by a reference.
      this.scalableTarget.node.addDependency(this.endpoint);
      this.scalableTarget.scaleToTrackMetric('InvocationsPerInstance', {
        predefinedMetric: appscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
        targetValue: props.targetInvocationsPerInstance ?? 600,
        scaleOutCooldown: Duration.minutes(1),
        scaleInCooldown: Duration.minutes(5),
      });
    }
  }

  /**
   * A metric of the endpoint's variant. Its dimensions use the literal endpoint name, so alarms on it
   * (in this stack or another) need no reference to the endpoint resource.
   * @param metricName for example Invocations, Invocation5XXErrors, ModelLatency (AWS/SageMaker), or
   *   CPUUtilization, MemoryUtilization, GPUUtilization (/aws/sagemaker/Endpoints)
   * @default - namespace AWS/SageMaker; props as for any cloudwatch.Metric
   */
  metric(metricName: string, props: cloudwatch.MetricOptions & { namespace?: string } = {}): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/SageMaker',
      metricName,
      ...props,
      dimensionsMap: { EndpointName: this.endpointName, VariantName: this.variantName, ...props.dimensionsMap },
    });
  }

  /** Allows a principal to call InvokeEndpoint on this endpoint only. */
  grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return this.endpoint.grantInvoke(grantee);
  }

  /**
   * The model's execution role: write the endpoint's logs and instance metrics. The artifact and the image
   * grant their own reads when the Model binds them.
   */
  private createRole(): iam.Role {
    const role = new iam.Role(this, 'ModelRole', {
      assumedBy: servicePrincipalForThisAccount(this, 'sagemaker.amazonaws.com'),
      description: 'Runs the inference model: reads its artifact, pulls its image, writes its logs and metrics',
    });

    // Its own log group only, which exists already: no logs:CreateLogGroup.
    this.logGroup.grant(role, 'logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents');
    role.addToPolicy(new iam.PolicyStatement({
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'],
      conditions: { StringEquals: { 'cloudwatch:namespace': '/aws/sagemaker/Endpoints' } },
    }));
    Validations.of(role).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'ecr:GetAuthorizationToken and cloudwatch:PutMetricData support no resource-level permissions; PutMetricData is limited to the /aws/sagemaker/Endpoints namespace by a condition',
      },
    );
    return role;
  }
}

/** The rules' names of TrafficShifting's modes. */
const MODES: Record<TrafficShifting['type'], TrafficShiftMode> = { CANARY: 'canary', LINEAR: 'linear', ALL_AT_ONCE: 'all-at-once' };

/** Throws the first broken SageMaker rule, naming the prop and the AWS page (constructs/sagemaker-rules.ts). */
function checkRules(problems: (RuleProblem | undefined)[]): void {
  const problem = problems.find((p) => p !== undefined);
  if (problem) throw new Error(describeProblem('InferenceEndpoint', problem));
}

function checkCapacity(instanceType: string, min: number, max: number): void {
  if (!Number.isInteger(min) || min < 1) throw new Error(`InferenceEndpoint minCapacity must be a whole number of at least 1, got ${min}`);
  if (!Number.isInteger(max) || max < min) throw new Error(`InferenceEndpoint maxCapacity must be a whole number of at least minCapacity (${min}), got ${max}`);
  if (max > min && instanceType.startsWith('ml.t')) {
    throw new Error(`InferenceEndpoint cannot autoscale burstable instance type ${instanceType}: set maxCapacity equal to minCapacity or choose another type`);
  }
}
