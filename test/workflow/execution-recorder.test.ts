/**
 * The execution recorder on the real workflow: every execution is kept state by state from aws-local-stepfunctions'
 * own event log, summarized for the console's list, and exported in GetExecutionHistory's shape.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { HistoryEventType } from '@aws-sdk/client-sfn';
import { ConsoleStore } from '../../local/console/console-store.js';
import { storedJson } from '../../local/console/execution-record.js';
import { toExecutionHistory, type RecordedExecution } from '../../local/stepfunctions/execution-history.js';
import { loadOrderIntakeDefinition } from '../../asl/order-intake.js';
import { recordingWorkflow } from '../support/recording-workflow.js';
import { freshOrdersTable, testDynamoDbClient } from '../support/dynamodb.js';
import { ACCEPTED_STATE_PATH, validOrder, workflowInput } from '../support/order-samples.js';

const dynamodb = testDynamoDbClient();

let dir: string;
let store: ConsoleStore;
let run: (body: string, requestId: string) => Promise<void>;
let tableName: string;
let definitionStates: Record<string, { Type: string; Resource?: string }>;
/** Each execution as the workflow handed it to the recorder, as JSON would write it. */
const logged = new Map<string, RecordedExecution>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'execution-recorder-'));
  store = new ConsoleStore(join(dir, 'console.sqlite'));
  const record = store.recordExecution.bind(store);
  store.recordExecution = (execution) => {
    logged.set(execution.name, JSON.parse(JSON.stringify(execution)) as RecordedExecution);
    record(execution);
  };
  tableName = await freshOrdersTable(dynamodb);
  const { workflow, resources } = recordingWorkflow(tableName, store);
  definitionStates = (
    loadOrderIntakeDefinition(resources) as { States: Record<string, { Type: string; Resource?: string }> }
  ).States;
  run = async (body, requestId) => {
    await workflow.startSyncExecution(workflowInput(body, requestId), requestId);
  };
  await run(JSON.stringify(validOrder), 'req-accepted');
  await run(JSON.stringify(validOrder), 'req-duplicate');
  await run('{"customerId": 7}', 'req-rejected');
});

afterAll(async () => {
  store.close();
  await rm(dir, { recursive: true, force: true });
});

const statePath = (name: string): string[] =>
  (store.execution(name)?.events ?? []).flatMap((event) => (event.type === 'StateEntered' ? [event.state.name] : []));

describe('the execution recorder', () => {
  it('keeps each execution state by state, with every state’s input and output', () => {
    expect(statePath('req-accepted')).toEqual(ACCEPTED_STATE_PATH);
    const exited = store
      .execution('req-accepted')
      ?.events.find((event) => event.type === 'StateExited' && event.state.name === 'Validate');
    expect(exited).toMatchObject({
      state: {
        input: { requestId: 'req-accepted', body: expect.any(String) },
        output: { validation: expect.any(Object) },
      },
    });
    expect(statePath('req-duplicate')).toContain('ReadLock');
    expect(statePath('req-rejected')).toEqual(['Validate', 'IsValid', 'RespondRejected']);
  });

  it('reads back each execution as the workflow logged it, though each state’s input is stored once', () => {
    for (const name of ['req-accepted', 'req-duplicate', 'req-rejected']) {
      expect(store.execution(name)).toEqual(logged.get(name));
    }
    // aws-local-stepfunctions hands one object from state to state: the record leaves the repeats out.
    const raw = new DatabaseSync(join(dir, 'console.sqlite'), { readOnly: true });
    try {
      const row = raw.prepare('SELECT record FROM executions WHERE name = ?').get('req-accepted');
      const stored = JSON.parse(storedJson(row?.record as Uint8Array)) as {
        events: unknown[];
        carriedInputs?: number[];
        outputsAsInput?: number[];
      };
      const stateEvents = (logged.get('req-accepted')?.events ?? []).filter((event) => 'state' in event).length;
      // Every state event but the first: its input is the library's clone of the execution's input.
      expect(stored.carriedInputs).toHaveLength(stateEvents - 1);
      // A Choice state's output is its input: written once.
      const choices = (logged.get('req-accepted')?.events ?? []).filter(
        (event) => event.type === 'StateExited' && event.state.type === 'Choice',
      ).length;
      expect(choices).toBeGreaterThan(0);
      expect(stored.outputsAsInput).toHaveLength(choices);
    } finally {
      raw.close();
    }
  });

  it('summarizes each for the list: outcome, HTTP answer, orderId and idempotency key', () => {
    const accepted = store.summary('req-accepted');
    const duplicate = store.summary('req-duplicate');
    expect(accepted).toMatchObject({ status: 'SUCCEEDED', outcome: 'accepted', httpStatus: 202 });
    expect(duplicate).toMatchObject({ outcome: 'duplicate', httpStatus: 409, orderId: accepted?.orderId });
    expect(duplicate?.idempotencyKey).toBe(accepted?.idempotencyKey);
    expect(store.summary('req-rejected')).toMatchObject({ outcome: 'rejected', httpStatus: 400, orderId: undefined });
  });

  it('finds executions by orderId, requestId or idempotency key, and by outcome', () => {
    const { orderId, idempotencyKey } = store.summary('req-accepted') ?? {};
    const names = (filter: Parameters<ConsoleStore['executions']>[0]) => store.executions(filter).map((e) => e.name);
    expect(names({ search: orderId })).toEqual(['req-duplicate', 'req-accepted']);
    expect(names({ search: idempotencyKey })).toEqual(['req-duplicate', 'req-accepted']);
    expect(names({ search: 'req-rejected' })).toEqual(['req-rejected']);
    expect(names({ outcome: 'duplicate' })).toEqual(['req-duplicate']);
    expect(names({ status: 'FAILED' })).toEqual([]);
  });

  it('exports one execution in the shape of GetExecutionHistory', () => {
    const execution = store.execution('req-accepted');
    if (!execution) throw new Error('not recorded');
    const history = toExecutionHistory(execution, definitionStates);
    const known = new Set<string>(Object.values(HistoryEventType));
    expect(history.filter((event) => !known.has(String(event.type)))).toEqual([]);
    expect(history.map((event) => event.id)).toEqual(history.map((_, index) => index + 1));
    expect(history[0]).toMatchObject({ type: 'ExecutionStarted', previousEventId: 0 });
    expect(history.at(-1)).toMatchObject({ type: 'ExecutionSucceeded' });
    expect(
      history.filter((event) => event.type === 'TaskScheduled').map((event) => event.taskScheduledEventDetails),
    ).toEqual([
      expect.objectContaining({ resourceType: 'lambda', resource: 'invoke' }),
      expect.objectContaining({ resourceType: 'aws-sdk:dynamodb', resource: 'transactWriteItems' }),
      expect.objectContaining({ resourceType: 'events', resource: 'putEvents' }),
    ]);
  });

  it('exports what each Task sent its service and what the service answered, as GetExecutionHistory does', () => {
    const execution = store.execution('req-accepted');
    if (!execution) throw new Error('not recorded');
    const history = toExecutionHistory(execution, definitionStates);
    const scheduled = history.flatMap((event) =>
      event.taskScheduledEventDetails
        ? [JSON.parse(event.taskScheduledEventDetails.parameters ?? 'null') as Record<string, unknown>]
        : [],
    );
    // Validate: the resolved Parameters (FunctionName and the whole input as Payload), not the state input alone.
    expect(scheduled[0]).toMatchObject({ FunctionName: expect.any(String), Payload: { requestId: 'req-accepted' } });
    // Persist: the transaction as sent, with its token resolved from the input.
    expect(scheduled[1]).toMatchObject({
      ClientRequestToken: expect.stringMatching(/^[0-9A-Z]{26}-\d+$/),
      TransactItems: expect.arrayContaining([expect.objectContaining({ Put: expect.any(Object) })]),
    });
    expect(scheduled[1]).not.toHaveProperty('body');
    const succeeded = history.flatMap((event) =>
      event.taskSucceededEventDetails
        ? [JSON.parse(event.taskSucceededEventDetails.output ?? 'null') as Record<string, unknown>]
        : [],
    );
    // Validate's answer is the Lambda invoke's (before ResultSelector and ResultPath): not the state's output.
    expect(succeeded[0]).toHaveProperty('Payload');
    expect(succeeded[0]).not.toHaveProperty('requestId');
  });

  it('survives a restart: what was recorded is there when the store is opened again', () => {
    store.close();
    store = new ConsoleStore(join(dir, 'console.sqlite'));
    expect(statePath('req-accepted')).toContain('Publish');
    expect(store.executions().map((execution) => execution.name)).toEqual([
      'req-rejected',
      'req-duplicate',
      'req-accepted',
    ]);
  });
});
