/**
 * A synthesized state machine, as CloudFormation would create it, checked and run on this machine: its
 * DefinitionString evaluated in its stack (Refs and GetAtts resolved by cfn-evaluator.ts to the names a
 * deployment would give), validated against the Amazon States Language with asl-validator, and executed with
 * aws-local-stepfunctions, each Task state mapped to a local handler (the real handler code, or a stand-in that
 * checks requests against the service's API model).
 */
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { StateMachine } from 'aws-local-stepfunctions';
import { CfnDeployment } from './cfn-evaluator';

// asl-validator 4.0.0 ships CommonJS without types: validator(definition, options) -> { isValid, errors }.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const aslValidator = require('asl-validator') as (definition: unknown, options?: { checkPaths?: boolean; checkArn?: boolean }) => {
  isValid: boolean; errors: { message?: string; 'Error code'?: string; path?: string }[];
};

export type Definition = { StartAt: string; States: Record<string, Record<string, unknown>> };

/** The definition of the state machine in `stack` whose definition names state `stateName`, evaluated as deployed. */
export function deployedDefinition(stacks: Stack[], stack: Stack, stateName: string): Definition {
  const deployment = new CfnDeployment(stacks.map((s) => ({ stackName: s.stackName, template: Template.fromStack(s).toJSON() as never })));
  const template = Template.fromStack(stack).toJSON() as { Resources: Record<string, { Type: string; Properties: { DefinitionString: unknown } }> };
  const found = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine'
    // The definition is a string in the template: its quotes arrive escaped.
    && JSON.stringify(r.Properties.DefinitionString).includes(`\\"${stateName}\\"`));
  if (found.length !== 1) throw new Error(`${found.length} state machines in ${stack.stackName} name a state ${stateName}`);
  const [id, resource] = found[0];
  const text = deployment.stack(stack.stackName).evaluate(resource.Properties.DefinitionString, `Resources.${id}.Properties.DefinitionString`);
  return JSON.parse(text as string) as Definition;
}

/** asl-validator's findings on the definition (empty when it is valid ASL), paths and ARNs checked. */
export function aslProblems(definition: Definition): string[] {
  // The validator writes defaults into what it checks: give it a copy.
  const { isValid, errors } = aslValidator(JSON.parse(JSON.stringify(definition)), { checkPaths: true, checkArn: true });
  return isValid ? [] : errors.map((e) => `${e.path ?? ''} ${e['Error code'] ?? ''} ${e.message ?? JSON.stringify(e)}`.trim());
}

/** A task handler: receives the state's effective input (after Parameters), returns its result, or throws. */
export type TaskHandler = (input: never) => Promise<unknown>;

export interface LocalRun {
  /** The execution's output (Succeed), or undefined when it failed. */
  readonly output?: Record<string, unknown>;
  /** The failure's error and cause, when it failed. */
  readonly error?: { readonly name: string; readonly message: string };
  /** Every state entered, in order. */
  readonly states: string[];
}

/** An error as Step Functions names it: `name` is what Catch and Fail see as Error. */
export function stateError(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

/**
 * Runs `definition` on this machine with `input`; every Task state must have a handler (a task left unmapped
 * would call AWS). `context` is the context object's execution and state machine.
 */
export async function runLocally(definition: Definition, input: unknown, handlers: Record<string, TaskHandler>,
  context: { executionArn: string; startTime: string; stateMachineArn: string }): Promise<LocalRun> {
  const tasks = Object.entries(definition.States).filter(([, s]) => s.Type === 'Task').map(([name]) => name);
  const unmapped = tasks.filter((t) => !handlers[t]);
  if (unmapped.length > 0) throw new Error(`Task states without a local handler: ${unmapped.join(', ')}`);
  const machine = new StateMachine(definition as never, { validationOptions: { checkArn: true, checkPaths: true } });
  const execution = machine.run(input as never, {
    overrides: { taskResourceLocalHandlers: handlers as never, retryIntervalOverrides: Object.fromEntries(tasks.map((t) => [t, 0])) },
    context: {
      Execution: { Id: context.executionArn, Name: context.executionArn.split(':').pop()!, StartTime: context.startTime, Input: input as never, RoleArn: 'arn:aws:iam::111122223333:role/local' },
      StateMachine: { Id: context.stateMachineArn, Name: context.stateMachineArn.split(':').pop()! },
    } as never,
  });
  const states: string[] = [];
  const logging = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type === 'StateEntered') states.push((event as { state: { name: string } }).state.name);
    }
  })();
  try {
    const output = await execution.result as Record<string, unknown>;
    await logging;
    return { output, states };
  } catch (e) {
    await logging.catch(() => undefined);
    const error = e as { name?: string; message?: string; cause?: { name?: string; message?: string } };
    const cause = error.cause ?? error;
    return { error: { name: String(cause.name), message: String(cause.message) }, states };
  }
}
