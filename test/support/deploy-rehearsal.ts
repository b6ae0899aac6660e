/**
 * The deploy rehearsal (docs/deploy-rehearsal.md): every synthesized template of an app evaluated as
 * CloudFormation would (local/state-machine/cfn-evaluator.ts), then every name a resource points at looked up among what
 * the deployment creates, what its steps create at run time, and a short list of external things, each with
 * why. A name that names nothing is a finding: an alarm that never fires, a grant on nothing, a rule that never
 * matches, a parameter nobody writes.
 */
import { App } from 'aws-cdk-lib';

import type { PlatformConfig } from '../../lib/config';
import { CfnDeployment, CfnStack, isOpaque, newCounts, ReferenceCounts, StackInput } from '../../local/state-machine/cfn-evaluator';
import { RESOURCE_TYPES } from '../../local/state-machine/cfn-resource-types';
import { globsIntersect } from './glob';

/** Something outside the deployment that a template may name, and why it exists. */
export interface ExternalName {
  /** A catalogue kind ("ssm parameter", "s3 bucket", ...) with a name, or "arn" with an ARN glob. */
  readonly kind: string;
  /** May hold {account} and {region}, filled in for every stack's environment. */
  readonly name: string;
  readonly why: string;
}

/**
 * What exists without the deployment creating it. Each entry says who creates it; the rehearsal fails on an
 * entry that no template uses (test/deploy-rehearsal.test.ts), so the list cannot go stale.
 */
export const EXTERNAL_NAMES: ExternalName[] = [
  {
    kind: 'arn',
    name: 'arn:aws:s3:::cdk-hnb659fds-assets-{account}-{region}',
    why: '`cdk bootstrap` creates the file asset bucket (https://docs.aws.amazon.com/cdk/v2/guide/bootstrapping-env.html)',
  },
  {
    kind: 'arn',
    name: 'arn:aws:s3:::cdk-hnb659fds-assets-{account}-{region}/*',
    why: 'the objects `cdk deploy` uploads to the bootstrap asset bucket',
  },
  {
    kind: 'arn',
    name: 'arn:aws:ecr:{region}:{account}:repository/cdk-hnb659fds-container-assets-{account}-{region}',
    why: '`cdk bootstrap` creates the image asset repository the training image is pushed to',
  },
  {
    kind: 'ssm parameter',
    name: '/cdk-bootstrap/hnb659fds/version',
    why: '`cdk bootstrap` writes its version; every CDK template reads it (BootstrapVersion)',
  },
  {
    kind: 'arn',
    name: 'arn:aws:ssm:{region}:{account}:parameter/cdk-bootstrap/hnb659fds/version',
    why: "the same parameter, which the rollout's roles may read: CloudFormation resolves BootstrapVersion when the rollout creates a change set",
  },
  {
    kind: 'arn',
    name: 'arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs',
    why: "an AWS managed policy: API Gateway's account-wide CloudWatch role (https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html)",
  },
  {
    kind: 'arn',
    name: 'arn:aws:iam::{account}:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint',
    why: 'Application Auto Scaling creates its service-linked role on first use (https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-service-linked-roles.html)',
  },
  { kind: 'arn', name: 'arn:aws:iam::{account}:root', why: 'the account itself (key policies, confused-deputy conditions)' },
  {
    kind: 'arn',
    name: 'arn:aws:states:::sagemaker:createProcessingJob.sync',
    why: 'a Step Functions optimized integration that runs a processing job and waits for it, not a resource (https://docs.aws.amazon.com/step-functions/latest/dg/connect-sagemaker.html)',
  },
  {
    kind: 'arn',
    name: 'arn:aws:events:{region}:{account}:rule/StepFunctionsGetEventsForSageMakerProcessingJobsRule',
    why: 'Step Functions creates this managed rule to learn when a .sync processing job ends (https://docs.aws.amazon.com/step-functions/latest/dg/sagemaker-iam.html)',
  },
  {
    kind: 'arn',
    name: 'arn:aws:states:::aws-sdk:*',
    why: 'a Step Functions AWS SDK service integration, not a resource (https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html)',
  },
  {
    kind: 'arn',
    name: 'arn:aws:states:::sagemaker:*',
    why: "a Step Functions optimized SageMaker integration (the retraining pipeline's .sync jobs), not a resource (https://docs.aws.amazon.com/step-functions/latest/dg/connect-sagemaker.html)",
  },
  {
    kind: 'arn',
    name: 'arn:aws:states:::events:putEvents',
    why: 'the Step Functions optimized EventBridge integration (the retraining outcome event), not a resource (https://docs.aws.amazon.com/step-functions/latest/dg/connect-eventbridge.html)',
  },
  {
    kind: 'arn',
    name: 'arn:aws:events:{region}:{account}:event-bus/default',
    why: 'every account and region has the default event bus (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus.html)',
  },
  {
    kind: 'arn',
    name: 'arn:aws:events:{region}:{account}:rule/StepFunctionsGetEventsForSageMaker*JobsRule',
    why: 'Step Functions creates these managed rules to learn that a .sync SageMaker job ended (https://docs.aws.amazon.com/step-functions/latest/dg/sagemaker-iam.html)',
  },
];

/** What the configuration points at that the user owns: their data, their webhook secret, their VPC. */
export function configuredExternals(config: PlatformConfig): ExternalName[] {
  const out: ExternalName[] = [];
  const data = /^s3:\/\/([^/]+)/.exec(config.dataSourceUri ?? '');
  if (data) {
    const why = "dataSourceUri: the user's own data";
    // Its objects need no entry: the prepare job's request names the location (s3://...), a key space of the set.
    out.push({ kind: 's3 bucket', name: data[1], why }, { kind: 'arn', name: `arn:aws:s3:::${data[1]}`, why });
  }
  if (config.webhookSecretArn)
    out.push({ kind: 'arn', name: config.webhookSecretArn, why: "webhookSecretArn: the user's secret holding the incident webhook URL" });
  for (const id of config.trainingSubnetIds)
    out.push({ kind: 'arn', name: `arn:aws:ec2:{region}:{account}:subnet/${id}`, why: "trainingSubnetIds: the user's subnet" });
  for (const id of config.trainingSecurityGroupIds)
    out.push({
      kind: 'arn',
      name: `arn:aws:ec2:{region}:{account}:security-group/${id}`,
      why: "trainingSecurityGroupIds: the user's security group",
    });
  if (config.trainingSubnetIds.length > 0) {
    out.push({
      kind: 'arn',
      name: 'arn:aws:ec2:{region}:{account}:network-interface/*',
      why: "SageMaker creates the network interfaces of jobs in the user's subnets (https://docs.aws.amazon.com/sagemaker/latest/dg/train-vpc.html)",
    });
  }
  return out;
}

/**
 * CloudWatch metric dimensions -> the catalogue kind their value names. Dimensions per namespace:
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/aws-services-cloudwatch-metrics.html
 */
const DIMENSIONS: Record<string, string> = {
  'AWS/SageMaker|EndpointName': 'sagemaker endpoint',
  'AWS/SageMaker|VariantName': 'sagemaker variant',
  '/aws/sagemaker/Endpoints|EndpointName': 'sagemaker endpoint',
  '/aws/sagemaker/Endpoints|VariantName': 'sagemaker variant',
  // Host is <training job name>/algo-<n>: https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html
  '/aws/sagemaker/TrainingJobs|Host': 'sagemaker training-job host',
  // The metric definitions' metrics: https://docs.aws.amazon.com/sagemaker/latest/dg/training-metrics.html
  '/aws/sagemaker/TrainingJobs|TrainingJobName': 'sagemaker training-job',
  '/aws/sagemaker/ProcessingJobs|Host': 'sagemaker processing-job host',
  'AWS/Lambda|FunctionName': 'lambda function',
  'AWS/ApiGateway|ApiName': 'rest api name',
  'AWS/ApiGateway|Stage': 'rest api stage',
  'AWS/WAFV2|WebACL': 'waf web acl',
  'AWS/WAFV2|Rule': 'waf rule metric',
  'AWS/WAFV2|Region': 'region',
  'AWS/SQS|QueueName': 'sqs queue',
  'AWS/SNS|TopicName': 'sns topic',
  'AWS/Events|RuleName': 'events rule',
  'AWS/DynamoDB|TableName': 'dynamodb table',
  'AWS/States|StateMachineArn': 'arn',
  // The drift check's metrics (constructs/drift/runtime/drift-metrics.ts), in the default stackPrefix's namespace.
  'DlPlatform/Drift|EndpointName': 'sagemaker endpoint',
  'DlPlatform/Drift|VariantName': 'sagemaker variant',
};

/** Lambda environment variables by name -> the kind their value names (values that are ARNs are checked as ARNs). */
const ENVIRONMENT: [RegExp, string][] = [
  [/(^|_)ENDPOINT_NAME$/, 'sagemaker endpoint'],
  [/_TABLE_NAME$/, 'dynamodb table'],
  [/_FUNCTION_NAME$/, 'lambda function'],
  [/_QUEUE_URL$/, 'sqs queue url'],
  [/_PARAMETER_NAME$/, 'ssm parameter'],
  [/_BUCKET(_NAME)?$/, 's3 bucket'],
  [/_GROUP_NAME$/, 'sagemaker model-package-group'],
  [/_JOB_NAME_PREFIX$/, 'sagemaker training-job prefix'],
];

/** SageMaker event detail fields -> the kind they name (https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html). */
const EVENT_FIELDS: Record<string, string> = {
  TrainingJobName: 'sagemaker training-job',
  ProcessingJobName: 'sagemaker processing-job',
  ModelPackageGroupName: 'sagemaker model-package-group',
  EndpointName: 'sagemaker endpoint',
};

/** What the rehearsal counted and found. */
export interface RehearsalResult {
  /** References resolved while evaluating every template once (Ref, GetAtt, Sub variables, imports, stack outputs). */
  readonly references: ReferenceCounts;
  /** Names checked, by the kind of place that holds them. */
  readonly checked: Record<string, number>;
  /** "site: what is wrong", one per name that names nothing (empty when the deployment holds together). */
  readonly findings: string[];
  /** Sites whose value only the deployment knows (a custom resource's attribute): not checked. */
  readonly opaque: string[];
  /** External entries and how many names each accounted for. */
  readonly externalsUsed: Map<ExternalName, number>;
}

/** The stacks of a CDK app, synthesized, as the evaluator's input. */
export function stacksOfApp(app: App): StackInput[] {
  return app.synth().stacks.map((s) => ({
    stackName: s.stackName,
    template: s.template,
    account: s.environment.account === 'unknown-account' ? undefined : s.environment.account,
    region: s.environment.region === 'unknown-region' ? undefined : s.environment.region,
  }));
}

/** Rehearses the deployment of `stacks`; `externals` adds what the configuration names (the user's own resources). */
export function rehearse(stacks: StackInput[], externals: ExternalName[] = []): RehearsalResult {
  return new Rehearsal(new CfnDeployment(stacks), [...EXTERNAL_NAMES, ...externals]).run();
}

/** A string value found at `site` while walking evaluated properties. */
type Site = { site: string; value: string };

class Rehearsal {
  private readonly references = newCounts();
  private readonly checked: Record<string, number> = {};
  private readonly findings: string[] = [];
  private readonly opaque: string[] = [];
  private readonly externalsUsed = new Map<ExternalName, number>();
  /** catalogue kind -> names (literal or glob). */
  private readonly names = new Map<string, Set<string>>();
  /** ARNs (literal or glob) of what the deployment creates, by service. */
  private readonly arns = new Map<string, Set<string>>();
  private readonly evaluated: { stack: CfnStack; id: string; type: string; props: Record<string, unknown> }[] = [];
  private readonly externalEntries: { entry: ExternalName; kind: string; name: string }[];

  constructor(
    private readonly deployment: CfnDeployment,
    externals: ExternalName[],
  ) {
    const places = [...new Set(deployment.stacks.map((s) => `${s.account} ${s.region}`))].map((p) => p.split(' '));
    this.externalEntries = externals.flatMap((entry) =>
      places.map(([account, region]) => ({
        entry,
        kind: entry.kind,
        name: entry.name.replace(/\{account\}/g, account).replace(/\{region\}/g, region),
      })),
    );
  }

  run(): RehearsalResult {
    this.evaluateAll();
    this.catalogue();
    for (const r of this.evaluated) this.checkResource(r.stack, r.id, r.type, r.props);
    for (const stack of this.deployment.stacks) {
      for (const name of Object.keys(stack.template.Outputs ?? {})) {
        let output: unknown;
        try {
          output = stack.output(name);
        } catch {
          continue; // reported by evaluateAll
        }
        for (const { site, value } of strings(output, ''))
          if (value.startsWith('arn:')) this.lookup(`${stack.name} output ${name}${site}`, 'arn', value);
      }
    }
    for (const stack of this.deployment.stacks) this.checkSsmParameters(stack);
    return {
      references: this.references,
      checked: this.checked,
      findings: this.findings,
      opaque: this.opaque,
      externalsUsed: this.externalsUsed,
    };
  }

  // ---- evaluation and catalogue ----

  private evaluateAll(): void {
    for (const stack of this.deployment.stacks) {
      for (const id of stack.resourceIds()) {
        try {
          this.evaluated.push({ stack, id, type: stack.resourceType(id), props: stack.properties(id, this.references) });
        } catch (e) {
          this.findings.push(`${stack.name}/${id}: cannot be evaluated: ${(e as Error).message}`);
        }
      }
      for (const name of Object.keys(stack.template.Outputs ?? {})) {
        try {
          stack.output(name, this.references);
          stack.output(name);
        } catch (e) {
          this.findings.push(`${stack.name} output ${name}: cannot be evaluated: ${(e as Error).message}`);
        }
      }
    }
  }

  private add(kind: string, name: string): void {
    if (!this.names.has(kind)) this.names.set(kind, new Set());
    this.names.get(kind)!.add(name);
  }

  private addArn(arn: string): void {
    const service = arn.split(':')[2];
    if (!this.arns.has(service)) this.arns.set(service, new Set());
    this.arns.get(service)!.add(normalArn(arn));
  }

  /** What the deployment creates (resources) and what its steps create when they run (jobs, versions, objects). */
  private catalogue(): void {
    for (const { stack, id, type, props } of this.evaluated) {
      const rule = RESOURCE_TYPES[type];
      if (rule) {
        if (rule.nameProperty) this.add(rule.kind, stack.physicalName(id));
        for (const arn of stack.arns(id)) this.addArn(arn);
      }
      if (type === 'AWS::SQS::Queue') this.add('sqs queue url', String(stack.evaluate({ Ref: id }, id)));
      if (type === 'AWS::ApiGateway::RestApi' && typeof props.Name === 'string') this.add('rest api name', props.Name);
      if (type === 'AWS::SageMaker::EndpointConfig') {
        for (const v of (props.ProductionVariants as { VariantName?: string }[] | undefined) ?? [])
          if (v.VariantName) this.add('sagemaker variant', v.VariantName);
      }
      if (type === 'AWS::WAFv2::WebACL') {
        this.add('waf rule metric', 'ALL');
        for (const r of (props.Rules as { VisibilityConfig?: { MetricName?: string } }[] | undefined) ?? []) {
          if (r.VisibilityConfig?.MetricName) this.add('waf rule metric', r.VisibilityConfig.MetricName);
        }
      }
      this.produced(stack, type, props);
      // Every s3:// location any resource names is a key space something reads or writes.
      for (const { value } of strings(props, '')) {
        for (const m of value.matchAll(/s3:\/\/([a-z0-9][a-z0-9.-]+)\/?([^\s"',]*)/g)) this.addArn(`arn:aws:s3:::${m[1]}/${m[2]}*`);
      }
    }
    this.add('region', '*');
    for (const s of this.deployment.stacks) this.add('region', s.region);
    // The stacks themselves (a state machine that updates its own stack names it by its id).
    for (const s of this.deployment.stacks) this.addArn(s.id);
  }

  /**
   * Names the platform's own steps create at run time, read from the resources that run them: the training and
   * processing custom resources' requests (constructs/training/), the registration step's group, the SSM pointer's
   * writers (a Custom::AWS SDK call or a Step Functions SDK task), the objects a bucket deployment writes.
   */
  private produced(stack: CfnStack, type: string, props: Record<string, unknown>): void {
    const arn = (resource: string) => `arn:aws:sagemaker:${stack.region}:${stack.account}:${resource}`;
    const logs = (group: string, stream: string) => `arn:aws:logs:${stack.region}:${stack.account}:log-group:${group}:log-stream:${stream}`;
    if (type === 'Custom::SageMakerTrainingJob' && typeof props.CreateTrainingJobRequest === 'string') {
      const job = String(JSON.parse(props.CreateTrainingJobRequest).TrainingJobName);
      this.add('sagemaker training-job', job);
      this.add('sagemaker training-job host', `${job}/algo-*`);
      this.addArn(arn(`training-job/${job}`));
      this.addArn(logs('/aws/sagemaker/TrainingJobs', `${job}/*`));
      // The group itself, which SageMaker creates with the job's role at its first job (the role's CreateLogGroup).
      this.addArn(`arn:aws:logs:${stack.region}:${stack.account}:log-group:/aws/sagemaker/TrainingJobs`);
    }
    if (type === 'Custom::SageMakerProcessingJob' && typeof props.CreateProcessingJobRequest === 'string') {
      const job = String(JSON.parse(props.CreateProcessingJobRequest).ProcessingJobName);
      this.add('sagemaker processing-job', job);
      this.add('sagemaker processing-job host', `${job}/algo-*`);
      this.addArn(arn(`processing-job/${job}`));
      this.addArn(logs('/aws/sagemaker/ProcessingJobs', `${job}/*`));
      // The group itself, which SageMaker creates with the job's role at its first job (the role's CreateLogGroup).
      this.addArn(`arn:aws:logs:${stack.region}:${stack.account}:log-group:/aws/sagemaker/ProcessingJobs`);
    }
    if (type === 'Custom::ModelRegistration' && typeof props.ModelPackageGroupName === 'string') {
      // CreateModelPackage in the group: versions are <group>/<n> (https://docs.aws.amazon.com/sagemaker/latest/dg/model-registry-version.html).
      this.add('sagemaker model-package-group', props.ModelPackageGroupName);
      this.addArn(arn(`model-package/${props.ModelPackageGroupName}/*`));
    }
    if (type === 'Custom::AWS') {
      for (const phase of ['Create', 'Update']) {
        const call = typeof props[phase] === 'string' ? JSON.parse(props[phase] as string) : undefined;
        if (call?.service === 'SSM' && call.action === 'putParameter') this.ssmWritten(stack, String(call.parameters?.Name));
      }
    }
    if (type === 'AWS::StepFunctions::StateMachine' && typeof props.DefinitionString === 'string') {
      type Parameters = { Name?: string; jobNamePrefix?: string; bucket?: string; reportPrefix?: string };
      const states = Object.values(
        (JSON.parse(props.DefinitionString).States ?? {}) as Record<string, { Resource?: string; Parameters?: Parameters }>,
      );
      for (const s of states)
        if (s.Resource?.endsWith(':aws-sdk:ssm:putParameter') && s.Parameters?.Name) this.ssmWritten(stack, s.Parameters.Name);
      // The drift check (constructs/drift/): its window step names the processing jobs the .sync task runs
      // (<jobNamePrefix>-<window>-<attempt>) and the reports they write under <reportPrefix> in <bucket>.
      if (states.some((s) => s.Resource?.endsWith(':sagemaker:createProcessingJob.sync'))) {
        for (const p of states.map((s) => s.Parameters).filter((p): p is Parameters => typeof p?.jobNamePrefix === 'string')) {
          const job = `${p.jobNamePrefix}-*`;
          this.add('sagemaker processing-job', job);
          this.add('sagemaker processing-job host', `${job}/algo-*`);
          this.addArn(arn(`processing-job/${job}`));
          this.addArn(logs('/aws/sagemaker/ProcessingJobs', `${job}/*`));
          if (p.bucket && p.reportPrefix) this.addArn(`arn:aws:s3:::${p.bucket}/${p.reportPrefix}${job}`);
        }
      }
    }
    if (type === 'AWS::Scheduler::Schedule') {
      // Its group: one the template names, or the account's `default` group, which always exists
      // (https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-group.html).
      const group = String(props.GroupName ?? 'default');
      this.addArn(`arn:aws:scheduler:${stack.region}:${stack.account}:schedule-group/${group}`);
      // A schedule without a Name gets one from CloudFormation: any name in its group.
      this.addArn(`arn:aws:scheduler:${stack.region}:${stack.account}:schedule/${group}/${String(props.Name ?? '*')}`);
    }
    if (type === 'Custom::CDKBucketDeployment' && typeof props.DestinationBucketName === 'string') {
      this.addArn(`arn:aws:s3:::${props.DestinationBucketName}/${String(props.DestinationBucketKeyPrefix ?? '')}*`);
    }
    if (type === 'AWS::S3::Bucket') {
      const logging = props.LoggingConfiguration as { DestinationBucketName?: string; LogFilePrefix?: string } | undefined;
      if (logging?.DestinationBucketName) this.addArn(`arn:aws:s3:::${logging.DestinationBucketName}/${logging.LogFilePrefix ?? ''}*`);
    }
  }

  private ssmWritten(stack: CfnStack, name: string): void {
    this.add('ssm parameter', name);
    this.addArn(`arn:aws:ssm:${stack.region}:${stack.account}:parameter/${name.replace(/^\//, '')}`);
  }

  // ---- checks ----

  private count(kind: string): void {
    this.checked[kind] = (this.checked[kind] ?? 0) + 1;
  }

  private external(kind: string, name: string): boolean {
    const hit = this.externalEntries.find(
      (e) => e.kind === kind && globsIntersect(kind === 'arn' ? normalArn(e.name) : e.name, kind === 'arn' ? normalArn(name) : name),
    );
    if (hit) this.externalsUsed.set(hit.entry, (this.externalsUsed.get(hit.entry) ?? 0) + 1);
    return !!hit;
  }

  /** Looks `name` up as a `kind`; `how` compares (exact by default). Returns whether it names something. */
  private lookup(site: string, kind: string, name: string, how: (known: string, name: string) => boolean = globsIntersect): boolean {
    this.count(kind === 'arn' ? 'arn' : kind);
    if (isOpaque(name) || name.includes('{{ssm:')) {
      this.opaque.push(`${site}: ${name}`);
      return true;
    }
    if (kind === 'arn') return this.lookupArn(site, name);
    const known = [...(this.names.get(kind) ?? [])];
    if (known.some((k) => how(k, name)) || this.external(kind, name)) return true;
    this.findings.push(
      `${site}: names ${kind} "${name}", which the deployment does not create (it has: ${known.slice(0, 6).join(', ') || 'none'})`,
    );
    return false;
  }

  private lookupArn(site: string, arn: string): boolean {
    if (arn === '*') return true;
    // API Gateway's Lambda integration URI carries the function's ARN:
    // arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<arn>/invocations
    const integration = /^arn:[^:]+:apigateway:[^:]*:lambda:path\/[^/]+\/functions\/(arn:.+)\/invocations$/.exec(arn);
    if (integration) return this.lookupArn(site, integration[1]);
    const service = arn.split(':')[2];
    const normal = normalArn(arn);
    if ([...(this.arns.get(service) ?? [])].some((k) => globsIntersect(k, normal)) || this.external('arn', arn)) return true;
    this.findings.push(`${site}: ARN ${arn} names nothing the deployment creates`);
    return false;
  }

  private checkResource(stack: CfnStack, id: string, type: string, props: Record<string, unknown>): void {
    const at = `${stack.name}/${id}`;
    // Every ARN, s3:// location and SQS URL anywhere in the properties (JSON strings included: dashboard bodies,
    // state machine definitions, the custom resources' requests).
    for (const { site, value } of strings(props, '')) {
      if (value.startsWith('arn:')) this.lookup(`${at}${site}`, 'arn', value);
      for (const m of value.matchAll(/s3:\/\/([a-z0-9][a-z0-9.-]+)/g)) this.lookup(`${at}${site}`, 's3 bucket', m[1]);
      if (/^https:\/\/sqs\./.test(value)) this.lookup(`${at}${site}`, 'sqs queue url', value);
    }
    if (type === 'AWS::CloudWatch::Alarm') this.checkAlarm(at, props);
    if (type === 'AWS::CloudWatch::Dashboard' && typeof props.DashboardBody === 'string')
      this.checkDashboard(at, JSON.parse(props.DashboardBody));
    if (type === 'AWS::Lambda::Function') this.checkEnvironment(at, props);
    if (type === 'AWS::Events::Rule' && props.EventPattern) this.checkEventPattern(at, props.EventPattern as Record<string, unknown>);
    if (
      (type === 'AWS::Lambda::Permission' || type === 'AWS::Lambda::EventInvokeConfig') &&
      typeof props.FunctionName === 'string' &&
      !props.FunctionName.startsWith('arn:')
    ) {
      this.lookup(`${at}.FunctionName`, 'lambda function', props.FunctionName);
    }
    if (type === 'AWS::SageMaker::Endpoint') {
      const alarms =
        (props.DeploymentConfig as { AutoRollbackConfiguration?: { Alarms?: { AlarmName: string }[] } } | undefined)
          ?.AutoRollbackConfiguration?.Alarms ?? [];
      alarms.forEach((a, i) =>
        this.lookup(`${at}.DeploymentConfig.AutoRollbackConfiguration.Alarms[${i}]`, 'cloudwatch alarm', a.AlarmName),
      );
    }
    if (type === 'AWS::ApplicationAutoScaling::ScalableTarget' && props.ServiceNamespace === 'sagemaker') {
      // endpoint/<endpoint>/variant/<variant>: https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html
      const [, endpoint, , variant] = String(props.ResourceId).split('/');
      this.lookup(`${at}.ResourceId`, 'sagemaker endpoint', endpoint);
      this.lookup(`${at}.ResourceId`, 'sagemaker variant', variant);
    }
  }

  private checkMetric(site: string, namespace: string, dimensions: [string, string][]): void {
    for (const [name, value] of dimensions) {
      const kind = DIMENSIONS[`${namespace}|${name}`];
      if (!kind) {
        this.findings.push(
          `${site}: no rule for dimension ${name} of ${namespace} (add it to DIMENSIONS in test/support/deploy-rehearsal.ts)`,
        );
        continue;
      }
      this.lookup(`${site} ${namespace} ${name}`, kind, value);
    }
  }

  private checkAlarm(at: string, props: Record<string, unknown>): void {
    const dims = (d: unknown) =>
      ((d as { Name: string; Value: string }[] | undefined) ?? []).map((x) => [x.Name, x.Value] as [string, string]);
    if (props.Namespace) this.checkMetric(at, String(props.Namespace), dims(props.Dimensions));
    for (const [i, m] of (
      (props.Metrics as { MetricStat?: { Metric: { Namespace: string; Dimensions?: unknown } } }[] | undefined) ?? []
    ).entries()) {
      if (m.MetricStat) this.checkMetric(`${at}.Metrics[${i}]`, m.MetricStat.Metric.Namespace, dims(m.MetricStat.Metric.Dimensions));
    }
  }

  /** Metric arrays: [namespace, metric, dim, value, ..., {options}], "." or "..." repeating the row before. */
  private checkDashboard(at: string, body: { widgets?: { properties?: { metrics?: unknown[][] } }[] }): void {
    for (const [w, widget] of (body.widgets ?? []).entries()) {
      let previous: unknown[] = [];
      for (const [r, row] of (widget.properties?.metrics ?? []).entries()) {
        const site = `${at} widget ${w} metric ${r}`;
        const plain = row.filter((x) => typeof x === 'string') as string[];
        const options = row.find((x) => typeof x === 'object') as { expression?: string } | undefined;
        if (options?.expression) this.checkSearch(site, options.expression);
        if (plain.length === 0) continue;
        const full =
          plain[0] === '...'
            ? [...(previous as string[]).slice(0, 2), ...plain.slice(1)]
            : plain.map((x, i) => (x === '.' ? String(previous[i]) : x));
        previous = full;
        const pairs: [string, string][] = [];
        for (let i = 2; i + 1 < full.length; i += 2) pairs.push([full[i], full[i + 1]]);
        this.checkMetric(site, full[0], pairs);
      }
    }
  }

  /** SEARCH('{Namespace,Dim} "term" ...'): each quoted term must be part of a name the dimension can hold. */
  private checkSearch(site: string, expression: string): void {
    for (const m of expression.matchAll(/SEARCH\('\{([^,}]+),([^}]+)\}([^']*)'/g)) {
      const [namespace, dims, rest] = [m[1], m[2].split(','), m[3]];
      const terms = [...rest.matchAll(/(?<![=\w])"([^"]+)"/g)].map((t) => t[1]);
      for (const term of terms) {
        const kinds = dims.map((d) => DIMENSIONS[`${namespace}|${d}`]).filter((k): k is string => !!k);
        if (kinds.length === 0) {
          this.findings.push(`${site}: no rule for the dimensions ${dims.join(',')} of ${namespace} (add them to DIMENSIONS)`);
          continue;
        }
        this.lookup(`${site} SEARCH "${term}"`, kinds[0], term, (known, name) => globsIntersect(known, `*${name}*`));
      }
    }
  }

  private checkEnvironment(at: string, props: Record<string, unknown>): void {
    const variables = (props.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
    for (const [key, value] of Object.entries(variables)) {
      if (typeof value !== 'string' || value.startsWith('arn:')) continue; // ARNs: checked with every other ARN
      const rule = ENVIRONMENT.find(([pattern]) => pattern.test(key));
      if (rule) {
        const prefix = rule[1].endsWith(' prefix');
        this.lookup(
          `${at} environment ${key}`,
          prefix ? rule[1].slice(0, -' prefix'.length) : rule[1],
          value,
          prefix ? (k, n) => globsIntersect(k, `${n}*`) : undefined,
        );
      } else if (/_(NAME|ARN)$/.test(key)) {
        this.findings.push(
          `${at} environment ${key}: "${value}" looks like a name, and no rule says what it names (add one to ENVIRONMENT)`,
        );
      }
    }
  }

  /** A pattern's detail fields: a list of values is a choice, so one of them naming something is enough. */
  private checkEventPattern(at: string, pattern: Record<string, unknown>): void {
    const detail = (pattern.detail ?? {}) as Record<string, unknown>;
    for (const [field, values] of Object.entries(detail)) {
      const kind = EVENT_FIELDS[field];
      if (!kind) {
        if (/(Name|Arn)$/.test(field))
          this.findings.push(`${at} EventPattern.detail.${field}: no rule says what it names (add it to EVENT_FIELDS)`);
        continue;
      }
      const choices = (Array.isArray(values) ? values : [values]) as unknown[];
      const site = `${at} EventPattern.detail.${field}`;
      this.count(kind);
      const names = this.names.get(kind) ?? new Set<string>();
      const matches = choices.some((c) => {
        if (typeof c === 'string') return names.has(c) || this.external(kind, c);
        const prefix = (c as { prefix?: string }).prefix;
        return prefix !== undefined && [...names].some((n) => globsIntersect(n, `${prefix}*`));
      });
      // EventBridge compares exactly (case-sensitive): https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-content-based-filtering.html
      if (!matches)
        this.findings.push(
          `${site}: ${JSON.stringify(values)} matches no ${kind} the deployment creates (it has: ${[...names].join(', ') || 'none'})`,
        );
    }
  }

  /** Every SSM-typed parameter reads a parameter that a resource of the set writes, or an external one. */
  private checkSsmParameters(stack: CfnStack): void {
    for (const [id, p] of Object.entries(stack.template.Parameters ?? {})) {
      if (/^AWS::SSM::Parameter::Value</.test(p.Type) && p.Default !== undefined)
        this.lookup(`${stack.name} parameter ${id}`, 'ssm parameter', String(p.Default));
    }
  }
}

/** SageMaker lower-cases resource names in the ARNs it returns; IAM compares them so. */
function normalArn(arn: string): string {
  return arn.split(':')[2] === 'sagemaker' ? arn.toLowerCase() : arn;
}

/** Every string in a value, with its path; strings holding JSON are parsed and walked too. */
function strings(value: unknown, path: string): Site[] {
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if ((trimmed.startsWith('{') && trimmed.endsWith('}')) || (trimmed.startsWith('[') && trimmed.endsWith(']'))) {
      try {
        return strings(JSON.parse(trimmed), `${path}(json)`);
      } catch {
        // Not JSON after all: a plain string.
      }
    }
    return [{ site: path, value }];
  }
  if (Array.isArray(value)) return value.flatMap((v, i) => strings(v, `${path}[${i}]`));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => strings(v, `${path}.${k}`));
  return [];
}
