import * as sagemaker from '@aws-cdk/aws-sagemaker-alpha';
import { Aws, CfnResource, Duration, Names, Stack, Token, Validations } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { CfnEndpoint } from 'aws-cdk-lib/aws-sagemaker';
import { Construct } from 'constructs';
import { supportsVolumeKms } from '../instance-types';
import { TrafficShifting } from './endpoint-deployment';
import { acknowledgeWildcardResource } from '../private/nag-acknowledgements';
import { dependOnRolePolicyOnly } from '../private/role-dependency';

/** Properties of an {@link InferenceEndpoint}. */
export interface InferenceEndpointProps {
  /** The serving image; SageMaker starts it with the argument `serve`. */
  readonly image: sagemaker.ContainerImage;

  /** S3 URI (`s3://bucket/key.tar.gz`) of the model artifact, usually a training job's output. */
  readonly modelDataUrl: string;

  /**
   * A model package version to serve instead of `image` and `modelDataUrl`: SageMaker takes the image and the
   * artifact from the version (CreateModel's ModelPackageName).
   * @default - the model is `image` with `modelDataUrl`
   */
  readonly modelPackageArn?: string;

  /**
   * ARN of the artifact object: the only object the model role may read. Give it when `modelDataUrl` is a
   * token (another stack's output), since an ARN cannot be parsed from a cross-stack value at synth time.
   * @default - derived from a literal modelDataUrl (s3://bucket/key -> arn:aws:s3:::bucket/key)
   */
  readonly modelArtifactArn?: string;

  /** Key that encrypts the model artifact, and the instances' storage volumes where the instance type allows. */
  readonly encryptionKey: kms.IKey;

  /**
   * Instance type of the endpoint.
   * @default 'ml.m5.large'
   */
  readonly instanceType?: string;

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
   * @default TrafficShifting.canary({ canaryPercent: 10 }) with a 5-minute baking period
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
   * Name of the endpoint. Known at synth time, so the model role's log permissions name it exactly.
   * @default - a unique name derived from the construct path
   */
  readonly endpointName?: string;

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
  /** The model hosted by the endpoint. */
  readonly model: sagemaker.Model;
  /** The role SageMaker assumes to run the model. */
  readonly role: iam.Role;
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
    const artifactArn = props.modelArtifactArn ?? artifactArnOf(props.modelDataUrl);
    this.variantName = props.variantName ?? 'AllTraffic';
    this.endpointName = props.endpointName ?? Names.uniqueResourceName(this, { maxLength: 63, separator: '-' });

    this.role = this.createRole(artifactArn, props.encryptionKey);
    this.model = new sagemaker.Model(this, 'Model', {
      role: this.role,
      // The container needs no network: SageMaker downloads the artifact for it.
      networkIsolation: true,
      containers: [{ image: props.image, modelData: new S3UriModelData(props.modelDataUrl), environment: props.environment }],
    });

    dependOnRolePolicyOnly(this.model.node.findChild('Model'), this.role);
    if (props.modelPackageArn) {
      // The alpha L2 has no model-package container: the container names the version and nothing else.
      // https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ContainerDefinition.html
      const cfnModel = this.model.node.findChild('Model') as CfnResource;
      cfnModel.addPropertyDeletionOverride('PrimaryContainer.Image');
      cfnModel.addPropertyDeletionOverride('PrimaryContainer.ModelDataUrl');
      cfnModel.addPropertyOverride('PrimaryContainer.ModelPackageName', props.modelPackageArn);
    }

    const endpointConfig = new sagemaker.EndpointConfig(this, 'EndpointConfig', {
      // Instances with NVMe instance storage encrypt it themselves; SageMaker rejects a key for them.
      encryptionKey: supportsVolumeKms(instanceType) ? props.encryptionKey : undefined,
      instanceProductionVariants: [{
        model: this.model,
        variantName: this.variantName,
        instanceType: sagemaker.InstanceType.of(instanceType),
        initialInstanceCount: minCapacity,
      }],
    });

    this.endpoint = new sagemaker.Endpoint(this, 'Endpoint', { endpointName: this.endpointName, endpointConfig });

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

    // The alpha L2 names its CfnEndpoint 'Endpoint' (not 'Resource'), so it is not the defaultChild.
    const cfnEndpoint = this.endpoint.node.findChild('Endpoint') as CfnEndpoint;
    const shifting = props.trafficShifting ?? TrafficShifting.canary({ canaryPercent: 10 });
    cfnEndpoint.deploymentConfig = shifting.renderDeploymentConfig([this.errorAlarm, this.latencyAlarm]);
    // An update keeps the instance count autoscaling chose instead of resetting it to minCapacity.
    cfnEndpoint.retainAllVariantProperties = true;

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
   * The model's execution role: read the one artifact object, decrypt with the key, pull the image (the
   * image grants itself when the Model binds it), write the endpoint's logs and instance metrics.
   */
  private createRole(artifactArn: string, key: kms.IKey): iam.Role {
    const role = new iam.Role(this, 'ModelRole', {
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com'),
      description: 'Runs the inference model: reads its artifact, pulls its image, writes its logs and metrics',
    });
    role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [artifactArn] }));
    key.grantDecrypt(role);

    // Pseudo-parameter tokens (not the stack's env) keep the policy text, and so the nag finding, stable.
    const logGroup = `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:/aws/sagemaker/Endpoints/${this.endpointName}`;
    role.addToPolicy(new iam.PolicyStatement({
      actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents'],
      resources: [logGroup, `${logGroup}:log-stream:*`],
    }));
    role.addToPolicy(new iam.PolicyStatement({
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'],
      conditions: { StringEquals: { 'cloudwatch:namespace': '/aws/sagemaker/Endpoints' } },
    }));
    const policy = role.node.findChild('DefaultPolicy');
    Validations.of(policy).acknowledge(
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/sagemaker/Endpoints/${this.endpointName}:log-stream:*]`,
        reason: 'SageMaker names a log stream per instance at run time; the grant is limited to the streams of this endpoint\'s own log group',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'ecr:GetAuthorizationToken and cloudwatch:PutMetricData support no resource-level permissions; PutMetricData is limited to the /aws/sagemaker/Endpoints namespace by a condition',
      },
    );
    if (artifactArn.includes('*')) {
      acknowledgeWildcardResource(policy, artifactArn,
        'The model may serve any approved version of the registry, so it reads the model.tar.gz of any of the platform\'s training jobs, and nothing else.');
    }
    return role;
  }
}

/** Model data at an S3 URI that may be a token (the training stack's output); the role is granted separately. */
class S3UriModelData extends sagemaker.ModelData {
  constructor(private readonly uri: string) {
    super();
  }

  bind(): sagemaker.ModelDataConfig {
    return { uri: this.uri };
  }
}

function checkCapacity(instanceType: string, min: number, max: number): void {
  if (!Number.isInteger(min) || min < 1) throw new Error(`InferenceEndpoint minCapacity must be a whole number of at least 1, got ${min}`);
  if (!Number.isInteger(max) || max < min) throw new Error(`InferenceEndpoint maxCapacity must be a whole number of at least minCapacity (${min}), got ${max}`);
  if (max > min && instanceType.startsWith('ml.t')) {
    throw new Error(`InferenceEndpoint cannot autoscale burstable instance type ${instanceType}: set maxCapacity equal to minCapacity or choose another type`);
  }
}

/** arn:aws:s3:::bucket/key of a literal s3://bucket/key.tar.gz. */
function artifactArnOf(url: string): string {
  if (Token.isUnresolved(url)) {
    throw new Error('InferenceEndpoint needs modelArtifactArn when modelDataUrl is a token (for example another stack\'s output)');
  }
  const match = /^s3:\/\/([^/]+)\/(.+\.tar\.gz)$/.exec(url);
  if (!match) throw new Error(`InferenceEndpoint modelDataUrl must be an S3 URI of a .tar.gz artifact (s3://bucket/key.tar.gz), got "${url}"`);
  return `arn:${Aws.PARTITION}:s3:::${match[1]}/${match[2]}`;
}
