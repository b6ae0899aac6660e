/**
 * Scripted stand-ins for what the rollout reconciler calls through Step Functions' AWS SDK integrations:
 * CloudFormation (the serving stack, its change sets), SSM (the pointer) and SageMaker (the registry, the endpoint).
 * Every request is checked against the service's API model (botocore's service-2.json from the venv) as the
 * service checks it, and every answer against the operation's output shape before it is returned, so a scenario
 * can neither accept a request the service would refuse nor answer what it never would.
 *
 * The world keeps what the calls change: the pointer, each version's approval status, the stack's status and the
 * version its pointer parameter resolved to, the endpoint's config. CloudFormation's behaviour is scripted per
 * scenario: how many looks the stack stays busy, what a change set shows besides the model, whether the update
 * completes or rolls back, whether SageMaker keeps the old config after CloudFormation reports success.
 */
import { loadServiceModel } from '../../local/api-model/service-model';
import { validateInput, validateOutput, validationMessage } from '../../local/api-model/validate-input';
import type { Definition, TaskHandler } from '../../local/state-machine/state-machine-runner';
import { allStates } from '../../local/state-machine/state-machine-runner';
import type { SageMakerStandin } from './sagemaker-api-standin';

const REGION = 'eu-west-1';
const ACCOUNT = '123456789012';
const MODELS: Record<string, string> = { cloudformation: 'cloudformation', ssm: 'ssm', sagemaker: 'sagemaker' };
/** The service name in an aws-sdk integration ARN, as the SDK errors are prefixed (https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html#use-awssdk-integ-handle-exception). */
const ERROR_PREFIX: Record<string, string> = { cloudformation: 'CloudFormation', ssm: 'Ssm', sagemaker: 'SageMaker' };

/** A resource change a change set shows. */
export interface ScriptedChange {
  readonly logicalId: string;
  readonly type: string;
  readonly action: 'Add' | 'Modify' | 'Remove';
}

/** What the world starts as and how CloudFormation behaves. */
export interface RolloutScenario {
  /** The serving stack's id. */
  readonly stackId: string;
  /** The pointer parameter's name. */
  readonly pointerName: string;
  /** The registry's group. */
  readonly groupName: string;
  /** The endpoint's name. */
  readonly endpointName: string;
  /** The logical ids of the model, endpoint config and endpoint. */
  readonly resources: { readonly model: string; readonly endpointConfig: string; readonly endpoint: string };
  /** Versions 1..n of the group, with their approval status (none when `registry` answers for the group). */
  readonly versions: ('Approved' | 'Rejected' | 'PendingManualApproval')[];
  /**
   * The registry that answers ListModelPackages and UpdateModelPackage instead of `versions`: the SageMaker API
   * stand-in a retraining run registered its versions in, so that a rollout acts on what the run registered.
   * @default - `versions`
   */
  readonly registry?: Pick<SageMakerStandin, 'answer'>;
  /** The version the deployed stack resolved its pointer to (`none`: no endpoint), and the pointer's value. */
  readonly served: string;
  /**
   * What DescribeStacks answers before the rollout's update, one status per look (the last one stays).
   * @default ['UPDATE_COMPLETE']
   */
  readonly statusesBefore?: string[];
  /**
   * Changes the change set shows besides the rollout's own (drift in the deployed stack).
   * @default none
   */
  readonly extraChanges?: ScriptedChange[];
  /**
   * How the update ends.
   * @default 'UPDATE_COMPLETE'
   */
  readonly updateEnds?: 'UPDATE_COMPLETE' | 'UPDATE_ROLLBACK_COMPLETE';
  /**
   * SageMaker rolled the endpoint back on its alarms although CloudFormation reports UPDATE_COMPLETE.
   * @default false
   */
  readonly endpointKeepsOldConfig?: boolean;
  /**
   * CloudFormation finds nothing to change (a deploy served the version in between).
   * @default false
   */
  readonly changeSetShowsNothing?: boolean;
  /**
   * A `cdk deploy` updates the stack between the change set and its execution, serving the version the pointer
   * names: ExecuteChangeSet answers InvalidChangeSetStatusException (the change set is obsolete).
   * @default false
   */
  readonly deployRacesExecution?: boolean;
  /**
   * CloudFormation cannot create the change set, for this reason (e.g. a parameter it cannot resolve).
   * @default - it can
   */
  readonly changeSetFailsWith?: string;
}

/** A request the stand-ins answered. */
export interface RolloutCall {
  readonly service: string;
  readonly operation: string;
  readonly input: Record<string, unknown>;
}

/** An error as Step Functions reports an AWS SDK integration's: `<Service>.<ExceptionName>`. */
class SdkError extends Error {
  constructor(service: string, type: string, message: string) {
    super(message);
    this.name = `${ERROR_PREFIX[service]}.${type}`;
  }
}

interface ChangeSet {
  readonly id: string;
  readonly name: string;
  readonly resolvedPointer: string;
  readonly roleArn: string;
  looks: number;
  deleted: boolean;
  executed: boolean;
}

/** The world one execution runs in. */
export class RolloutWorld {
  readonly calls: RolloutCall[] = [];
  /** Requests or answers that broke the API model (a scenario fails on any). */
  readonly violations: string[] = [];
  pointer: string;
  served: string;
  readonly statuses: string[];
  readonly changeSets: ChangeSet[] = [];
  readonly approval: { status: string; description?: string }[];
  private updateLooks: string[] = [];
  private deployedConfig = 'endpoint-config-1';
  private endpointConfig = 'endpoint-config-1';
  private nextConfig = 2;
  private raced = false;

  constructor(readonly scenario: RolloutScenario) {
    this.pointer = scenario.served;
    this.served = scenario.served;
    this.statuses = [...(scenario.statusesBefore ?? ['UPDATE_COMPLETE'])];
    this.approval = scenario.versions.map((status) => ({ status }));
  }

  /** Version n's ARN (SageMaker lowercases the group's name in it). */
  versionArn(n: number): string {
    return `arn:aws:sagemaker:${REGION}:${ACCOUNT}:model-package/${this.scenario.groupName.toLowerCase()}/${n}`;
  }

  /** A handler for each Task state of the definition, dispatched by the SDK call its Resource names. */
  handlers(definition: Definition): Record<string, TaskHandler> {
    return Object.fromEntries(
      allStates(definition)
        .filter(([, s]) => s.Type === 'Task')
        .map(([name, state]) => {
          const match = /^arn:aws:states:::aws-sdk:([a-z]+):([a-zA-Z]+)$/.exec(String(state.Resource));
          if (!match) throw new Error(`${name}: ${String(state.Resource)} is not an AWS SDK integration`);
          const [, service, action] = match;
          const operation = action.charAt(0).toUpperCase() + action.slice(1);
          return [name, (input: Record<string, unknown>) => this.call(service, operation, input)];
        }),
    );
  }

  /** Operations called, in order, as `service:Operation`. */
  operations(): string[] {
    return this.calls.map((c) => `${c.service}:${c.operation}`);
  }

  private call(service: string, operation: string, input: Record<string, unknown>): unknown {
    const model = loadServiceModel(MODELS[service]);
    const problems = validateInput(model, operation, input);
    if (problems.length > 0) {
      const message = validationMessage(problems);
      this.violations.push(`${service}:${operation} request: ${message}`);
      throw new SdkError(service, 'ValidationException', message);
    }
    this.calls.push({ service, operation, input });
    const output = this.answer(service, operation, input);
    const wrong = validateOutput(model, operation, output);
    if (wrong.length > 0) this.violations.push(`${service}:${operation} answer: ${validationMessage(wrong)}`);
    return output;
  }

  private answer(service: string, operation: string, input: Record<string, unknown>): unknown {
    const key = `${service}:${operation}`;
    switch (key) {
      case 'sagemaker:ListModelPackages':
        return this.scenario.registry ? this.fromRegistry(operation, input) : this.listModelPackages(input);
      case 'sagemaker:UpdateModelPackage':
        return this.scenario.registry ? this.fromRegistry(operation, input) : this.updateModelPackage(input);
      case 'sagemaker:DescribeEndpoint':
        return this.describeEndpoint(input);
      case 'ssm:PutParameter': {
        if (input.Name !== this.scenario.pointerName)
          throw new SdkError(service, 'AccessDeniedException', `not the pointer: ${String(input.Name)}`);
        this.pointer = String(input.Value);
        return { Version: 1, Tier: 'Standard' };
      }
      case 'cloudformation:DescribeStacks':
        return this.describeStacks(input);
      case 'cloudformation:CreateChangeSet':
        return this.createChangeSet(input);
      case 'cloudformation:DescribeChangeSet':
        return this.describeChangeSet(input);
      case 'cloudformation:DeleteChangeSet': {
        this.changeSet(input).deleted = true;
        return {};
      }
      case 'cloudformation:ExecuteChangeSet':
        return this.executeChangeSet(input);
      case 'cloudformation:DescribeStackResource':
        return this.describeStackResource(input);
      default:
        throw new Error(`no stand-in for ${key}`);
    }
  }

  /** The registry's answer, as JSON (as the integration returns it); its errors as the integration names them. */
  private fromRegistry(operation: string, input: Record<string, unknown>): unknown {
    try {
      return JSON.parse(JSON.stringify(this.scenario.registry!.answer(operation, input)));
    } catch (e) {
      const { type, message } = e as { type?: string; message: string };
      if (type) throw new SdkError('sagemaker', type, message);
      throw e;
    }
  }

  private listModelPackages(input: Record<string, unknown>) {
    if (input.ModelPackageGroupName !== this.scenario.groupName) throw new SdkError('sagemaker', 'ValidationException', 'no such group');
    let versions = this.approval
      .map((a, i) => ({ n: i + 1, ...a }))
      .filter((v) => input.ModelApprovalStatus === undefined || v.status === input.ModelApprovalStatus);
    // SageMaker's default order is Ascending (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ListModelPackages.html).
    if (input.SortOrder === 'Descending') versions = versions.reverse();
    if (typeof input.MaxResults === 'number') versions = versions.slice(0, input.MaxResults);
    return {
      ModelPackageSummaryList: versions.map((v) => ({
        ModelPackageGroupName: this.scenario.groupName,
        ModelPackageVersion: v.n,
        ModelPackageArn: this.versionArn(v.n),
        CreationTime: 1_700_000_000 + v.n,
        ModelPackageStatus: 'Completed',
        ModelApprovalStatus: v.status,
      })),
    };
  }

  private updateModelPackage(input: Record<string, unknown>) {
    const n = this.approval.findIndex((_a, i) => this.versionArn(i + 1) === input.ModelPackageArn);
    if (n < 0) throw new SdkError('sagemaker', 'ValidationException', `no version ${String(input.ModelPackageArn)}`);
    this.approval[n] = { status: String(input.ModelApprovalStatus), description: input.ApprovalDescription as string | undefined };
    return { ModelPackageArn: input.ModelPackageArn };
  }

  private describeEndpoint(input: Record<string, unknown>) {
    if (input.EndpointName !== this.scenario.endpointName)
      throw new SdkError('sagemaker', 'ValidationException', `Could not find endpoint "${String(input.EndpointName)}".`);
    return {
      EndpointName: this.scenario.endpointName,
      EndpointArn: `arn:aws:sagemaker:${REGION}:${ACCOUNT}:endpoint/${this.scenario.endpointName.toLowerCase()}`,
      EndpointConfigName: this.endpointConfig,
      EndpointStatus: 'InService',
      CreationTime: 1_700_000_000,
      LastModifiedTime: 1_700_000_100,
    };
  }

  private requireStack(input: Record<string, unknown>) {
    if (input.StackName !== this.scenario.stackId)
      throw new SdkError('cloudformation', 'ValidationError', `Stack with id ${String(input.StackName)} does not exist`);
  }

  private status(): string {
    if (this.updateLooks.length > 0) {
      const status = this.updateLooks.length > 1 ? this.updateLooks.shift()! : this.updateLooks[0];
      return status;
    }
    return this.statuses.length > 1 ? this.statuses.shift()! : this.statuses[0];
  }

  private describeStacks(input: Record<string, unknown>) {
    this.requireStack(input);
    const status = this.status();
    return {
      Stacks: [
        {
          StackId: this.scenario.stackId,
          StackName: 'DlPlatform-Serving',
          CreationTime: 1_700_000_000,
          StackStatus: status,
          Parameters: [
            { ParameterKey: 'ServedModelPackage', ParameterValue: this.scenario.pointerName, ResolvedValue: this.served },
            { ParameterKey: 'BootstrapVersion', ParameterValue: '/cdk-bootstrap/hnb659fds/version', ResolvedValue: '27' },
          ],
        },
      ],
    };
  }

  private createChangeSet(input: Record<string, unknown>) {
    this.requireStack(input);
    const parameters = input.Parameters as { ParameterKey: string; UsePreviousValue?: boolean; ParameterValue?: string }[];
    for (const key of ['ServedModelPackage', 'BootstrapVersion']) {
      const p = parameters.find((x) => x.ParameterKey === key);
      // Without a parameter the stack has, CloudFormation falls back to its Default: every one must say UsePreviousValue.
      if (!p || p.UsePreviousValue !== true || p.ParameterValue !== undefined) {
        throw new SdkError('cloudformation', 'ValidationError', `Parameter ${key} must use its previous value`);
      }
    }
    if (input.UsePreviousTemplate !== true) throw new SdkError('cloudformation', 'ValidationError', 'a rollout uses the deployed template');
    const id = `arn:aws:cloudformation:${REGION}:${ACCOUNT}:changeSet/${String(input.ChangeSetName)}/${this.changeSets.length}`;
    // The SSM-typed parameter is resolved now, from the pointer.
    this.changeSets.push({
      id,
      name: String(input.ChangeSetName),
      resolvedPointer: this.pointer,
      roleArn: String(input.RoleARN),
      looks: 0,
      deleted: false,
      executed: false,
    });
    return { Id: id, StackId: this.scenario.stackId };
  }

  private changeSet(input: Record<string, unknown>): ChangeSet {
    this.requireStack(input);
    const cs = this.changeSets.find((c) => c.id === input.ChangeSetName || c.name === input.ChangeSetName);
    if (!cs || cs.deleted)
      throw new SdkError('cloudformation', 'ChangeSetNotFoundException', `ChangeSet [${String(input.ChangeSetName)}] does not exist`);
    return cs;
  }

  private changesOf(cs: ChangeSet): ScriptedChange[] {
    const { model, endpointConfig, endpoint } = this.scenario.resources;
    const own: ScriptedChange[] =
      cs.resolvedPointer === this.served || this.scenario.changeSetShowsNothing
        ? []
        : [
            { logicalId: model, type: 'AWS::SageMaker::Model', action: 'Modify' },
            { logicalId: endpointConfig, type: 'AWS::SageMaker::EndpointConfig', action: 'Modify' },
            { logicalId: endpoint, type: 'AWS::SageMaker::Endpoint', action: 'Modify' },
          ];
    return this.scenario.changeSetShowsNothing ? [] : [...own, ...(this.scenario.extraChanges ?? [])];
  }

  private describeChangeSet(input: Record<string, unknown>) {
    const cs = this.changeSet(input);
    cs.looks += 1;
    const changes = this.changesOf(cs);
    const base = { ChangeSetId: cs.id, ChangeSetName: cs.name, StackId: this.scenario.stackId, StackName: 'DlPlatform-Serving' };
    if (cs.looks === 1) return { ...base, Status: 'CREATE_IN_PROGRESS', ExecutionStatus: 'UNAVAILABLE', Changes: [] };
    if (this.scenario.changeSetFailsWith)
      return { ...base, Status: 'FAILED', ExecutionStatus: 'UNAVAILABLE', StatusReason: this.scenario.changeSetFailsWith, Changes: [] };
    if (changes.length === 0) {
      return {
        ...base,
        Status: 'FAILED',
        ExecutionStatus: 'UNAVAILABLE',
        Changes: [],
        StatusReason: "The submitted information didn't contain changes. Submit different information to create a change set.",
      };
    }
    return {
      ...base,
      Status: 'CREATE_COMPLETE',
      ExecutionStatus: 'AVAILABLE',
      Changes: changes.map((c) => ({
        Type: 'Resource',
        ResourceChange: {
          Action: c.action,
          LogicalResourceId: c.logicalId,
          ResourceType: c.type,
          ...(c.action === 'Modify'
            ? { Replacement: c.type === 'AWS::SageMaker::Endpoint' ? 'False' : 'True', Scope: ['Properties'] }
            : {}),
        },
      })),
    };
  }

  private executeChangeSet(input: Record<string, unknown>) {
    const cs = this.changeSet(input);
    if (cs.executed) throw new SdkError('cloudformation', 'InvalidChangeSetStatusException', 'ChangeSet is in EXECUTE_COMPLETE status');
    if (this.scenario.deployRacesExecution && !this.raced) {
      this.raced = true;
      this.served = this.pointer;
      this.deployedConfig = this.endpointConfig = `endpoint-config-${this.nextConfig++}`;
      throw new SdkError(
        'cloudformation',
        'InvalidChangeSetStatusException',
        `ChangeSet [${cs.id}] cannot be executed in its current status of [OBSOLETE]`,
      );
    }
    cs.executed = true;
    const ends = this.scenario.updateEnds ?? 'UPDATE_COMPLETE';
    this.updateLooks =
      ends === 'UPDATE_COMPLETE' ? ['UPDATE_IN_PROGRESS', ends] : ['UPDATE_IN_PROGRESS', 'UPDATE_ROLLBACK_IN_PROGRESS', ends];
    if (ends === 'UPDATE_COMPLETE') {
      this.served = cs.resolvedPointer;
      this.deployedConfig = `endpoint-config-${this.nextConfig++}`;
      if (!this.scenario.endpointKeepsOldConfig) this.endpointConfig = this.deployedConfig;
    }
    return {};
  }

  private describeStackResource(input: Record<string, unknown>) {
    this.requireStack(input);
    if (input.LogicalResourceId !== this.scenario.resources.endpointConfig) {
      throw new SdkError('cloudformation', 'ValidationError', `Resource ${String(input.LogicalResourceId)} does not exist for stack`);
    }
    return {
      StackResourceDetail: {
        StackId: this.scenario.stackId,
        StackName: 'DlPlatform-Serving',
        LogicalResourceId: input.LogicalResourceId,
        PhysicalResourceId: this.deployedConfig,
        ResourceType: 'AWS::SageMaker::EndpointConfig',
        LastUpdatedTimestamp: 1_700_000_200,
        ResourceStatus: 'UPDATE_COMPLETE',
      },
    };
  }
}
