import { CustomResource, Duration, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { CfnModelPackageGroup } from 'aws-cdk-lib/aws-sagemaker';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct, IConstruct, IDependable } from 'constructs';
import * as path from 'path';

import { lambdaRole } from '../private/lambda-role';
import { acknowledgeWildcardResource } from '../private/nag-acknowledgements';
import { PlatformFunction } from '../private/platform-function';
import { stackInstanceSuffix } from '../private/stack-instance';
import { check, validateProps } from '../private/validation';
import { acknowledgeModelRegistry } from './model-registry-acknowledgements';
import {
  Approval,
  ModelRegistrationProperties,
  REGISTRATION_ATTR,
  REGISTRATION_RESOURCE_TYPE,
} from './runtime/model-registration-contract';
import type { GateSettings } from './runtime/quality-gate';

export type { Approval } from './runtime/model-registration-contract';
export type { GateSettings } from './runtime/quality-gate';

/** A Model Package Group's names, as another stack reads them. */
export interface SharedGroupNames {
  /** The group's name, as created. */
  readonly groupName: string;
  /** The group's name as SageMaker writes it in ARNs (lowercased). */
  readonly groupNameInArns: string;
  /** The names its state change events may carry (as created, and lowercased: one if they are the same). */
  readonly eventGroupNames: string[];
}

/** The model a {@link ModelRegistry} registers. */
export interface RegisteredModel {
  /** The completed training job's name (a reference, so the registration follows the job). */
  readonly trainingJobName: string;
  /** The model artifact's S3 URL. */
  readonly modelDataUrl: string;
  /** JSON object of the training job's final metrics. */
  readonly finalMetrics: string;
  /** The serving image URI. */
  readonly imageUri: string;
  /** The image's content hash. */
  readonly codeHash: string;
  /**
   * The prepared data's identity and report.
   * @default - none recorded
   */
  readonly data?: { readonly identity: string; readonly reportUri: string };
  /**
   * The evaluation report (evaluation.json) in S3, for the version's ModelMetrics; the gate reads the comparison
   * with the approved model beside it (see {@link ModelRegistry.grantEvaluationReads}).
   * @default - no ModelMetrics
   */
  readonly evaluationUri?: string;
  /**
   * The approved model's artifact the evaluate job scored on this model's test rows, or `none`.
   * @default - none: the gate compares with the approved version's registered figures
   */
  readonly approvedModelDataUrl?: string;
}

/** Properties of a {@link ModelRegistry}. */
export interface ModelRegistryProps {
  /**
   * Start of the Model Package Group's name (letters, digits and hyphens, at most 50). The name is this, a hyphen
   * and 12 hex digits of the stack instance's id: the group is kept when the stack goes (a rolled-back first
   * deploy, `cdk destroy`), and the next instance of the stack gets a group of its own instead of failing with
   * "already exists" on the kept one.
   */
  readonly groupNamePrefix: string;
  /** The model to gate and register. */
  readonly model: RegisteredModel;
  /** The quality gate. */
  readonly gate: GateSettings;
  /**
   * Whether a model that passes the gate is Approved at once, or waits for a person.
   * @default 'automatic'
   */
  readonly approval?: Approval;
  /**
   * Name of the SSM parameter the platform writes the newest approved model package ARN to (the serving pointer).
   * It is not a CloudFormation resource: only the platform's steps write it.
   */
  readonly pointerParameterName: string;
  /**
   * What the registration waits for besides the model (e.g. the job that writes the evaluation report).
   * @default - only the model's own references
   */
  readonly after?: IDependable[];
  /**
   * Key of the handler's log groups.
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
 * The SageMaker Model Registry of the platform: a Model Package Group, a registration step after training that
 * gates the model (absolute bar, no regression against the newest Approved version) and registers one version per
 * training job, and the serving pointer: an SSM parameter naming the newest Approved version, written by the
 * platform (never a CloudFormation resource), which the serving stack reads as an SSM-typed parameter.
 */
export class ModelRegistry extends Construct {
  /** The Model Package Group (kept when the stack is deleted or its creation rolls back). */
  readonly group: CfnModelPackageGroup;
  /**
   * The group's name, `<groupNamePrefix>-<12 hex digits of this stack instance's id>`. It is built from this
   * stack's id: another stack reads it through a reference (an export), never as its own stack id.
   */
  readonly groupName: string;
  /** The pointer parameter's name. */
  readonly pointerParameterName: string;
  /** The registration handler, for alarms on its errors. */
  readonly functions: lambda.IFunction[];
  /**
   * The group's names for another stack (the serving stack's rollout reconciler), each a whole value that stack
   * reads by reference: an SSM parameter of this stack holds each. A name built there from this stack's id would
   * need Fn::Split over the other stack's output, which cfn-lint rejects (E1022); a whole value needs none.
   */
  readonly shared: SharedGroupNames;
  /** The registration's custom resource provider. */
  readonly provider: cr.Provider;
  /** The SSM call that writes the pointer at each registration. */
  readonly servingPointer: cr.AwsCustomResource;
  /** The role of the function behind `servingPointer` (aws-cdk-lib's singleton function, found by this role). */
  readonly pointerRole: iam.Role;
  private readonly registration: CustomResource;
  private readonly lowercaseGroupName: string;

  constructor(scope: Construct, id: string, props: ModelRegistryProps) {
    super(scope, id);
    validateProps(this, [
      // SageMaker's EntityName pattern, with room for the 13 characters of the stack-instance suffix (63 in all).
      check(
        'groupNamePrefix',
        props.groupNamePrefix,
        (n) => /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,49}$/.test(n),
        'letters, digits and hyphens, at most 50, not ending in a hyphen',
        'https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateModelPackageGroup.html',
      ),
      check(
        'pointerParameterName',
        props.pointerParameterName,
        (n) => /^\/[a-zA-Z0-9_.\-/]{1,1010}$/.test(n),
        'a path such as /dlplatform/serving/model-package-arn',
      ),
    ]);
    const stack = Stack.of(this);
    const suffix = stackInstanceSuffix(this);
    const names = modelPackageGroupNames(this, props.groupNamePrefix);
    this.groupName = names.groupName;
    const lowercaseName = names.groupNameInArns;
    this.pointerParameterName = props.pointerParameterName;
    this.group = new CfnModelPackageGroup(this, 'Group', {
      modelPackageGroupName: this.groupName,
      modelPackageGroupDescription: 'Every gated model of the platform, one version per training job',
    });
    // Standard String parameters: no charge (https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html).
    const held = (id: string, value: string, what: string) =>
      new ssm.CfnParameter(this, id, { type: 'String', value, description: what }).attrValue;
    const name = held('GroupNameParameter', this.groupName, "Name of the platform's Model Package Group, for the serving stack's rollout");
    const inArns =
      lowercaseName === this.groupName
        ? name
        : held(
            'GroupNameInArnsParameter',
            lowercaseName,
            "The group's name as SageMaker writes it in ARNs (lowercased), for the serving stack's rollout",
          );
    this.shared = {
      groupName: name,
      groupNameInArns: inArns,
      eventGroupNames: approvalEventGroupNames(props.groupNamePrefix, suffix).length === 1 ? [name] : [name, inArns],
    };
    // Never deleted by CloudFormation. A first model that fails the gate leaves a Rejected version in the group and
    // rolls the stack's creation back; whether SageMaker refuses to delete a group that is not empty is not
    // documented, and either answer would harm: a refusal leaves the stack ROLLBACK_FAILED, a deletion loses the
    // record. Kept, the group is never deleted; the next stack instance names its own (the suffix).
    this.group.applyRemovalPolicy(RemovalPolicy.RETAIN);

    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      encryptionKey: props.logEncryptionKey,
    });
    const handler = new PlatformFunction(this, 'Handler', {
      entry: path.join(__dirname, 'runtime', 'model-registration.handler.ts'),
      handler: 'onEvent',
      description: 'Gates a trained model and registers it as a model package version',
      timeout: Duration.minutes(2),
      logGroup,
    }).function;
    this.functions = [handler];

    this.lowercaseGroupName = lowercaseName;
    this.grantRegistration(handler);

    const providerLogs = new logs.LogGroup(this, 'ProviderLogs', {
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      encryptionKey: props.logEncryptionKey,
    });
    const providerRole = lambdaRole(this, 'ProviderRole', providerLogs);
    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: handler,
      logGroup: providerLogs,
      frameworkOnEventRole: providerRole,
    });
    acknowledgeWildcardResource(
      providerRole,
      `${handler.functionArn}:*`,
      'The provider framework invokes the handler function; `:*` only adds its versions and aliases.',
    );
    this.provider = provider;

    const m = props.model;
    const properties: ModelRegistrationProperties = {
      ModelPackageGroupName: this.groupName,
      TrainingJobName: m.trainingJobName,
      ModelDataUrl: m.modelDataUrl,
      ImageUri: m.imageUri,
      FinalMetrics: m.finalMetrics,
      QualityGate: JSON.stringify(props.gate),
      Approval: props.approval ?? 'automatic',
      CodeHash: m.codeHash,
      ...(m.data ? { DataIdentity: m.data.identity, DataReportUri: m.data.reportUri } : {}),
      ...(m.evaluationUri ? { EvaluationUri: m.evaluationUri } : {}),
      ...(m.approvedModelDataUrl ? { ApprovedModelDataUrl: m.approvedModelDataUrl } : {}),
    };
    this.registration = new CustomResource(this, 'Registration', {
      serviceToken: provider.serviceToken,
      resourceType: REGISTRATION_RESOURCE_TYPE,
      properties: { ...properties },
    });
    this.registration.node.addDependency(this.group, ...(props.after ?? []));

    // The pointer: an SSM API call on every registration, not an SSM resource, so a person's approval or a later
    // retrain can move it and CloudFormation never reverts it.
    const parameterArn = stack.formatArn({
      service: 'ssm',
      resource: 'parameter',
      resourceName: props.pointerParameterName.replace(/^\//, ''),
    });
    const write: cr.AwsSdkCall = {
      service: 'SSM',
      action: 'putParameter',
      parameters: {
        Name: props.pointerParameterName,
        Value: this.servingModelPackageArn,
        Type: 'String',
        Overwrite: true,
        Description: `The approved model package the endpoint serves (newest Approved version of ${this.groupName})`,
      },
      physicalResourceId: cr.PhysicalResourceId.of(props.pointerParameterName),
    };
    const pointerLogs = new logs.LogGroup(this, 'PointerLogs', {
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      encryptionKey: props.logEncryptionKey,
    });
    const pointerRole = lambdaRole(this, 'PointerRole', pointerLogs);
    this.servingPointer = new cr.AwsCustomResource(this, 'ServingPointer', {
      onCreate: write,
      onUpdate: write,
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({ actions: ['ssm:PutParameter'], resources: [parameterArn] }),
      ]),
      // Our own role: no managed policy, logs only to its own group.
      role: pointerRole,
      installLatestAwsSdk: false,
      logGroup: pointerLogs,
    });
    this.pointerRole = pointerRole;

    acknowledgeModelRegistry(this);
  }

  /**
   * What gating and registering a model needs (runtime/model-registration.handler.ts's gateAndRegister): create,
   * read and decide versions of this group, and list the group's versions.
   */
  grantRegistration(grantee: iam.IGrantable & { readonly role?: iam.IRole }): void {
    const stack = Stack.of(this);
    // Versions are <group>/<n>; the group's own ARN for the calls that name it. SageMaker lowercases names in ARNs.
    // Actions and resource types: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html
    const versions = stack.formatArn({ service: 'sagemaker', resource: 'model-package', resourceName: `${this.lowercaseGroupName}/*` });
    const groupArn = stack.formatArn({ service: 'sagemaker', resource: 'model-package-group', resourceName: this.lowercaseGroupName });
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['sagemaker:CreateModelPackage', 'sagemaker:DescribeModelPackage', 'sagemaker:UpdateModelPackage'],
      resourceArns: [versions, groupArn],
    });
    iam.Grant.addToPrincipal({ grantee, actions: ['sagemaker:ListModelPackages'], resourceArns: ['*'] });
    if (grantee.role) {
      acknowledgeWildcardResource(
        grantee.role,
        versions,
        "Model package versions are numbered by SageMaker within this construct's group only.",
      );
      acknowledgeWildcardResource(grantee.role, '*', 'sagemaker:ListModelPackages supports no resource scope; it reads summaries only.');
    }
  }

  /**
   * Lets the gate read the evaluate job's comparison with the approved model: the objects under `prefix` in `bucket`
   * (every evaluate job's evaluation folder: evaluations/, the job, /evaluation/), and their key.
   */
  grantEvaluationReads(bucket: s3.IBucket, prefix: string, key: kms.IKey): void {
    const handler = this.functions[0];
    const objects = bucket.arnForObjects(`${prefix}*`);
    iam.Grant.addToPrincipal({ grantee: handler, actions: ['s3:GetObject'], resourceArns: [objects] });
    key.grantDecrypt(handler);
    acknowledgeWildcardResource(
      handler.role!,
      objects,
      'Each evaluate job writes under evaluations/<job name>/evaluation/, named when it starts: the gate reads only those folders.',
    );
  }

  /** The registered version's ARN. */
  get modelPackageArn(): string {
    return this.registration.getAttString(REGISTRATION_ATTR.modelPackageArn);
  }

  /** The registered version's approval status. */
  get approvalStatus(): string {
    return this.registration.getAttString(REGISTRATION_ATTR.approvalStatus);
  }

  /** The newest Approved version after this registration: what the pointer names. */
  get servingModelPackageArn(): string {
    return this.registration.getAttString(REGISTRATION_ATTR.servingModelPackageArn);
  }

  /**
   * The ARN of version `n` of the group (for pinning an earlier approved version), from the group's own ARN
   * attribute: `...:model-package-group/<name>` becomes `...:model-package/<name>/<n>`. Used in another stack it
   * is a reference to this one's group.
   */
  versionArn(n: number): string {
    const parts = Fn.split(':model-package-group/', this.group.attrModelPackageGroupArn, 2);
    return Fn.join('', [Fn.select(0, parts), ':model-package/', Fn.select(1, parts), `/${n}`]);
  }

  /** Every version of the group, `...:model-package/<name>/*`, as {@link versionArn} builds one: for IAM grants in any stack. */
  get versionsArn(): string {
    const parts = Fn.split(':model-package-group/', this.group.attrModelPackageGroupArn, 2);
    return Fn.join('', [Fn.select(0, parts), ':model-package/', Fn.select(1, parts), '/*']);
  }
}

/**
 * The names of the group a ModelRegistry with this prefix creates in `scope`'s stack, for what must know it before
 * the registry exists (the evaluate job, which scores the group's approved model).
 */
export function modelPackageGroupNames(scope: IConstruct, prefix: string): { groupName: string; groupNameInArns: string } {
  const suffix = stackInstanceSuffix(scope);
  // SageMaker lowercases names in ARNs; the suffix is lowercase hex already, so only the literal prefix changes.
  return { groupName: `${prefix}-${suffix}`, groupNameInArns: `${prefix.toLowerCase()}-${suffix}` };
}

/**
 * The group names the approval rule matches. AWS's example event names an all-lowercase group, so it does not say
 * whether the event carries the name as created or lowercased, as in the group's ARN
 * (https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html#eventbridge-model-package):
 * the rule matches both.
 */
export function approvalEventGroupNames(prefix: string, suffix: string): string[] {
  return [...new Set([`${prefix}-${suffix}`, `${prefix.toLowerCase()}-${suffix}`])];
}
