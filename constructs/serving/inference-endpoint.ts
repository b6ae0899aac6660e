import * as sagemaker from '@aws-cdk/aws-sagemaker-alpha';
import { CfnCondition, CfnResource, Duration, Fn, Names, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { CfnEndpoint, CfnEndpointConfig, CfnModel } from 'aws-cdk-lib/aws-sagemaker';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';

import { hasGpu, HOSTING_INSTANCE_TYPES, supportsVolumeKms } from '../instance-types';
import { servicePrincipalForThisAccount } from '../private/confused-deputy';
import { acknowledgeWildcardResource } from '../private/nag-acknowledgements';
import { stackInstanceSuffix } from '../private/stack-instance';
import { check, isUnresolved, validateProps } from '../private/validation';
import {
  capacityProblem,
  hostingDriverProblem,
  instanceTypeChangeProblem,
  instanceTypeSuffix,
  trafficShiftingProblem,
  TrafficShiftMode,
} from '../sagemaker-rules';
import { CAPTURE_CONTENT_TYPES } from './capture-content-types';
import { TrafficShifting } from './endpoint-deployment';
import { defaultInferenceAmi, hostingFamily } from './inference-ami';
import { acknowledgeInferenceEndpoint } from './inference-endpoint-acknowledgements';

/**
 * Where and how much of the endpoint's traffic SageMaker captures (the endpoint config's DataCaptureConfig,
 * https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DataCaptureConfig.html).
 */
export interface DataCaptureProps {
  /** Bucket the capture files go to. */
  readonly bucket: s3.IBucket;
  /**
   * Key prefix (ending in `/`): SageMaker writes `<prefix><endpoint name>/<variant name>/yyyy/mm/dd/hh/<file>.jsonl`
   * (https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html).
   */
  readonly prefix: string;
  /** Percent of requests captured, with their answers: InitialSamplingPercentage, a whole number from 0 to 100. */
  readonly samplingPercentage: number;
  /** Key SageMaker encrypts the capture files with (KmsKeyId). */
  readonly encryptionKey: kms.IKey;
}

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

  /**
   * Create the model, endpoint config, endpoint and autoscaling only while this condition holds (for example
   * while a model version is approved for serving); the role, log group and rollback alarms always exist, so
   * nothing else changes when it flips.
   * @default - always created
   */
  readonly condition?: CfnCondition;

  /**
   * Capture requests and answers into S3 for the drift check. The model's role may write there (SageMaker writes
   * the capture files with it) and read nothing back.
   * @default - no capture
   */
  readonly dataCapture?: DataCaptureProps;
}

/**
 * A real-time SageMaker endpoint serving one model: Model (network-isolated, least-privilege role),
 * EndpointConfig, Endpoint with blue/green updates that roll back on its error and latency alarms, and
 * target-tracking autoscaling on invocations per instance.
 */
export class InferenceEndpoint extends Construct {
  /** The SageMaker endpoint. */
  readonly endpoint: sagemaker.Endpoint;
  /**
   * The endpoint's name, as a reference to a resource of this stack: the endpoint's EndpointName attribute, or,
   * with a `condition`, the Value of a parameter that holds it and always exists. In another stack it becomes a cross-stack reference
   * to this one. The default name ends in a part of this stack's id, which CloudFormation resolves per template:
   * the name as written here would mean another endpoint there.
   */
  readonly endpointName: string;
  /** The name as SageMaker writes it in the endpoint's ARN: lowercased. */
  private readonly endpointNameLowercase: string;
  /**
   * The endpoint's ARN for policies in this stack, whether or not the endpoint exists yet (SageMaker lowercases
   * the name in it).
   */
  readonly endpointArnForPolicies: string;
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
  /** The condition under which the endpoint exists; undefined: always. */
  readonly condition?: CfnCondition;
  /**
   * Where this endpoint's variant's capture files land (`<prefix><endpoint name>/<variant name>/`), with the
   * hour folders below; undefined without capture. The name is this stack's: read it in this stack only.
   */
  readonly captureLocation?: { readonly bucket: s3.IBucket; readonly prefix: string };
  /**
   * The name this construct gives the endpoint, for this stack only: what the endpoint depends on (its log group,
   * its rollback alarms) cannot refer to the endpoint's attribute.
   */
  private readonly givenName: string;

  constructor(scope: Construct, id: string, props: InferenceEndpointProps) {
    super(scope, id);
    const instanceType = props.instanceType ?? 'ml.m5.large';
    const minCapacity = props.minCapacity ?? 1;
    const maxCapacity = props.maxCapacity ?? minCapacity;
    this.variantName = props.variantName ?? 'AllTraffic';
    const suffix = `-${instanceTypeSuffix(instanceType)}`;
    // <path>-<instance type>-<12 hex of the stack id>, at most 63 characters (SageMaker's longest endpoint name).
    // The instance-type rule below checks a name known at synth; this default ends with the stack's suffix.
    const generated = `${Names.uniqueResourceName(this, { maxLength: 63 - suffix.length - 13, separator: '-' })}${suffix}`;
    this.givenName = props.endpointName ?? `${generated}-${stackInstanceSuffix(this)}`;
    // Only literal text is lowercased: a token's placeholder would not resolve (the suffix is lowercase hex already).
    this.endpointNameLowercase = props.endpointName
      ? Token.isUnresolved(props.endpointName)
        ? props.endpointName
        : props.endpointName.toLowerCase()
      : `${generated.toLowerCase()}-${stackInstanceSuffix(this)}`;
    this.endpointArnForPolicies = Stack.of(this).formatArn({
      service: 'sagemaker',
      resource: 'endpoint',
      resourceName: this.endpointNameLowercase,
    });
    const shifting = props.trafficShifting ?? TrafficShifting.allAtOnce();
    const amiVersion =
      props.inferenceAmiVersion ?? (hasGpu(instanceType) ? defaultInferenceAmi(hostingFamily(instanceType))?.version : undefined);
    this.inferenceAmiVersion = amiVersion;
    const counts = isUnresolved([minCapacity, maxCapacity]);
    validateProps(this, [
      check('minCapacity', minCapacity, (n) => Number.isInteger(n) && n >= 1, 'a whole number of at least 1'),
      check('maxCapacity', maxCapacity, (n) => Number.isInteger(n) && n >= 1, 'a whole number of at least 1'),
      counts
        ? undefined
        : capacityProblem({
            instanceType: { name: 'instanceType', value: instanceType },
            minInstances: { name: 'minCapacity', value: minCapacity },
            maxInstances: { name: 'maxCapacity', value: maxCapacity },
          }),
      hostingDriverProblem({
        instanceType: { name: 'instanceType', value: instanceType },
        amiVersion: { name: 'inferenceAmiVersion', value: amiVersion },
        choices: HOSTING_INSTANCE_TYPES,
      }),
      counts
        ? undefined
        : trafficShiftingProblem({
            mode: { name: 'trafficShifting', value: MODES[shifting.type] },
            percent: { name: 'trafficShifting size', value: shifting.sizePercent ?? 0 },
            minInstances: { name: 'minCapacity', value: minCapacity },
            maxInstances: { name: 'maxCapacity', value: maxCapacity },
          }),
      props.dataCapture
        ? check(
            'dataCapture.samplingPercentage',
            props.dataCapture.samplingPercentage,
            (n) => Number.isInteger(n) && n >= 0 && n <= 100,
            'a whole number from 0 to 100',
            'https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DataCaptureConfig.html',
          )
        : undefined,
      props.dataCapture
        ? check(
            'dataCapture.prefix',
            props.dataCapture.prefix,
            (p) => /^([^/\s]+\/)*$/.test(p) && p.length <= 200,
            'empty, or key folders ending in "/" without spaces (DestinationS3Uri is at most 512 characters)',
            'https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DataCaptureConfig.html',
          )
        : undefined,
      Token.isUnresolved(this.givenName)
        ? undefined
        : instanceTypeChangeProblem({
            endpointName: { name: 'endpointName', value: this.givenName },
            instanceType: { name: 'instanceType', value: instanceType },
            autoscales: maxCapacity > minCapacity,
          }),
    ]);

    // SageMaker writes here by name (https://docs.aws.amazon.com/sagemaker/latest/dg/logging-cloudwatch.html).
    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      logGroupName: `/aws/sagemaker/Endpoints/${this.givenName}`,
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
      instanceProductionVariants: [
        {
          model: this.model,
          variantName: this.variantName,
          instanceType: sagemaker.InstanceType.of(instanceType),
          initialInstanceCount: minCapacity,
        },
      ],
    });

    if (amiVersion !== undefined) {
      // The alpha L2 has no InferenceAmiVersion: set on its CfnEndpointConfig (found by type, not by construct id).
      const [cfnEndpointConfig] = endpointConfig.node.findAll().filter((c): c is CfnEndpointConfig => c instanceof CfnEndpointConfig);
      cfnEndpointConfig.addPropertyOverride('ProductionVariants.0.InferenceAmiVersion', amiVersion);
    }

    if (props.dataCapture) this.captureLocation = this.captureInto(endpointConfig, props.dataCapture);

    this.endpoint = new sagemaker.Endpoint(this, 'Endpoint', { endpointName: this.givenName, endpointConfig });
    // A conditional endpoint may not exist, and then has no attribute another stack could read (CloudFormation
    // refuses an output that names a resource its condition left out). A parameter that always exists holds the
    // name instead, resolved here: other stacks read its Value attribute, a reference, never a string that their
    // own template would resolve.
    this.endpointName = props.condition
      ? new ssm.CfnParameter(this, 'NameParameter', {
          type: 'String',
          value: this.givenName,
          description: "Name of the platform's SageMaker endpoint (it exists once a model version is approved)",
        }).attrValue
      : this.endpoint.endpointName;
    // The instances log from their first start: the group must exist by then.
    this.endpoint.node.addDependency(this.logGroup);

    // The rollback alarms name the endpoint by the name given above: the endpoint's DeploymentConfig refers to them.
    this.errorAlarm = this.ownMetric('Invocation5XXErrors', { period: Duration.minutes(1), statistic: 'Sum' }).createAlarm(
      this,
      'Errors5xxAlarm',
      {
        alarmDescription: `Endpoint ${this.givenName} returns 5XX errors; rolls a blue/green deployment back`,
        threshold: props.rollbackErrorsPerMinute ?? 5,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      },
    );
    // ModelLatency is reported in microseconds.
    this.latencyAlarm = this.ownMetric('ModelLatency', { period: Duration.minutes(1), statistic: 'p99' }).createAlarm(
      this,
      'LatencyAlarm',
      {
        alarmDescription: `Endpoint ${this.givenName} p99 model latency is high; rolls a blue/green deployment back`,
        threshold: (props.rollbackModelLatencyP99 ?? Duration.seconds(1)).toMilliseconds() * 1000,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      },
    );

    // The alpha L2 exposes neither its CfnEndpoint nor a defaultChild: found by type, not by its construct id.
    const [cfnEndpoint] = this.endpoint.node.findAll().filter((c): c is CfnEndpoint => c instanceof CfnEndpoint);
    cfnEndpoint.deploymentConfig = shifting.renderDeploymentConfig([this.errorAlarm, this.latencyAlarm]);
    // An update keeps the instance count autoscaling chose instead of resetting it to minCapacity.
    cfnEndpoint.retainAllVariantProperties = true;

    acknowledgeInferenceEndpoint(this, supportsVolumeKms(instanceType));
    this.condition = props.condition;

    if (maxCapacity > minCapacity) {
      this.scalableTarget = new appscaling.ScalableTarget(this, 'ScalableTarget', {
        serviceNamespace: appscaling.ServiceNamespace.SAGEMAKER,
        resourceId: `endpoint/${this.givenName}/variant/${this.variantName}`,
        scalableDimension: 'sagemaker:variant:DesiredInstanceCount',
        minCapacity,
        maxCapacity,
        // Application Auto Scaling's service-linked role for SageMaker endpoints (created on first use).
        role: iam.Role.fromRoleArn(
          this,
          'ScalingRole',
          Stack.of(this).formatArn({
            service: 'iam',
            region: '',
            resource: 'role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com',
            resourceName: 'AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint',
          }),
        ),
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
    if (props.condition) {
      // Everything that is or names the endpoint, found by type: the alpha L2s' children and the autoscaling's.
      const conditioned = [this.model, endpointConfig, this.endpoint, ...(this.scalableTarget ? [this.scalableTarget] : [])]
        .flatMap((c) => c.node.findAll())
        .filter((c): c is CfnResource => CfnResource.isCfnResource(c));
      for (const resource of conditioned) resource.cfnOptions.condition = props.condition;
    }
  }

  /**
   * A metric of the endpoint's variant. Its EndpointName dimension is {@link endpointName}, the endpoint's
   * attribute: an alarm or dashboard in any stack watches the endpoint this construct deployed.
   * @param metricName for example Invocations, Invocation5XXErrors, ModelLatency (AWS/SageMaker), or
   *   CPUUtilization, MemoryUtilization, GPUUtilization (/aws/sagemaker/Endpoints)
   * @default - namespace AWS/SageMaker; props as for any cloudwatch.Metric
   */
  metric(metricName: string, props: cloudwatch.MetricOptions & { namespace?: string } = {}): cloudwatch.Metric {
    return variantMetric(this.endpointName, this.variantName, metricName, props);
  }

  /** A metric of the variant named as this stack names the endpoint: for the alarms the endpoint itself refers to. */
  private ownMetric(metricName: string, props: cloudwatch.MetricOptions): cloudwatch.Metric {
    return variantMetric(this.givenName, this.variantName, metricName, props);
  }

  /**
   * Allows a principal to call InvokeEndpoint on this endpoint only. With a condition, the statement names the
   * endpoint's ARN while it exists and, while it does not, the ARN it will have (SageMaker lowercases the name in
   * it, as AWS's endpoint event example shows:
   * https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html#eventbridge-endpoint).
   */
  grantInvoke(grantee: iam.IGrantable): iam.Grant {
    if (!this.condition) return this.endpoint.grantInvoke(grantee);
    const future = this.endpointArnForPolicies;
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['sagemaker:InvokeEndpoint'],
      resourceArns: [Fn.conditionIf(this.condition.logicalId, this.endpoint.endpointArn, future).toString()],
    });
  }

  /**
   * Turns on data capture: the endpoint config's DataCaptureConfig (the alpha L2 has none: set on its
   * CfnEndpointConfig, found by type) and the role's write to the capture prefix. A new capture config is a new
   * endpoint config, so changing it updates the endpoint blue/green like a new model.
   */
  private captureInto(endpointConfig: sagemaker.EndpointConfig, capture: DataCaptureProps): { bucket: s3.IBucket; prefix: string } {
    const [cfnEndpointConfig] = endpointConfig.node.findAll().filter((c): c is CfnEndpointConfig => c instanceof CfnEndpointConfig);
    const destination = capture.prefix.replace(/\/$/, '');
    cfnEndpointConfig.addPropertyOverride('DataCaptureConfig', {
      EnableCapture: true,
      InitialSamplingPercentage: capture.samplingPercentage,
      DestinationS3Uri: `s3://${capture.bucket.bucketName}${destination ? `/${destination}` : ''}`,
      KmsKeyId: capture.encryptionKey.keyArn,
      CaptureOptions: [{ CaptureMode: 'Input' }, { CaptureMode: 'Output' }],
      // Listed types are captured as text (encoding CSV or JSON), any other as base64
      // (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CaptureContentTypeHeader.html).
      CaptureContentTypeHeader: { JsonContentTypes: [...CAPTURE_CONTENT_TYPES.json], CsvContentTypes: [...CAPTURE_CONTENT_TYPES.csv] },
    });
    // SageMaker writes the capture files as the model's execution role, encrypted with KmsKeyId
    // (https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html): write only, no read back.
    const files = capture.bucket.arnForObjects(`${capture.prefix}*`);
    iam.Grant.addToPrincipal({ grantee: this.role, actions: ['s3:PutObject'], resourceArns: [files] });
    acknowledgeWildcardResource(
      this.role,
      files,
      'SageMaker names each capture file by endpoint, variant, hour and a ' +
        'random part under the capture prefix; the role may only write there (s3:PutObject), never read.',
    );
    capture.encryptionKey.grant(this.role, 'kms:GenerateDataKey', 'kms:Encrypt');
    return { bucket: capture.bucket, prefix: `${capture.prefix}${this.givenName}/${this.variantName}/` };
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

    // Its own log group only. The group exists before the endpoint, but AWS's CreateModel role policy lists
    // logs:CreateLogGroup without saying whether SageMaker calls it then
    // (https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html): allowed on this one group.
    this.logGroup.grant(role, 'logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents');
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': '/aws/sagemaker/Endpoints' } },
      }),
    );
    return role;
  }
}

/** A metric of one production variant of the endpoint named `endpointName`. */
function variantMetric(
  endpointName: string,
  variantName: string,
  metricName: string,
  props: cloudwatch.MetricOptions & { namespace?: string },
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/SageMaker',
    metricName,
    ...props,
    dimensionsMap: { EndpointName: endpointName, VariantName: variantName, ...props.dimensionsMap },
  });
}

/** The rules' names of TrafficShifting's modes. */
const MODES: Record<TrafficShifting['type'], TrafficShiftMode> = { CANARY: 'canary', LINEAR: 'linear', ALL_AT_ONCE: 'all-at-once' };
