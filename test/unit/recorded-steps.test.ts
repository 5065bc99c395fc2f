/**
 * A recorded execution read as TestState steps, on event logs written out by hand in aws-local-stepfunctions'
 * shape: the paths the workflow's own recordings (test/workflow/conformance.test.ts) do not take — a retry, a Task
 * failure nothing catches — and the service's answer taken from the recorder's task calls when it kept them.
 */
import { describe, expect, it } from '@jest/globals';
import type { EventLog, RecordedExecution } from '../../local/stepfunctions/execution-history.js';
import { recordedSteps, type ReplayedStateDefinition } from '../../local/stepfunctions/recorded-steps.js';

const STATES: Record<string, ReplayedStateDefinition> = {
  Read: {
    Type: 'Task',
    Resource: 'arn:aws:states:::dynamodb:getItem',
    ResultSelector: { 'Item.$': '$.Item' },
    ResultPath: '$.read',
    Retry: [{ ErrorEquals: ['DynamoDB.ThrottlingException'] }],
  },
  Done: { Type: 'Pass' },
};

const at = (timestamp: number, event: Record<string, unknown>) => ({ timestamp, ...event }) as EventLog;
const state = (name: string, type: string, input: unknown, output?: unknown) => ({ name, type, input, output });
const execution = (events: EventLog[], extra: Record<string, unknown> = {}): RecordedExecution => ({
  name: 'req-1',
  arn: 'arn:aws:states:local:000000000000:express:order-intake:req-1',
  stateMachineArn: 'arn:aws:states:local:000000000000:stateMachine:order-intake',
  status: 'SUCCEEDED',
  startedAt: 0,
  stoppedAt: 9,
  events,
  ...extra,
});

const item = { pk: { S: 'ORDER#1' } };
const throttled = { Error: 'DynamoDB.ThrottlingException', Cause: 'Rate exceeded' };
const retriedThenRead: EventLog[] = [
  at(1, { type: 'ExecutionStarted', input: {} }),
  at(2, { type: 'StateEntered', state: state('Read', 'Task', { id: 1 }) }),
  at(3, { type: 'StateFailed', state: state('Read', 'Task', { id: 1 }), ...throttled }),
  at(4, { type: 'StateRetried', state: state('Read', 'Task', { id: 1 }), retry: { retrier: {}, attempt: 1 } }),
  at(5, { type: 'StateExited', state: state('Read', 'Task', { id: 1 }, { id: 1, read: { Item: item } }) }),
  at(6, { type: 'StateEntered', state: state('Done', 'Pass', { id: 1, read: { Item: item } }) }),
  at(7, { type: 'StateExited', state: state('Done', 'Pass', {}, { id: 1, read: { Item: item } }) }),
  at(8, { type: 'ExecutionSucceeded', output: {} }),
];

describe('recorded steps', () => {
  it('a retried attempt is a RETRIABLE step with its error mocked, then the attempt that succeeded', () => {
    const [retried, read, done] = recordedSteps(execution(retriedThenRead), STATES);
    expect(retried).toMatchObject({
      state: 'Read',
      local: { status: 'RETRIABLE' },
      mock: { error: 'DynamoDB.ThrottlingException', cause: 'Rate exceeded', retrierRetryCount: 0 },
    });
    expect(read?.local).toEqual({ status: 'SUCCEEDED', output: { id: 1, read: { Item: item } }, nextState: 'Done' });
    expect([retried?.retryCount, read?.retryCount]).toEqual([0, 1]);
    expect(done?.local).toEqual({ status: 'SUCCEEDED', output: { id: 1, read: { Item: item } } });
  });

  it('reconstructs the service answer through ResultSelector and ResultPath when the record has no task calls', () => {
    const read = recordedSteps(execution(retriedThenRead), STATES)[1];
    expect(read?.mock).toEqual({ result: { Item: item }, source: 'reconstructed' });
  });

  it('takes the service answer the recorder kept, attempt by attempt', () => {
    const answer = { Item: item, ConsumedCapacity: { CapacityUnits: 1 } };
    const taskCalls = [
      { state: 'Read', parameters: { Key: item } },
      { state: 'Read', parameters: { Key: item }, result: answer },
    ];
    const read = recordedSteps(execution(retriedThenRead, { taskCalls }), STATES)[1];
    expect(read?.mock).toEqual({ result: answer, source: 'recorded' });
  });

  it('a Task failure nothing catches is a FAILED step with the execution’s error', () => {
    const failed = recordedSteps(
      execution(
        [
          at(1, { type: 'ExecutionStarted', input: {} }),
          at(2, { type: 'StateEntered', state: state('Read', 'Task', {}) }),
          at(3, { type: 'StateFailed', state: state('Read', 'Task', {}), Error: 'DynamoDB.AccessDenied', Cause: {} }),
          at(4, { type: 'ExecutionFailed', Error: 'DynamoDB.AccessDenied', Cause: 'not authorized' }),
        ],
        { status: 'FAILED' },
      ),
      STATES,
    );
    expect(failed).toEqual([
      expect.objectContaining({
        state: 'Read',
        mock: { error: 'DynamoDB.AccessDenied', cause: 'not authorized' },
        local: { status: 'FAILED', error: 'DynamoDB.AccessDenied', cause: 'not authorized' },
      }),
    ]);
  });
});
