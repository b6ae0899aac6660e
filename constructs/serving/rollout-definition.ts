/**
 * The rollout reconciler's state machine, in the Amazon States Language (JSONPath), written out rather than built
 * from aws-cdk-lib's task classes: those grant each SDK call on its own, and CreateChangeSet must be granted only
 * with the deploy role (a condition), so every grant is the construct's (rollout-reconciler.ts).
 * SDK integrations: https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html
 * Paths, filters and intrinsic functions: https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-paths.html,
 * https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html
 */
import { Duration } from 'aws-cdk-lib';

/** The logical ids of the only resources a rollout may change. */
export interface RolloutResources {
  readonly model: string;
  readonly endpointConfig: string;
  readonly endpoint: string;
}

/** What the definition names. */
export interface RolloutDefinitionProps {
  /** The serving stack's id (its ARN): every CloudFormation call names it. */
  readonly stackId: string;
  readonly pointerParameterName: string;
  readonly modelPackageGroupName: string;
  readonly endpointName: string;
  readonly deployRoleArn: string;
  readonly resources: RolloutResources;
  readonly pollInterval: Duration;
  readonly maxBusyChecks: number;
}

/** The outcomes an execution ends with: a succeeded execution's output `outcome`, a failed one's error. */
export const ROLLOUT_OUTCOMES = {
  rolledOut: 'RolledOut',
  alreadyServed: 'AlreadyServed',
  noChanges: 'NoChanges',
  nothingApproved: 'NothingApproved',
  rolledBack: 'RolloutRolledBack',
  refused: 'ChangeSetRefused',
  changeSetFailed: 'ChangeSetFailed',
  stackBusy: 'StackBusy',
  stackNotUpdatable: 'StackNotUpdatable',
  firstVersionNeedsDeploy: 'FirstVersionNeedsDeploy',
} as const;

/** The parameter of the serving stack that reads the pointer (served-model-package.ts). */
export const SERVED_PARAMETER = 'ServedModelPackage';

const sdk = (service: string, action: string) => `arn:aws:states:::aws-sdk:${service}:${action}`;
const NEWEST = '$.newest.versions[0].ModelPackageArn';
const SERVED = '$.stack.served[0]';

/** Stack states from which an update may start (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-events.html#cfn-console-view-stack-data-resources-status-codes). */
const UPDATABLE = ['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'UPDATE_ROLLBACK_COMPLETE', 'IMPORT_COMPLETE', 'IMPORT_ROLLBACK_COMPLETE'];

/** The state machine definition (an object with tokens; the construct renders it with the stack's toJsonString). */
export function rolloutDefinition(props: RolloutDefinitionProps): Record<string, unknown> {
  const poll = props.pollInterval.toSeconds();
  const outcome = (name: string) => ({
    Type: 'Pass',
    Parameters: { outcome: name, 'modelPackageArn.$': NEWEST },
    End: true,
  });
  const fail = (error: string, cause: string) => ({ Type: 'Fail', Error: error, Cause: cause });
  const describeStack = (resultPath: string, next: string) => ({
    Type: 'Task',
    Resource: sdk('cloudformation', 'describeStacks'),
    Parameters: { StackName: props.stackId },
    ResultSelector: {
      'status.$': '$.Stacks[0].StackStatus',
      'parameters.$': '$.Stacks[0].Parameters',
      // The version the deployed stack resolved its pointer parameter to: what the endpoint serves.
      'served.$': `$.Stacks[0].Parameters[?(@.ParameterKey == '${SERVED_PARAMETER}')].ResolvedValue`,
    },
    ResultPath: resultPath,
    Next: next,
  });
  const { model, endpointConfig, endpoint } = props.resources;

  return {
    Comment: 'Rolls the endpoint out to the newest Approved model package version through a CloudFormation change set',
    StartAt: 'Newest approved version',
    States: {
      // The default SortOrder is Ascending: Descending and one result is the newest.
      // https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ListModelPackages.html
      'Newest approved version': {
        Type: 'Task',
        Resource: sdk('sagemaker', 'listModelPackages'),
        Parameters: {
          ModelPackageGroupName: props.modelPackageGroupName,
          ModelApprovalStatus: 'Approved',
          SortBy: 'CreationTime',
          SortOrder: 'Descending',
          MaxResults: 1,
        },
        ResultSelector: { 'versions.$': '$.ModelPackageSummaryList' },
        ResultPath: '$.newest',
        Next: 'Anything approved?',
      },
      'Anything approved?': {
        Type: 'Choice',
        Choices: [{ Variable: '$.newest.versions[0]', IsPresent: true, Next: 'Start counting busy checks' }],
        Default: 'Nothing approved',
      },
      'Nothing approved': { Type: 'Pass', Parameters: { outcome: ROLLOUT_OUTCOMES.nothingApproved }, End: true },
      'Start counting busy checks': {
        Type: 'Pass',
        Parameters: { count: 0 },
        ResultPath: '$.busyChecks',
        Next: 'Describe the serving stack',
      },
      'Describe the serving stack': describeStack('$.stack', 'Is the stack busy?'),
      // A deploy in progress (cdk deploy, or another rollout): wait and look again, a bounded number of times.
      'Is the stack busy?': {
        Type: 'Choice',
        Choices: [
          { Variable: '$.stack.status', StringMatches: '*_IN_PROGRESS', Next: 'Busy too long?' },
          { Or: UPDATABLE.map((s) => ({ Variable: '$.stack.status', StringEquals: s })), Next: 'Already served?' },
        ],
        Default: 'Stack not updatable',
      },
      'Busy too long?': {
        Type: 'Choice',
        Choices: [{ Variable: '$.busyChecks.count', NumericGreaterThanEquals: props.maxBusyChecks, Next: 'Stack busy for too long' }],
        Default: 'Wait for the stack',
      },
      'Wait for the stack': { Type: 'Wait', Seconds: poll, Next: 'Count a busy check' },
      'Count a busy check': {
        Type: 'Pass',
        Parameters: { 'count.$': 'States.MathAdd($.busyChecks.count, 1)' },
        ResultPath: '$.busyChecks',
        Next: 'Describe the serving stack',
      },
      'Stack busy for too long': fail(
        ROLLOUT_OUTCOMES.stackBusy,
        `The serving stack stayed busy (an update in progress) through ${props.maxBusyChecks} checks; nothing was changed. Start the rollout again once it is done.`,
      ),
      'Stack not updatable': fail(
        ROLLOUT_OUTCOMES.stackNotUpdatable,
        'The serving stack is in a state no update can start from (a failed rollback or deletion); nothing was changed.',
      ),
      'Already served?': {
        Type: 'Choice',
        Choices: [
          { Not: { Variable: SERVED, IsPresent: true }, Next: 'Stack not updatable' },
          { Variable: SERVED, StringEqualsPath: NEWEST, Next: 'Already served' },
        ],
        Default: 'Move the pointer',
      },
      'Already served': outcome(ROLLOUT_OUTCOMES.alreadyServed),
      // The one writer of the pointer after an approval: the change set's SSM-typed parameter re-reads it.
      'Move the pointer': {
        Type: 'Task',
        Resource: sdk('ssm', 'putParameter'),
        Parameters: { Name: props.pointerParameterName, 'Value.$': NEWEST, Type: 'String', Overwrite: true },
        ResultPath: null,
        Next: 'Is an endpoint deployed?',
      },
      // "none": the first deploy in manual mode left no endpoint. Creating it adds autoscaling and changes the API's
      // proxy, more than a rollout's role may change: the pointer now names the version, the next deploy serves it.
      'Is an endpoint deployed?': {
        Type: 'Choice',
        Choices: [{ Variable: SERVED, StringEquals: 'none', Next: 'First version needs a deploy' }],
        Default: 'Keep every parameter',
      },
      'First version needs a deploy': fail(
        ROLLOUT_OUTCOMES.firstVersionNeedsDeploy,
        'No endpoint is deployed yet (no version was approved at the last deploy). The pointer now names the approved version: ' +
          'run cdk deploy of the serving stack once to create the endpoint; later approvals roll out by themselves.',
      ),
      'Keep every parameter': {
        Type: 'Map',
        ItemsPath: '$.stack.parameters',
        ItemProcessor: {
          StartAt: 'Use the previous value',
          States: {
            'Use the previous value': {
              Type: 'Pass',
              Parameters: { 'ParameterKey.$': '$.ParameterKey', UsePreviousValue: true },
              End: true,
            },
          },
        },
        ResultPath: '$.previousParameters',
        Next: 'Create the change set',
      },
      // The deployed template with every parameter as it is: the SSM-typed pointer parameter is resolved anew
      // (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_Parameter.html, UsePreviousValue and
      // ResolvedValue). RoleARN: CloudFormation runs the change set with the deploy role and keeps it for later
      // operations on the stack until another is passed, as `cdk deploy` passes its own
      // (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html).
      'Create the change set': {
        Type: 'Task',
        Resource: sdk('cloudformation', 'createChangeSet'),
        Parameters: {
          StackName: props.stackId,
          'ChangeSetName.$': "States.Format('rollout-{}', States.UUID())",
          ChangeSetType: 'UPDATE',
          UsePreviousTemplate: true,
          'Parameters.$': '$.previousParameters',
          RoleARN: props.deployRoleArn,
          Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'],
          'Description.$': "States.Format('Rollout of {}', $.newest.versions[0].ModelPackageArn)",
        },
        ResultSelector: { 'id.$': '$.Id' },
        ResultPath: '$.changeSet',
        Next: 'Wait for the change set',
      },
      'Wait for the change set': { Type: 'Wait', Seconds: Math.min(poll, 10), Next: 'Describe the change set' },
      'Describe the change set': {
        Type: 'Task',
        Resource: sdk('cloudformation', 'describeChangeSet'),
        Parameters: { StackName: props.stackId, 'ChangeSetName.$': '$.changeSet.id' },
        ResultPath: '$.described',
        Next: 'Change set ready?',
      },
      // A change set with nothing to change fails with a reason that says so; it is success, not an error. AWS
      // documents no code for it, only that StatusReason holds CloudFormation's message
      // (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeChangeSet.html); both texts
      // CloudFormation is known to answer are matched (as SDK users report, e.g. ansible-collections/amazon.aws#507).
      'Change set ready?': {
        Type: 'Choice',
        Choices: [
          {
            Or: [
              { Variable: '$.described.Status', StringEquals: 'CREATE_PENDING' },
              { Variable: '$.described.Status', StringEquals: 'CREATE_IN_PROGRESS' },
            ],
            Next: 'Wait for the change set',
          },
          {
            And: [
              { Variable: '$.described.Status', StringEquals: 'FAILED' },
              { Variable: '$.described.StatusReason', IsPresent: true },
              {
                Or: [
                  { Variable: '$.described.StatusReason', StringMatches: "*didn't contain changes*" },
                  { Variable: '$.described.StatusReason', StringMatches: 'No updates are to be performed*' },
                ],
              },
            ],
            Next: 'Delete the empty change set',
          },
          { Variable: '$.described.Status', StringEquals: 'CREATE_COMPLETE', Next: 'More than one page of changes?' },
        ],
        Default: 'Change set failed',
      },
      'Delete the empty change set': {
        Type: 'Task',
        Resource: sdk('cloudformation', 'deleteChangeSet'),
        Parameters: { StackName: props.stackId, 'ChangeSetName.$': '$.changeSet.id' },
        ResultPath: null,
        Next: 'No changes',
      },
      'No changes': outcome(ROLLOUT_OUTCOMES.noChanges),
      'Change set failed': fail(
        ROLLOUT_OUTCOMES.changeSetFailed,
        "CloudFormation could not create the rollout's change set (its reason is in the execution history); nothing was executed. " +
          'The pointer names the approved version: the next deploy of the serving stack serves it.',
      ),
      // Over 100 changes is never a rollout's three.
      'More than one page of changes?': {
        Type: 'Choice',
        Choices: [{ Variable: '$.described.NextToken', IsPresent: true, Next: 'Delete the refused change set' }],
        Default: 'Check each change',
      },
      // Only the model and endpoint config (replaced) and the endpoint (updated in place) may change.
      'Check each change': {
        Type: 'Map',
        ItemsPath: '$.described.Changes',
        ItemProcessor: {
          StartAt: 'Allowed change?',
          States: {
            'Allowed change?': {
              Type: 'Choice',
              Choices: [
                {
                  And: [
                    { Variable: '$.Type', StringEquals: 'Resource' },
                    { Variable: '$.ResourceChange.Action', StringEquals: 'Modify' },
                    {
                      Or: [model, endpointConfig, endpoint].map((id) => ({
                        Variable: '$.ResourceChange.LogicalResourceId',
                        StringEquals: id,
                      })),
                    },
                  ],
                  Next: 'Allowed',
                },
              ],
              Default: 'Not allowed',
            },
            Allowed: { Type: 'Pass', End: true },
            'Not allowed': { Type: 'Fail', Error: 'UnexpectedChange', Cause: 'The change set changes a resource a rollout may not change' },
          },
        },
        ResultPath: null,
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.refusal', Next: 'Delete the refused change set' }],
        Next: 'Execute the change set',
      },
      'Delete the refused change set': {
        Type: 'Task',
        Resource: sdk('cloudformation', 'deleteChangeSet'),
        Parameters: { StackName: props.stackId, 'ChangeSetName.$': '$.changeSet.id' },
        ResultPath: null,
        Next: 'Change set refused',
      },
      'Change set refused': fail(
        ROLLOUT_OUTCOMES.refused,
        `The change set would change more than the model (${model}), endpoint config (${endpointConfig}) and endpoint (${endpoint}); ` +
          'it was deleted, nothing was executed. The pointer names the approved version: review the drift, then deploy the serving stack.',
      ),
      // Another update got there first (a cdk deploy): the change set is obsolete; look at the stack again. An SDK
      // integration's error is `<Service>.<Exception>`
      // (https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html#use-awssdk-integ-handle-exception);
      // the exception: https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ExecuteChangeSet.html
      'Execute the change set': {
        Type: 'Task',
        Resource: sdk('cloudformation', 'executeChangeSet'),
        Parameters: { StackName: props.stackId, 'ChangeSetName.$': '$.changeSet.id' },
        ResultPath: null,
        Catch: [
          { ErrorEquals: ['CloudFormation.InvalidChangeSetStatusException'], ResultPath: '$.executeError', Next: 'Count a busy check' },
        ],
        Next: 'Wait for the update',
      },
      'Wait for the update': { Type: 'Wait', Seconds: poll, Next: 'Describe the update' },
      'Describe the update': describeStack('$.update', 'Update done?'),
      'Update done?': {
        Type: 'Choice',
        Choices: [
          { Variable: '$.update.status', StringMatches: '*_IN_PROGRESS', Next: 'Wait for the update' },
          { Variable: '$.update.status', StringEquals: 'UPDATE_COMPLETE', Next: 'Which endpoint config is deployed?' },
        ],
        Default: 'Note the rollback',
      },
      // CloudFormation's report of a blue/green rollback that SageMaker's alarms triggered is not documented:
      // the endpoint itself must serve the config the stack now holds.
      'Which endpoint config is deployed?': {
        Type: 'Task',
        Resource: sdk('cloudformation', 'describeStackResource'),
        Parameters: { StackName: props.stackId, LogicalResourceId: endpointConfig },
        ResultSelector: { 'name.$': '$.StackResourceDetail.PhysicalResourceId' },
        ResultPath: '$.deployedConfig',
        Next: 'Which config does the endpoint serve?',
      },
      'Which config does the endpoint serve?': {
        Type: 'Task',
        Resource: sdk('sagemaker', 'describeEndpoint'),
        Parameters: { EndpointName: props.endpointName },
        ResultSelector: { 'config.$': '$.EndpointConfigName', 'status.$': '$.EndpointStatus' },
        ResultPath: '$.endpoint',
        Next: 'Serves the new config?',
      },
      'Serves the new config?': {
        Type: 'Choice',
        Choices: [{ Variable: '$.endpoint.config', StringEqualsPath: '$.deployedConfig.name', Next: 'Rolled out' }],
        Default: 'Note the kept config',
      },
      'Rolled out': outcome(ROLLOUT_OUTCOMES.rolledOut),
      'Note the rollback': {
        Type: 'Pass',
        Parameters: { 'text.$': "States.Format('the serving stack update ended in {}', $.update.status)" },
        ResultPath: '$.reason',
        Next: 'Reject the version',
      },
      'Note the kept config': {
        Type: 'Pass',
        Parameters: {
          'text.$':
            "States.Format('the endpoint serves endpoint config {}, not the deployed {}: its deployment rolled back', $.endpoint.config, $.deployedConfig.name)",
        },
        ResultPath: '$.reason',
        Next: 'Reject the version',
      },
      'Reject the version': {
        Type: 'Task',
        Resource: sdk('sagemaker', 'updateModelPackage'),
        Parameters: {
          'ModelPackageArn.$': NEWEST,
          ModelApprovalStatus: 'Rejected',
          'ApprovalDescription.$': "States.Format('Rejected by the rollout: {}', $.reason.text)",
        },
        ResultPath: null,
        Next: 'Restore the pointer',
      },
      'Restore the pointer': {
        Type: 'Task',
        Resource: sdk('ssm', 'putParameter'),
        Parameters: { Name: props.pointerParameterName, 'Value.$': SERVED, Type: 'String', Overwrite: true },
        ResultPath: null,
        Next: 'Rollout rolled back',
      },
      'Rollout rolled back': fail(
        ROLLOUT_OUTCOMES.rolledBack,
        'The rollout rolled back: the version is Rejected (its approval description says why), the pointer names the version served before.',
      ),
    },
  };
}
