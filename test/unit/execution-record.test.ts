/**
 * An execution as console.sqlite keeps it: each state's input stored once, where the workflow handed the same object
 * on, and every event read back as it was logged.
 */
import { randomBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from '@jest/globals';
import { decodeExecution, encodeExecution, storedJson } from '../../local/console/execution-record.js';
import type { EventLog, RecordedExecution } from '../../local/stepfunctions/execution-history.js';

/**
 * A run as aws-local-stepfunctions logs it: one object handed from state to state, a Choice, a retry, a caught failure.
 */
function loggedRun(): RecordedExecution {
  const started = { requestId: 'r1', body: 'e30=' };
  const first = { requestId: 'r1', body: 'e30=' }; // the library's clone of the execution's input
  const validated = { ...first, validation: { Payload: { valid: true } } };
  const caught = { ...validated, persisted: { Error: 'States.Timeout' } };
  const answer = { statusCode: 202, body: '{}' };
  const copied = structuredClone(caught);
  const events: EventLog[] = [
    { type: 'ExecutionStarted', timestamp: 1, input: started },
    { type: 'StateEntered', timestamp: 2, state: { name: 'Validate', type: 'Task', input: first } },
    { type: 'StateExited', timestamp: 3, state: { name: 'Validate', type: 'Task', input: first, output: validated } },
    // A Choice state puts out its very input.
    { type: 'StateEntered', timestamp: 3, state: { name: 'IsValid', type: 'Choice', input: validated } },
    {
      type: 'StateExited',
      timestamp: 3,
      state: { name: 'IsValid', type: 'Choice', input: validated, output: validated },
    },
    { type: 'StateEntered', timestamp: 4, state: { name: 'Persist', type: 'Task', input: validated } },
    {
      type: 'StateFailed',
      timestamp: 5,
      state: { name: 'Persist', type: 'Task', input: validated },
      Error: 'States.Timeout',
      Cause: 'slow',
    },
    {
      type: 'StateRetried',
      timestamp: 6,
      state: { name: 'Persist', type: 'Task', input: validated },
      retry: { retrier: { ErrorEquals: ['States.Timeout'] }, attempt: 1 },
    },
    {
      type: 'StateCaught',
      timestamp: 7,
      state: { name: 'Persist', type: 'Task', input: validated },
      catch: { catcher: { ErrorEquals: ['States.ALL'], Next: 'Respond' } },
    },
    { type: 'StateExited', timestamp: 8, state: { name: 'Persist', type: 'Task', input: validated, output: caught } },
    // An input equal to what came before but not the same object (a Pass state's Parameters): stored whole.
    { type: 'StateEntered', timestamp: 9, state: { name: 'Respond', type: 'Pass', input: copied } },
    { type: 'StateExited', timestamp: 10, state: { name: 'Respond', type: 'Pass', input: copied, output: answer } },
    { type: 'ExecutionSucceeded', timestamp: 11, output: answer },
  ];
  return {
    name: 'r1',
    arn: 'arn:aws:states:local:000000000000:express:order-intake:r1',
    stateMachineArn: 'arn:aws:states:local:000000000000:stateMachine:order-intake',
    status: 'SUCCEEDED',
    startedAt: 1,
    stoppedAt: 11,
    events,
    taskCalls: [{ state: 'Validate', parameters: { Payload: first }, result: { Payload: { valid: true } } }],
  };
}

interface Stored {
  events: { state?: object }[];
  carriedInputs?: number[];
  outputsAsInput?: number[];
}
const stored = (record: Buffer): Stored => JSON.parse(storedJson(record)) as Stored;

describe('an execution as the console stores it', () => {
  it('reads back every event as it was logged, each state input in its place', () => {
    const execution = loggedRun();
    expect(decodeExecution(encodeExecution(execution))).toEqual(JSON.parse(JSON.stringify(execution)));
  });

  it('stores an input once where the workflow handed the same object on, and whole where it is another object', () => {
    const record = stored(encodeExecution(loggedRun()));
    // Validate's exit, IsValid's entry and exit, Persist's entry, failure, retry, catch and exit, Respond's exit; not
    // the first entry (the library's clone of the execution's input), nor Respond's entry (an equal value, another
    // object).
    expect(record.carriedInputs).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 11]);
    for (const index of record.carriedInputs ?? []) expect(record.events[index]?.state).not.toHaveProperty('input');
    expect(record.events[1]?.state).toHaveProperty('input');
    expect(record.events[10]?.state).toHaveProperty('input');
    // IsValid's output is its input: written neither time.
    expect(record.outputsAsInput).toEqual([4]);
    expect(record.events[4]?.state).not.toHaveProperty('output');
    expect(record.events[9]?.state).toHaveProperty('output');
  });

  it('reads a record written before, deflated with every input, as it was stored', () => {
    const execution = loggedRun();
    const older = deflateRawSync(JSON.stringify(execution), { level: 1 });
    expect(decodeExecution(older)).toEqual(JSON.parse(JSON.stringify(execution)));
  });

  it('tells a Brotli record by its first byte, which no deflated record can begin with', () => {
    const brotli = encodeExecution(loggedRun())[0] ?? 0;
    // Bits 1-2 of a raw deflate stream's first byte are its first block's type; type 3 does not exist.
    expect(brotli & 0b110).toBe(0b110);
    for (const level of [0, 1, 6, 9]) {
      for (const input of [Buffer.alloc(0), randomBytes(100), Buffer.from(JSON.stringify(loggedRun()))]) {
        expect((deflateRawSync(input, { level })[0] ?? 0) & 0b110).not.toBe(0b110);
      }
    }
  });
});
