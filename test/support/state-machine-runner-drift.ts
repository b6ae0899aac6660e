/**
 * Synthesized state machines, validated and run offline: the definition resolved from its template the way
 * CloudFormation would for one stack instance (cfn-template.ts), checked by asl-validator (the Amazon States
 * Language's JSON schemas), and executed by aws-local-stepfunctions, with each Task state answered by a local
 * handler the test gives (a stand-in that checks its request against the service's API model, or a real handler).
 */
import { StateMachine } from 'aws-local-stepfunctions';
import { CfnTemplate, Instance, resolve } from './cfn-template';

/** asl-validator 4 ships no type declarations: its entry point, as its README describes it. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const aslValidator: (definition: unknown) => { isValid: boolean; errors?: { message?: string }[] | null } = require('asl-validator');

/** The definition of the template's state machine `logicalId`, resolved for `instance`. */
export function stateMachineDefinition(template: CfnTemplate, logicalId: string, instance: Instance): Record<string, unknown> {
  const resource = template.Resources[logicalId];
  if (resource?.Type !== 'AWS::StepFunctions::StateMachine') throw new Error(`${logicalId} is not a state machine of the template`);
  const text = resolve(template, resource.Properties?.DefinitionString, instance);
  if (typeof text !== 'string') throw new Error(`${logicalId}'s DefinitionString does not resolve to a string`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** What asl-validator finds wrong with `definition` (empty when valid). */
export function aslProblems(definition: Record<string, unknown>): string[] {
  const { isValid, errors } = aslValidator(definition);
  return isValid ? [] : (errors ?? []).map((e) => String(e.message));
}

/** A local answer to a Task state: receives the state's effective input (its Parameters applied). */
export type TaskHandler = (input: Record<string, unknown>) => Promise<unknown> | unknown;

/** One execution: its output, and the states it entered, in order. */
export interface LocalExecution {
  readonly output: unknown;
  readonly states: string[];
}

/** Runs `definition` on `input`, every Task state answered by `handlers` (a Task without one fails the run). */
export async function runStateMachine(
  definition: Record<string, unknown>, input: unknown, handlers: Record<string, TaskHandler>, context: Record<string, unknown> = {},
): Promise<LocalExecution> {
  const states = definition.States as Record<string, { Type: string }>;
  const missing = Object.entries(states).filter(([name, s]) => s.Type === 'Task' && !handlers[name]).map(([name]) => name);
  if (missing.length > 0) throw new Error(`no local handler for Task state(s) ${missing.join(', ')}`);
  const machine = new StateMachine(definition as never, { validationOptions: { checkArn: true, checkPaths: true } });
  const entered: string[] = [];
  const execution = machine.run(input as never, {
    overrides: { taskResourceLocalHandlers: handlers as never },
    context: { Execution: { Name: 'local-execution', Input: input as never, StartTime: new Date().toISOString() }, ...context } as never,
  });
  const logs = (async () => {
    for await (const event of execution.eventLogs) {
      const e = event as { type: string; state?: { name: string } };
      if (e.type === 'StateEntered' && e.state) entered.push(e.state.name);
    }
  })();
  const output = await execution.result;
  await logs;
  return { output, states: entered };
}
