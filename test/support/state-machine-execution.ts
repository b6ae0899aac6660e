/**
 * Offline checks of a synthesized Step Functions state machine: its definition out of the template (Refs and
 * attributes resolved to fake ARNs the way CloudFormation resolves them), validated as Amazon States Language by
 * asl-validator, and executed by aws-local-stepfunctions with each Task state mapped to a local handler (a stand-in
 * that checks requests against the service's API model). Wait states and retry intervals take no time.
 */
import { StateMachine } from 'aws-local-stepfunctions';
import { CfnTemplate, Instance, resolve } from './cfn-template';

// asl-validator is CommonJS without types: one function, (definition, options) => { isValid, errors }.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const aslValidator = require('asl-validator') as (definition: unknown) => { isValid: boolean; errors: { message: string; path?: string }[] };

/** An ASL definition. */
export type Definition = Record<string, unknown> & { States: Record<string, Record<string, unknown>> };

/** The definition of the template's state machine `logicalId`, with every reference resolved for `instance`. */
export function definitionOf(template: CfnTemplate, logicalId: string, instance: Instance): Definition {
  const resource = template.Resources[logicalId];
  if (resource?.Type !== 'AWS::StepFunctions::StateMachine') throw new Error(`${logicalId} is not a state machine of the template`);
  return JSON.parse(String(resolve(template, resource.Properties!.DefinitionString, instance))) as Definition;
}

/** The logical id of the template's one state machine whose definition contains `marker`. */
export function stateMachineWith(template: CfnTemplate, marker: string): string {
  const ids = Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine' && JSON.stringify(r.Properties?.DefinitionString).includes(marker))
    .map(([id]) => id);
  if (ids.length !== 1) throw new Error(`expected one state machine containing "${marker}", found ${ids.length}`);
  return ids[0];
}

/** asl-validator's problems with the definition (none: valid). */
export function aslProblems(definition: Definition): string[] {
  const { isValid, errors } = aslValidator(structuredClone(definition));
  return isValid ? [] : errors.map((e) => `${e.path ?? ''} ${e.message}`.trim());
}

/** Every state name of the definition, nested Map and Parallel states included, with its state. */
export function allStates(definition: { States: Record<string, Record<string, unknown>> }): [string, Record<string, unknown>][] {
  return Object.entries(definition.States).flatMap(([name, state]) => {
    const nested = [state.ItemProcessor, state.Iterator, ...((state.Branches as unknown[]) ?? [])]
      .filter((d): d is Definition => typeof d === 'object' && d !== null);
    return [[name, state] as [string, Record<string, unknown>], ...nested.flatMap((d) => allStates(d))];
  });
}

/** A Task state's local stand-in: the request as Step Functions sends it, the response as the service answers. */
export type TaskHandler = (input: Record<string, unknown>) => Promise<unknown> | unknown;

/** How an execution ended. */
export type ExecutionOutcome =
  | { readonly status: 'SUCCEEDED'; readonly output: Record<string, unknown>; readonly states: string[] }
  | { readonly status: 'FAILED'; readonly error: string; readonly cause: string; readonly states: string[] };

/**
 * Runs the definition on `input`. Every Task state must have a handler (a Task without one would call AWS), and
 * the run fails the test if one is missing. `states` lists the states entered, in order.
 */
export async function runStateMachine(definition: Definition, input: unknown, handlers: Record<string, TaskHandler>): Promise<ExecutionOutcome> {
  const tasks = allStates(definition).filter(([, s]) => s.Type === 'Task').map(([n]) => n);
  const missing = tasks.filter((t) => !handlers[t]);
  if (missing.length > 0) throw new Error(`no stand-in for the Task states ${missing.join(', ')}`);
  const waits = Object.fromEntries(allStates(definition).filter(([, s]) => s.Type === 'Wait').map(([n]) => [n, 0]));
  const retries = Object.fromEntries(tasks.map((t) => [t, 0]));
  // The 6-hour TimeoutSeconds would leave a timer behind; the tests bound runs themselves.
  // A copy: the library's validation (asl-validator) writes QueryLanguage into every state it is given.
  const runnable: Record<string, unknown> = structuredClone(definition);
  delete runnable.TimeoutSeconds;
  const machine = new StateMachine(runnable as never, { validationOptions: { checkPaths: true, checkArn: true } });
  const execution = machine.run(input as never, {
    overrides: {
      taskResourceLocalHandlers: Object.fromEntries(Object.entries(handlers).map(([name, h]) => [name, async (i: unknown) => await h(i as Record<string, unknown>) as never])),
      waitTimeOverrides: waits,
      retryIntervalOverrides: retries,
    },
  });
  const states: string[] = [];
  const collect = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type === 'StateEntered' && 'state' in event) states.push(event.state.name);
    }
  })();
  try {
    const output = await execution.result as Record<string, unknown>;
    await collect;
    return { status: 'SUCCEEDED', output, states };
  } catch (e) {
    await collect;
    const cause = (e as { cause?: { name?: string; message?: string } }).cause ?? (e as Error);
    return { status: 'FAILED', error: cause.name ?? 'Error', cause: cause.message ?? '', states };
  }
}
