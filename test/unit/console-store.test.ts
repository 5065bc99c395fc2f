import { describe, expect, it } from '@jest/globals';
import { ConsoleStore, summarize } from '../../local/console/console-store.js';
import type { RecordedExecution } from '../../local/stepfunctions/execution-history.js';

const answered = (name: string, startedAt: number, statusCode: number, body: object = {}): RecordedExecution => ({
  name,
  arn: `arn:aws:states:local:000000000000:express:order-intake:${name}`,
  stateMachineArn: 'arn:aws:states:local:000000000000:stateMachine:order-intake',
  status: 'SUCCEEDED',
  startedAt,
  stoppedAt: startedAt + 40,
  events: [
    { type: 'ExecutionStarted', timestamp: startedAt, input: {} },
    { type: 'ExecutionSucceeded', timestamp: startedAt + 40, output: { statusCode, body: JSON.stringify(body) } },
  ],
});

/** A POST /orders answered 202, as the HTTP server records it. */
const exchange = (requestId: string, startedAt: number) => ({
  requestId,
  startedAt,
  durationMs: 60,
  method: 'POST',
  path: '/orders',
  requestHeaders: {},
  requestBody: '{}',
  status: 202,
  responseHeaders: {},
  responseBody: '{}',
});

describe('the console store', () => {
  it('names each outcome from the answer the workflow gave', () => {
    expect(summarize(answered('a', 0, 202, { orderId: 'O1', idempotencyKey: 'K1' }))).toMatchObject({
      outcome: 'accepted',
      orderId: 'O1',
      idempotencyKey: 'K1',
      durationMs: 40,
    });
    expect(summarize(answered('b', 0, 409)).outcome).toBe('duplicate');
    expect(summarize(answered('c', 0, 413)).outcome).toBe('rejected');
    expect(summarize(answered('d', 0, 503)).outcome).toBe('unavailable');
    expect(summarize({ ...answered('e', 0, 202), status: 'FAILED', events: [] }).outcome).toBe('failed');
    expect(summarize({ ...answered('f', 0, 202), status: 'TIMED_OUT', events: [] }).outcome).toBe('failed');
  });

  it('keeps no more than its retention count, dropping the oldest', () => {
    const store = new ConsoleStore(':memory:', { maxExecutions: 3 });
    for (let i = 1; i <= 5; i += 1) store.recordExecution(answered(`req-${i}`, Date.now(), 202));
    store.prune();
    expect(store.executions().map((execution) => execution.name)).toEqual(['req-5', 'req-4', 'req-3']);
    store.close();
  });

  it('keeps the HTTP exchange of the oldest execution, whose request arrived before the execution started', () => {
    const store = new ConsoleStore(':memory:', { maxExecutions: 2 });
    const now = Date.now();
    for (const [n, at] of [
      [1, now - 3_000],
      [2, now - 2_000],
      [3, now - 1_000],
    ] as const) {
      store.recordExchange(exchange(`req-${n}`, at));
      store.recordExecution(answered(`req-${n}`, at + 20, 202));
    }
    store.recordExchange({ ...exchange('gateway-415', now - 1_500), status: 415 });
    store.prune(now);

    expect(store.executions().map((execution) => execution.name)).toEqual(['req-3', 'req-2']);
    expect(store.exchange('req-2')?.status).toBe(202);
    expect(store.exchange('req-3')?.status).toBe(202);
    expect(store.exchange('req-1')).toBeUndefined();
    expect(store.exchange('gateway-415')?.status).toBe(415);
    store.close();
  });

  it('keeps nothing older than its retention age, executions and HTTP exchanges alike', () => {
    const store = new ConsoleStore(':memory:', { maxAgeMs: 60_000 });
    const now = Date.now();
    store.recordExecution(answered('old', now - 120_000, 202));
    store.recordExecution(answered('new', now - 1_000, 202));
    store.recordExchange(exchange('old', now - 120_000));
    store.recordExchange(exchange('new', now - 1_000));
    store.prune(now);
    expect(store.executions().map((execution) => execution.name)).toEqual(['new']);
    expect(store.exchange('old')).toBeUndefined();
    expect(store.exchange('new')?.status).toBe(202);
    store.close();
  });

  it('tells listeners of each execution as it is recorded, for the live list', () => {
    const store = new ConsoleStore(':memory:');
    const seen: string[] = [];
    const stop = store.onExecution((summary) => seen.push(`${summary.name}:${summary.outcome}`));
    store.recordExecution(answered('req-1', Date.now(), 409));
    stop();
    store.recordExecution(answered('req-2', Date.now(), 202));
    expect(seen).toEqual(['req-1:duplicate']);
    store.close();
  });
});
