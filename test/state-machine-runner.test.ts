/**
 * The state-machine test runner (local/state-machine/state-machine-runner.ts) on small hand-made definitions: handlers for
 * nested Task states, Wait and retry intervals taking no time, the context object, both outcomes, and definitions
 * that hold values the deployment cannot know.
 */
import { CfnDeployment } from '../local/state-machine/cfn-evaluator';
import { aslProblems, Definition, definitionOf, runStateMachine, stateError } from '../local/state-machine/state-machine-runner';

const LAMBDA = 'arn:aws:states:::lambda:invoke';

/** A Parallel state whose branch has a Map of a Task, a day-long Wait, and a Task retried with an hour's interval. */
const definition: Definition = {
  StartAt: 'Both',
  TimeoutSeconds: 3600,
  States: {
    Both: {
      Type: 'Parallel',
      End: true,
      Branches: [
        {
          StartAt: 'Each',
          States: {
            Each: {
              Type: 'Map',
              ItemsPath: '$.items',
              ItemProcessor: {
                ProcessorConfig: { Mode: 'INLINE' },
                StartAt: 'Double',
                States: { Double: { Type: 'Task', Resource: LAMBDA, End: true } },
              },
              End: true,
            },
          },
        },
        {
          StartAt: 'Pause',
          States: {
            Pause: { Type: 'Wait', Seconds: 86400, Next: 'Who' },
            Who: {
              Type: 'Task',
              Resource: LAMBDA,
              Parameters: { 'execution.$': '$$.Execution.Id', nested: { 'machine.$': '$$.StateMachine.Id' } },
              Retry: [{ ErrorEquals: ['Flaky'], IntervalSeconds: 3600, MaxAttempts: 2 }],
              End: true,
            },
          },
        },
      ],
    },
  },
};

describe('runStateMachine', () => {
  test('every Task state needs a handler, nested ones included', async () => {
    await expect(runStateMachine(definition, { items: [] }, { Who: () => ({}) })).rejects.toThrow(
      'Task states without a local handler: Double',
    );
  });

  test('runs nested states; Wait and retry intervals take no time; the context object is the one given, nested Parameters resolved', async () => {
    let calls = 0;
    const started = Date.now();
    const outcome = await runStateMachine(
      definition,
      { items: [1, 2] },
      {
        Double: (n: number) => n * 2,
        Who: (input: Record<string, unknown>) => {
          if (++calls === 1) throw stateError('Flaky', 'once');
          return input;
        },
      },
      {
        executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:m:run-1',
        stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:m',
      },
    );
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(outcome).toEqual({
      status: 'SUCCEEDED',
      output: [
        [2, 4],
        {
          execution: 'arn:aws:states:eu-west-1:123456789012:execution:m:run-1',
          nested: { machine: 'arn:aws:states:eu-west-1:123456789012:stateMachine:m' },
        },
      ],
      states: expect.arrayContaining(['Both', 'Each', 'Double', 'Pause', 'Who']),
    });
    expect(calls).toBe(2);
  });

  test("a failure is an outcome: the error's name and cause, and the states entered", async () => {
    const outcome = await runStateMachine(
      definition,
      { items: [1] },
      {
        Double: () => {
          throw stateError('Broken', 'no doubling today');
        },
        Who: () => ({}),
      },
    );
    expect(outcome).toMatchObject({ status: 'FAILED', error: 'Broken', cause: 'no doubling today' });
    expect(outcome.states).toEqual(expect.arrayContaining(['Both', 'Each', 'Double']));
  });

  test('the definition given is not changed, and is valid ASL', async () => {
    const before = JSON.stringify(definition);
    expect(aslProblems(definition)).toEqual([]);
    await runStateMachine(definition, { items: [] }, { Double: () => 0, Who: () => ({}) });
    expect(JSON.stringify(definition)).toBe(before);
    expect(aslProblems({ StartAt: 'Nowhere', States: {} })).not.toEqual([]);
  });
});

describe('definitionOf', () => {
  const machine = (text: unknown) =>
    new CfnDeployment(
      [
        {
          stackName: 'S',
          template: {
            Parameters: { Pointer: { Type: 'AWS::SSM::Parameter::Value<String>', Default: '/app/pointer' } },
            Resources: { Machine: { Type: 'AWS::StepFunctions::StateMachine', Properties: { DefinitionString: text } } },
          },
        },
      ],
      undefined,
      { '/app/known': 'unused' },
    ).stack('S');

  test('evaluates the definition of the state machine with the named state', () => {
    const text = {
      'Fn::Join': ['', ['{"StartAt":"Go","States":{"Go":{"Type":"Pass","Result":"', { Ref: 'AWS::Region' }, '","End":true}}}']],
    };
    expect(definitionOf(machine(text), 'Go').States.Go.Result).toBe('us-east-2');
    expect(() => definitionOf(machine(text), 'Stop')).toThrow('expected one state machine with a state "Stop", found 0');
  });

  test('refuses a definition holding a value the deployment does not know', () => {
    const text = { 'Fn::Join': ['', ['{"StartAt":"Go","States":{"Go":{"Type":"Pass","Result":"', { Ref: 'Pointer' }, '","End":true}}}']] };
    expect(() => definitionOf(machine(text), 'Go')).toThrow(
      'S/Machine: the definition holds values the deployment does not know: {{ssm:/app/pointer}}',
    );
  });
});
