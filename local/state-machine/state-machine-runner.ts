/**
 * A synthesized Step Functions state machine, checked and run on this machine: its DefinitionString taken out of
 * the template and evaluated as CloudFormation would deploy it (cfn-evaluator.ts's CfnDeployment of all stacks),
 * validated as Amazon States Language by asl-validator 4.0.0, and executed by aws-local-stepfunctions 3.0.0 with
 * every Task state, nested Map and Parallel states included, answered by a local handler (the real handler code,
 * or a stand-in that checks requests against the service's API model). Wait states and retry intervals take no time.
 * Used by the state-machine tests and by `npm run local -- --retrain` (local/retrain/); no test-framework dependency.
 */
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { StateMachine } from 'aws-local-stepfunctions';

import { CfnDeployment, CfnStack } from './cfn-evaluator';

// asl-validator 4.0.0 ships CommonJS without types: validator(definition, options) -> { isValid, errors }.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const aslValidator = require('asl-validator') as (
  definition: unknown,
  options?: { checkPaths?: boolean; checkArn?: boolean },
) => {
  isValid: boolean;
  errors: { message?: string; 'Error code'?: string; path?: string }[] | null;
};

/** An ASL definition. */
export type Definition = Record<string, unknown> & { StartAt: string; States: Record<string, Record<string, unknown>> };

/** The part of a template this module reads. */
type TemplateJson = { Resources?: Record<string, { Type: string; Properties?: Record<string, unknown> }> };

/**
 * A copy of plain JSON. Not structuredClone: under jest its objects come from another realm, and
 * aws-local-stepfunctions then silently skips resolving paths in nested Parameters (its plain-object check fails).
 */
export function copyOf<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** The stacks as one deployment evaluates them (cfn-evaluator.ts); `ssmValues`: what SSM parameters hold, by name. */
export function deploymentOf(
  stacks: Stack[],
  environment?: { account: string; region: string },
  ssmValues?: Record<string, string>,
): CfnDeployment {
  return new CfnDeployment(
    stacks.map((s) => ({ stackName: s.stackName, template: Template.fromStack(s).toJSON() as never })),
    environment,
    ssmValues,
  );
}

/** The logical id of the template's one state machine that has a state named `stateName`. */
export function stateMachineWith(template: TemplateJson, stateName: string): string {
  const ids = Object.entries(template.Resources ?? {})
    // The definition is a string in the template: a state's name arrives in escaped quotes.
    .filter(
      ([, r]) =>
        r.Type === 'AWS::StepFunctions::StateMachine' && JSON.stringify(r.Properties?.DefinitionString).includes(`\\"${stateName}\\"`),
    )
    .map(([id]) => id);
  if (ids.length !== 1) throw new Error(`expected one state machine with a state "${stateName}", found ${ids.length}`);
  return ids[0];
}

/**
 * The definition of the deployed stack's one state machine that has a state `stateName`, its DefinitionString
 * evaluated as CloudFormation would. A value the evaluation cannot know (an SSM parameter's value not given to
 * the deployment, a custom resource's attribute) fails here rather than run as a made-up name.
 */
export function definitionOf(stack: CfnStack, stateName: string): Definition {
  const id = stateMachineWith(stack.template, stateName);
  const text = stack.evaluate(stack.template.Resources![id].Properties?.DefinitionString, `Resources.${id}.Properties.DefinitionString`);
  if (typeof text !== 'string') throw new Error(`${stack.name}/${id}: DefinitionString does not evaluate to a string`);
  const unknown = text.match(/\{\{(ssm|opaque):[^}]*\}\}/g);
  if (unknown)
    throw new Error(`${stack.name}/${id}: the definition holds values the deployment does not know: ${[...new Set(unknown)].join(', ')}`);
  return JSON.parse(text) as Definition;
}

/** asl-validator's findings on the definition (empty when it is valid ASL), paths and ARNs checked. */
export function aslProblems(definition: Definition): string[] {
  // The validator writes defaults (QueryLanguage) into what it checks: give it a copy.
  const { isValid, errors } = aslValidator(copyOf(definition), { checkPaths: true, checkArn: true });
  return isValid ? [] : (errors ?? []).map((e) => `${e.path ?? ''} ${e['Error code'] ?? ''} ${e.message ?? JSON.stringify(e)}`.trim());
}

/** Every state of the definition with its name, the states of nested Map and Parallel states included. */
export function allStates(definition: { States: Record<string, Record<string, unknown>> }): [string, Record<string, unknown>][] {
  return Object.entries(definition.States).flatMap(([name, state]) => {
    const nested = [state.ItemProcessor, state.Iterator, ...((state.Branches as unknown[]) ?? [])].filter(
      (d): d is Definition => typeof d === 'object' && d !== null,
    );
    return [[name, state] as [string, Record<string, unknown>], ...nested.flatMap((d) => allStates(d))];
  });
}

/** A Task state's local answer: receives the state's effective input (its Parameters applied), returns or throws. */
export type TaskHandler = (input: never) => Promise<unknown> | unknown;

/** An error as Step Functions names it: `name` is what Catch, Retry and Fail see as Error, `message` the Cause. */
export function stateError(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

/** How an execution ended, in DescribeExecution's terms; `states` lists every state entered, in order. */
export type ExecutionOutcome =
  | {
      readonly status: 'SUCCEEDED';
      readonly output: Record<string, unknown>;
      readonly error?: undefined;
      readonly cause?: undefined;
      readonly states: string[];
    }
  | { readonly status: 'FAILED'; readonly output?: undefined; readonly error: string; readonly cause: string; readonly states: string[] };

/**
 * The context object's execution and state machine. The execution's StartTime is not settable:
 * aws-local-stepfunctions 3.0.0 sets it to the run's real start, whatever the context says.
 */
export interface RunContext {
  /** @default an execution `local-execution` of `stateMachineArn` */
  readonly executionArn?: string;
  /** @default arn:aws:states:us-east-1:111122223333:stateMachine:local */
  readonly stateMachineArn?: string;
}

/**
 * Runs `definition` on `input`. Every Task state must have a handler (one without would call AWS); Wait states and
 * retry intervals take no time, and TimeoutSeconds is removed (its timer would outlive the run; the caller bounds runs).
 */
export async function runStateMachine(
  definition: Definition,
  input: unknown,
  handlers: Record<string, TaskHandler>,
  context: RunContext = {},
): Promise<ExecutionOutcome> {
  const states = allStates(definition);
  const tasks = states.filter(([, s]) => s.Type === 'Task').map(([name]) => name);
  const missing = tasks.filter((t) => !handlers[t]);
  if (missing.length > 0) throw new Error(`Task states without a local handler: ${missing.join(', ')}`);
  const runnable = copyOf(definition);
  delete runnable.TimeoutSeconds;
  const stateMachineArn = context.stateMachineArn ?? 'arn:aws:states:us-east-1:111122223333:stateMachine:local';
  const executionArn = context.executionArn ?? `${stateMachineArn.replace(':stateMachine:', ':execution:')}:local-execution`;
  const machine = new StateMachine(runnable as never, { validationOptions: { checkArn: true, checkPaths: true } });
  const execution = machine.run(input as never, {
    overrides: {
      taskResourceLocalHandlers: Object.fromEntries(
        Object.entries(handlers).map(([name, h]) => [name, async (i: unknown) => (await h(i as never)) as never]),
      ),
      waitTimeOverrides: Object.fromEntries(states.filter(([, s]) => s.Type === 'Wait').map(([name]) => [name, 0])),
      retryIntervalOverrides: Object.fromEntries(tasks.map((t) => [t, 0])),
    },
    context: {
      Execution: { Id: executionArn, Name: executionArn.split(':').pop()!, RoleArn: 'arn:aws:iam::111122223333:role/local' },
      StateMachine: { Id: stateMachineArn, Name: stateMachineArn.split(':').pop()! },
    } as never,
  });
  const entered: string[] = [];
  const collect = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type === 'StateEntered' && 'state' in event) entered.push(event.state.name);
    }
  })();
  try {
    const output = (await execution.result) as Record<string, unknown>;
    await collect;
    return { status: 'SUCCEEDED', output, states: entered };
  } catch (e) {
    await collect.catch(() => undefined);
    // The library wraps the state's error: its cause is what the execution failed with.
    const cause = (e as { cause?: { name?: string; message?: string } }).cause ?? (e as Error);
    return { status: 'FAILED', error: String(cause.name ?? 'Error'), cause: String(cause.message ?? ''), states: entered };
  }
}
