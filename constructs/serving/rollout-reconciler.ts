import { CfnResource, Duration, Names, Stack, Tags } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { CfnEndpoint, CfnEndpointConfig, CfnModel } from 'aws-cdk-lib/aws-sagemaker';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

import { servicePrincipalForThisAccount } from '../private/confused-deputy';
import { acknowledgeWildcardResource } from '../private/nag-acknowledgements';
import { stackInstanceSuffix } from '../private/stack-instance';
import { check, validateProps } from '../private/validation';
import { rolloutDefinition, RolloutResources } from './rollout-definition';
import { acknowledgeRolloutReconciler } from './rollout-reconciler-acknowledgements';

/** The endpoint a {@link RolloutReconciler} moves: the parts of an InferenceEndpoint it names. */
export interface RolledOutEndpoint extends Construct {
  /** The endpoint's name (a reference in the endpoint's own stack). */
  readonly endpointName: string;
  /** The endpoint's ARN, for the policies that name it. */
  readonly endpointArnForPolicies: string;
  /** The role SageMaker runs the model with: CloudFormation passes it when it creates the new model. */
  readonly role: iam.IRole;
}

/** Properties of a {@link RolloutReconciler}. */
export interface RolloutReconcilerProps {
  /**
   * The endpoint, in the stack this construct is in: the stack the reconciler updates. Its model, endpoint config
   * and endpoint are the only resources a rollout may change.
   */
  readonly endpoint: RolledOutEndpoint;
  /** The serving pointer (an SSM parameter's name) the stack reads as its `ServedModelPackage` parameter. */
  readonly pointerParameterName: string;
  /** The Model Package Group's name (a reference to the registry's stack). */
  readonly modelPackageGroupName: string;
  /** The group names SageMaker's state change events may carry (as created, and lowercased). */
  readonly eventGroupNames: string[];
  /** The group's name as SageMaker writes it in ARNs (lowercased): the versions the reconciler may reject. */
  readonly groupNameInArns: string;
  /** The key of the endpoint's storage volumes: CloudFormation creates the new endpoint config with it. */
  readonly volumeKey?: kms.IKey;
  /**
   * How long the reconciler waits between two looks at a busy stack, a change set or an update.
   * @default Duration.minutes(1)
   */
  readonly pollInterval?: Duration;
  /**
   * How many times the reconciler looks at a busy stack (another deploy in progress) before it gives up.
   * @default 30
   */
  readonly maxBusyChecks?: number;
  /**
   * Longest a rollout may take, blue/green baking included; then the execution times out (an incident).
   * @default Duration.hours(6)
   */
  readonly timeout?: Duration;
  /**
   * Key of the state machine's log group.
   * @default - CloudWatch Logs' own encryption
   */
  readonly logsKey?: kms.IKey;
  /**
   * Days the rollout logs are kept.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
}

/** The tag that marks the models and endpoint configs a rollout's deploy role may create and delete. */
export const ROLLOUT_TAG = 'dlplatform:rollout';

export type { RolloutResources } from './rollout-definition';

/**
 * Rolls the endpoint out to the newest Approved model package version when a version's approval changes (by the
 * gate or by a person), without `cdk deploy`: a Standard state machine, started by SageMaker's model package state
 * change event, that moves the serving pointer and updates its own stack through a CloudFormation change set on
 * the deployed template (so blue/green and its rollback alarms apply, and a later deploy keeps the version). It
 * executes the change set only when it changes nothing but the model, endpoint config and endpoint, with a role
 * that can change only those. A rollout that rolls back rejects the version, puts the pointer back and fails.
 */
export class RolloutReconciler extends Construct {
  /** The state machine. */
  readonly stateMachine: sfn.StateMachine;
  /** The role CloudFormation runs the rollout's change sets with. */
  readonly deployRole: iam.Role;
  /** The rule that starts a rollout on an approval change. */
  readonly rule: events.Rule;
  /** Where approval events wait that could not start a rollout. */
  readonly deadLetterQueue: sqs.Queue;
  /** The state machine's log group (each execution's outcome, the served version). */
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: RolloutReconcilerProps) {
    super(scope, id);
    const maxBusyChecks = props.maxBusyChecks ?? 30;
    const pollInterval = props.pollInterval ?? Duration.minutes(1);
    validateProps(this, [
      check('maxBusyChecks', maxBusyChecks, (n) => Number.isInteger(n) && n >= 1 && n <= 1000, 'a whole number from 1 to 1000'),
      check('pollInterval', pollInterval.toSeconds(), (s) => s >= 1 && s <= 3600, 'from 1 second to 1 hour'),
    ]);
    const stack = Stack.of(this);
    const resources = rolloutResources(props.endpoint);
    const parameterArn = stack.formatArn({
      service: 'ssm',
      resource: 'parameter',
      resourceName: props.pointerParameterName.replace(/^\//, ''),
    });

    this.deployRole = this.createDeployRole(props);

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      encryptionKey: props.logsKey,
    });
    const role = new iam.Role(this, 'Role', {
      assumedBy: servicePrincipalForThisAccount(this, 'states.amazonaws.com'),
      description:
        'Runs the rollout reconciler: reads the registry, moves the serving pointer, updates the serving stack through change sets',
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      role,
      stateMachineType: sfn.StateMachineType.STANDARD,
      comment: 'Rolls the endpoint out to the newest Approved model package version through a CloudFormation change set',
      definitionBody: sfn.DefinitionBody.fromString(
        stack.toJsonString(
          rolloutDefinition({
            stackId: stack.stackId,
            pointerParameterName: props.pointerParameterName,
            modelPackageGroupName: props.modelPackageGroupName,
            endpointName: props.endpoint.endpointName,
            deployRoleArn: this.deployRole.roleArn,
            resources,
            pollInterval,
            maxBusyChecks,
          }),
        ),
      ),
      timeout: props.timeout ?? Duration.hours(6),
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
    });
    this.grantChangeSets(role, stack.stackId);
    role.addToPolicy(readSsmTypedParameters(stack, props.pointerParameterName));
    // The registry and the endpoint. Actions and resource types:
    // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html
    role.addToPolicy(new iam.PolicyStatement({ actions: ['sagemaker:ListModelPackages'], resources: ['*'] }));
    const versions = stack.formatArn({ service: 'sagemaker', resource: 'model-package', resourceName: `${props.groupNameInArns}/*` });
    role.addToPolicy(new iam.PolicyStatement({ actions: ['sagemaker:UpdateModelPackage'], resources: [versions] }));
    role.addToPolicy(
      new iam.PolicyStatement({ actions: ['sagemaker:DescribeEndpoint'], resources: [props.endpoint.endpointArnForPolicies] }),
    );
    role.addToPolicy(new iam.PolicyStatement({ actions: ['ssm:PutParameter'], resources: [parameterArn] }));
    acknowledgeWildcardResource(
      role,
      versions,
      "Model package versions are numbered by SageMaker within the platform's group only; the reconciler rejects the one it rolled out.",
    );
    acknowledgeWildcardResource(
      role,
      '*',
      'sagemaker:ListModelPackages supports no resource scope (it reads summaries only); Step Functions log delivery ' +
        '(logs:CreateLogDelivery and the calls around it) and X-Ray (xray:PutTraceSegments) support none either.',
    );

    // SageMaker's model package state change event, for Approved and Rejected: a rejection of the served version
    // rolls back to the newest version still approved.
    // https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html#eventbridge-model-package
    // Named, so that the target role's trust can name the rule (a generated name is known only after deploy); at
    // most 64 characters (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html).
    const ruleName = `${Names.uniqueResourceName(this, { maxLength: 55, separator: '-' })}-approval`;
    this.rule = new events.Rule(this, 'ApprovalRule', {
      ruleName,
      description: 'Rolls the endpoint out to the newest approved model package version when a version is approved or rejected',
      eventPattern: {
        source: ['aws.sagemaker'],
        detailType: ['SageMaker Model Package State Change'],
        detail: { ModelPackageGroupName: props.eventGroupNames, ModelApprovalStatus: ['Approved', 'Rejected'] },
      },
    });
    // An event the state machine could not take (after EventBridge's retries) waits here instead of being dropped.
    // SQS-managed keys (SSE-SQS) need no key policy for EventBridge to write; a customer key would.
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    // Only this rule, for this account, may start a rollout: EventBridge sets aws:SourceArn to the rule's ARN when
    // it assumes a target's role (https://docs.aws.amazon.com/eventbridge/latest/userguide/cross-service-confused-deputy-prevention.html).
    const targetRole = new iam.Role(this, 'TargetRole', {
      description: 'EventBridge starts a rollout with it, for the approval rule only',
      assumedBy: new iam.ServicePrincipal('events.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': stack.account },
        ArnEquals: { 'aws:SourceArn': stack.formatArn({ service: 'events', resource: 'rule', resourceName: ruleName }) },
      }),
    });
    this.rule.addTarget(
      new targets.SfnStateMachine(this.stateMachine, {
        role: targetRole,
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: 8,
        maxEventAge: Duration.hours(24),
      }),
    );
    acknowledgeRolloutReconciler(this);
  }

  /** Rollouts that failed (refused, rolled back, stack busy for too long, or any error): each is an incident. */
  metricFailed(props: { period?: Duration } = {}): cloudwatch.Metric {
    return this.stateMachine.metricFailed({ period: props.period ?? Duration.minutes(5), statistic: 'Sum' });
  }

  /** Rollouts that timed out. */
  metricTimedOut(props: { period?: Duration } = {}): cloudwatch.Metric {
    return this.stateMachine.metricTimedOut({ period: props.period ?? Duration.minutes(5), statistic: 'Sum' });
  }

  /** Rollouts that succeeded (rolled out, already served, or nothing to change). */
  metricSucceeded(props: { period?: Duration } = {}): cloudwatch.Metric {
    return this.stateMachine.metricSucceeded({ period: props.period ?? Duration.minutes(5), statistic: 'Sum' });
  }

  /** Approval events waiting in the dead-letter queue: above zero, an approval started no rollout. */
  metricUndeliveredApprovals(props: { period?: Duration } = {}): cloudwatch.Metric {
    return this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      period: props.period ?? Duration.minutes(5),
      statistic: 'Maximum',
    });
  }

  /**
   * What the state machine may call on its own stack. CreateChangeSet only with the deploy role
   * (cloudformation:RoleArn), and the role may be passed only to CloudFormation.
   * Actions and condition keys: https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscloudformation.html
   */
  private grantChangeSets(role: iam.Role, stackId: string): void {
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['cloudformation:CreateChangeSet'],
        resources: [stackId],
        conditions: { StringEquals: { 'cloudformation:RoleArn': this.deployRole.roleArn } },
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: [
          'cloudformation:DescribeStacks',
          'cloudformation:DescribeChangeSet',
          'cloudformation:ExecuteChangeSet',
          'cloudformation:DeleteChangeSet',
          'cloudformation:DescribeStackResource',
        ],
        resources: [stackId],
      }),
    );
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#ck_PassedToService
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [this.deployRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'cloudformation.amazonaws.com' } },
      }),
    );
  }

  /**
   * The role CloudFormation executes a rollout's change set with: what updating the model, endpoint config and
   * endpoint needs, and rolling them back, per the resource types' handler permissions in their registry schemas
   * (https://docs.aws.amazon.com/cloudformation-cli/latest/userguide/resource-type-schema.html#schema-properties-handlers;
   * AWS::SageMaker::Model, ::EndpointConfig, ::Endpoint), and nothing else: a change set that changes anything
   * more fails for lack of permission even if the reconciler's check let it through.
   */
  private createDeployRole(props: RolloutReconcilerProps): iam.Role {
    const stack = Stack.of(this);
    const role = new iam.Role(this, 'DeployRole', {
      assumedBy: servicePrincipalForThisAccount(this, 'cloudformation.amazonaws.com'),
      description: 'CloudFormation runs the rollout change sets with it: it can change only the model, endpoint config and endpoint',
    });
    // CloudFormation names each new model and endpoint config itself (a generated physical id, unknown until it
    // creates them), so they are scoped by a tag this construct puts on them: created only with it, deleted and
    // read only when they carry it (attribute-based access control:
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/access_tags.html; SageMaker resources and tags:
    // https://docs.aws.amazon.com/sagemaker/latest/dg/security_iam_service-with-iam.html#security_iam_service-with-iam-tags).
    // Tagging at creation needs sagemaker:AddTags beside the Create call (the handler permissions above).
    const tagValue = stackInstanceSuffix(this);
    for (const resource of [...props.endpoint.node.findAll()].filter((c) => c instanceof CfnModel || c instanceof CfnEndpointConfig)) {
      Tags.of(resource).add(ROLLOUT_TAG, tagValue);
    }
    const arn = (resource: string) => stack.formatArn({ service: 'sagemaker', resource, resourceName: '*' });
    const tagged = [arn('model'), arn('endpoint-config')];
    for (const [resource, type] of [
      [arn('model'), 'Model'],
      [arn('endpoint-config'), 'EndpointConfig'],
    ]) {
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: [`sagemaker:Create${type}`, 'sagemaker:AddTags'],
          resources: [resource],
          conditions: { StringEquals: { [`aws:RequestTag/${ROLLOUT_TAG}`]: tagValue } },
        }),
      );
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: [`sagemaker:Delete${type}`, `sagemaker:Describe${type}`],
          resources: [resource],
          conditions: { StringEquals: { [`aws:ResourceTag/${ROLLOUT_TAG}`]: tagValue } },
        }),
      );
    }
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['sagemaker:UpdateEndpoint', 'sagemaker:DescribeEndpoint'],
        resources: [props.endpoint.endpointArnForPolicies],
      }),
    );
    // The new model names a version of the platform's group (CreateModel's ModelPackageName). Neither the Model's
    // handler permissions nor CreateModel's reference say whether SageMaker checks the caller may read it; a
    // refusal would roll the update back and reject a good version, so the caller may read the group's versions.
    const versions = stack.formatArn({ service: 'sagemaker', resource: 'model-package', resourceName: `${props.groupNameInArns}/*` });
    role.addToPolicy(new iam.PolicyStatement({ actions: ['sagemaker:DescribeModelPackage'], resources: [versions] }));
    acknowledgeWildcardResource(
      role,
      versions,
      "Model package versions are numbered by SageMaker within the platform's group only; the new model may name any approved one.",
    );
    // CloudFormation resolves the stack's SSM-typed parameters (the pointer, CDK's bootstrap version) when it creates
    // the change set. AWS does not say whose credentials it reads them with, the caller's or the service role's
    // (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-supplied-parameter-types.html):
    // both may read them, and only them.
    role.addToPolicy(readSsmTypedParameters(stack, props.pointerParameterName));
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [props.endpoint.role.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
      }),
    );
    props.volumeKey?.grant(role, 'kms:DescribeKey', 'kms:CreateGrant');
    for (const resource of tagged) {
      acknowledgeWildcardResource(
        role,
        resource,
        "CloudFormation names each model and endpoint config it creates (a generated physical id); the statements hold to those carrying this stack's rollout tag.",
      );
    }
    return role;
  }
}

/**
 * ssm:GetParameters on what the stack's SSM-typed parameters read: the pointer, and the bootstrap version parameter
 * CDK's synthesizer adds to every template (`/cdk-bootstrap/<qualifier>/version`, its default name).
 */
function readSsmTypedParameters(stack: Stack, pointerParameterName: string): iam.PolicyStatement {
  const names = [pointerParameterName];
  const qualifier = stack.synthesizer.bootstrapQualifier;
  if (qualifier) names.push(`/cdk-bootstrap/${qualifier}/version`);
  return new iam.PolicyStatement({
    actions: ['ssm:GetParameters'],
    resources: names.map((n) => stack.formatArn({ service: 'ssm', resource: 'parameter', resourceName: n.replace(/^\//, '') })),
  });
}

/** The logical ids of the endpoint's model, endpoint config and endpoint, found by type (the alpha L2s' children). */
export function rolloutResources(endpoint: Construct): RolloutResources {
  const stack = Stack.of(endpoint);
  const one = (type: new (...a: never[]) => CfnResource, name: string) => {
    const found = endpoint.node.findAll().filter((c) => c instanceof type);
    if (found.length !== 1) throw new Error(`${endpoint.node.path}: expected one ${name}, found ${found.length}`);
    return stack.resolve(stack.getLogicalId(found[0] as CfnResource)) as string;
  };
  return {
    model: one(CfnModel, 'AWS::SageMaker::Model'),
    endpointConfig: one(CfnEndpointConfig, 'AWS::SageMaker::EndpointConfig'),
    endpoint: one(CfnEndpoint, 'AWS::SageMaker::Endpoint'),
  };
}
