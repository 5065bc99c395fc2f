import { mkdtempSync, rmSync } from 'node:fs';
import { problemType } from '../../src/contract/problem.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from '@jest/globals';
import { ConsoleStore, summarize } from '../../local/console/console-store.js';
import type { RecordedExecution } from '../../local/stepfunctions/execution-history.js';

const answered = (
  name: string,
  startedAt: number,
  statusCode: number,
  body: object = {},
  request: object = {},
): RecordedExecution => ({
  name,
  arn: `arn:aws:states:local:000000000000:express:order-intake:${name}`,
  stateMachineArn: 'arn:aws:states:local:000000000000:stateMachine:order-intake',
  status: 'SUCCEEDED',
  startedAt,
  stoppedAt: startedAt + 40,
  events: [
    {
      type: 'ExecutionStarted',
      timestamp: startedAt,
      // As API Gateway's request template passes the body: base64 of the raw bytes.
      input: { requestId: name, body: Buffer.from(JSON.stringify(request)).toString('base64') },
    },
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
    // A client's Idempotency-Key: its earlier order given again, and the copy asked to retry later.
    const [started, succeeded] = answered('r', 0, 202, { orderId: 'O1' }).events;
    const replayed = {
      ...answered('r', 0, 202),
      events: [
        started,
        {
          ...succeeded,
          output: { statusCode: 202, headers: { 'Idempotent-Replayed': 'true' }, body: '{"orderId":"O1"}' },
        },
      ],
    } as RecordedExecution;
    expect(summarize(replayed)).toMatchObject({ outcome: 'replayed', orderId: 'O1' });
    expect(summarize(answered('p', 0, 409, { type: problemType('request-in-progress') })).outcome).toBe('in-progress');
    expect(summarize(answered('c', 0, 413)).outcome).toBe('rejected');
    expect(summarize(answered('d', 0, 503)).outcome).toBe('unavailable');
    expect(summarize({ ...answered('e', 0, 202), status: 'FAILED', events: [] }).outcome).toBe('failed');
    expect(summarize({ ...answered('f', 0, 202), status: 'TIMED_OUT', events: [] }).outcome).toBe('failed');
  });

  it('records the HTTP status the client got, the response template’s 500 and 503 included', () => {
    expect(summarize(answered('a', 0, 202)).httpStatus).toBe(202);
    expect(summarize({ ...answered('e', 0, 202), status: 'FAILED', events: [] }).httpStatus).toBe(500);
    expect(summarize({ ...answered('f', 0, 202), status: 'TIMED_OUT', events: [] }).httpStatus).toBe(503);
    // The exchange, recorded as the answer leaves, is what the client got: it wins over what was derived.
    const store = new ConsoleStore(':memory:');
    store.recordExecution({ ...answered('req-f', Date.now(), 202), status: 'FAILED' });
    store.recordExchange({ ...exchange('req-f', Date.now()), status: 502 });
    expect(store.summary('req-f')?.httpStatus).toBe(502);
    // The same status as was derived changes nothing.
    store.recordExecution(answered('req-a', Date.now(), 202));
    store.recordExchange(exchange('req-a', Date.now()));
    expect(store.summary('req-a')?.httpStatus).toBe(202);
    store.close();
  });

  it('takes the status from an exchange whose execution was recorded before the store was opened again', () => {
    const folder = mkdtempSync(join(tmpdir(), 'console-status-'));
    const file = join(folder, 'console.sqlite');
    try {
      const before = new ConsoleStore(file);
      before.recordExecution(answered('req-restart', Date.now(), 202));
      before.close();
      const after = new ConsoleStore(file);
      after.recordExchange({ ...exchange('req-restart', Date.now()), status: 504 });
      expect(after.summary('req-restart')?.httpStatus).toBe(504);
      after.close();
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('prunes nothing when opened by a reader beside the service, whatever the service keeps', () => {
    const folder = mkdtempSync(join(tmpdir(), 'console-kept-'));
    const file = join(folder, 'console.sqlite');
    const recorder = new ConsoleStore(file, { maxAgeMs: 7 * 24 * 60 * 60 * 1000 });
    recorder.recordExecution(answered('two-days-old', Date.now() - 2 * 24 * 60 * 60 * 1000, 202));
    recorder.flush();

    const reader = new ConsoleStore(file, 'kept');
    expect(reader.execution('two-days-old')).toBeDefined();
    reader.close();
    recorder.close();
    rmSync(folder, { recursive: true, force: true });
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

describe('finding executions in the console store', () => {
  const now = Date.UTC(2026, 11, 7, 3, 0, 0);
  /** 30 executions a minute apart: every third for customer CUST-AAA, the rest for CUST-BBB. */
  const filled = (store: ConsoleStore): void => {
    for (let i = 0; i < 30; i += 1) {
      store.recordExecution(
        answered(
          `req-${String(i).padStart(2, '0')}`,
          now - (30 - i) * 60_000,
          202,
          { orderId: `01ORDER${String(i).padStart(2, '0')}`, idempotencyKey: `key-${i}` },
          { customerId: i % 3 === 0 ? 'CUST-AAA' : 'CUST-BBB', clientReference: `ref-${i}` },
        ),
      );
    }
  };
  const names = (store: ConsoleStore, filter: Parameters<ConsoleStore['executions']>[0]) =>
    store.executions(filter).map((summary) => summary.name);

  it('finds by the start of an orderId, requestId, idempotency key, customerId or clientReference', () => {
    const store = new ConsoleStore(':memory:');
    filled(store);
    expect(names(store, { search: '01ORDER2' })).toEqual(Array.from({ length: 10 }, (_, i) => `req-${29 - i}`));
    expect(names(store, { search: 'req-0' })).toHaveLength(10);
    expect(names(store, { search: 'key-2' })).toEqual([
      'req-29',
      'req-28',
      'req-27',
      'req-26',
      'req-25',
      'req-24',
      'req-23',
      'req-22',
      'req-21',
      'req-20',
      'req-02',
    ]);
    expect(names(store, { search: 'CUST-AAA' })).toHaveLength(10);
    expect(names(store, { search: 'ref-17' })).toEqual(['req-17']);
    expect(names(store, { search: 'nothing' })).toEqual([]);
    // A prefix is not a substring.
    expect(names(store, { search: 'ORDER' })).toEqual([]);
    store.close();
  });

  it('finds by the start of the client’s Idempotency-Key, from the execution’s input, in either form of the key', () => {
    const store = new ConsoleStore(':memory:');
    const keyed = (name: string, header: string | undefined, statusCode: number): RecordedExecution => {
      const execution = answered(name, now, statusCode);
      const [started] = execution.events;
      // As the request template passes the header: base64 of the field value, absent without the header.
      if (started?.type === 'ExecutionStarted' && header !== undefined) {
        started.input = { ...(started.input as object), clientKey: Buffer.from(header).toString('base64') };
      }
      return execution;
    };
    store.recordExecution(keyed('req-bare', 'mobile-8e03978e', 202));
    store.recordExecution(keyed('req-quoted', '"mobile-8e03978e"', 202));
    store.recordExecution(keyed('req-other', 'web-1', 422));
    store.recordExecution(keyed('req-bad', 'two words', 400));
    store.recordExecution(keyed('req-none', undefined, 202));

    expect(names(store, { search: 'mobile-8e' }).sort()).toEqual(['req-bare', 'req-quoted']);
    expect(names(store, { search: 'web-' })).toEqual(['req-other']);
    // A key the API refused is kept as sent, so that a client's report of it can be found.
    expect(names(store, { search: 'two w' })).toEqual(['req-bad']);
    expect(store.summary('req-quoted')?.clientKey).toBe('mobile-8e03978e');
    expect(store.summary('req-none')?.clientKey).toBeUndefined();
    store.close();
  });

  it('reads the searched columns through their indexes, never the table’s rows one by one', () => {
    const store = new ConsoleStore(':memory:');
    const plans = store.queryPlans({ search: 'CUST-A', status: 'SUCCEEDED' });
    expect(plans.join('\n')).not.toMatch(/SCAN executions(?! USING)/);
    for (const index of [
      'executions_by_order',
      'executions_by_customer',
      'executions_by_reference',
      'executions_by_client_key',
    ]) {
      expect(plans.join('\n')).toContain(index);
    }
    store.close();
  });

  it('pages from the newest, with the total that matches and a time range', () => {
    const store = new ConsoleStore(':memory:');
    filled(store);
    const first = store.page({ limit: 12 });
    expect(first.total).toBe(30);
    expect(first.executions.map((summary) => summary.name).slice(0, 2)).toEqual(['req-29', 'req-28']);
    const second = store.page({ limit: 12, before: first.next });
    const third = store.page({ limit: 12, before: second.next });
    expect(third.next).toBeUndefined();
    const all = [first, second, third].flatMap((page) => page.executions.map((summary) => summary.name));
    expect(all).toHaveLength(30);
    expect(new Set(all).size).toBe(30);

    const lastTenMinutes = store.page({ from: now - 10 * 60_000, to: now, search: 'CUST-AAA' });
    expect(lastTenMinutes.total).toBe(3); // req-21, req-24, req-27
    expect(lastTenMinutes.executions.map((summary) => summary.customerId)).toEqual(Array(3).fill('CUST-AAA'));
    store.close();
  });

  it('finds the request ids API Gateway answered itself, which have no execution', () => {
    const store = new ConsoleStore(':memory:');
    store.recordExchange({ ...exchange('gw-415-abc', now), status: 415 });
    store.recordExchange(exchange('req-1', now));
    store.recordExecution(answered('req-1', now, 202));
    expect(store.gatewayExchanges('gw-4').map((exchange) => exchange.status)).toEqual([415]);
    expect(store.gatewayExchanges('req-')).toEqual([]);
    store.close();
  });

  it('opens a console.sqlite written before customerId and clientReference were recorded', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'console-store-'));
    const path = join(folder, 'console.sqlite');
    const old = new DatabaseSync(path);
    old.exec(`CREATE TABLE executions (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, status TEXT NOT NULL, outcome TEXT NOT NULL,
      http_status INTEGER, order_id TEXT, idempotency_key TEXT, started_at INTEGER NOT NULL,
      duration_ms INTEGER NOT NULL, record BLOB NOT NULL)`);
    old
      .prepare(
        `INSERT INTO executions (name, status, outcome, http_status, order_id, idempotency_key, started_at,
        duration_ms, record) VALUES ('req-old', 'SUCCEEDED', 'accepted', 202, 'O1', 'K1', ?, 40, x'00')`,
      )
      .run(Date.now());
    old.close();
    try {
      const store = new ConsoleStore(path);
      store.recordExecution(answered('req-new', Date.now(), 202, {}, { customerId: 'CUST-NEW' }));
      expect(names(store, {})).toEqual(['req-new', 'req-old']);
      expect(names(store, { search: 'CUST-N' })).toEqual(['req-new']);
      expect(names(store, { search: 'O1' })).toEqual(['req-old']);
      store.close();
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});

describe('counts and latency per minute, kept as executions are recorded', () => {
  const now = Date.UTC(2026, 11, 7, 3, 0, 30);
  const at = (minutesAgo: number): number => now - minutesAgo * 60_000;
  const record = (store: ConsoleStore, name: string, startedAt: number, statusCode: number, durationMs: number) =>
    store.recordExecution({ ...answered(name, startedAt, statusCode), stoppedAt: startedAt + durationMs });

  it('counts each outcome in the last 15 minutes, hour and day, with p50 and p95 from the latency buckets', () => {
    const store = new ConsoleStore(':memory:');
    // 20 accepted in the last 15 minutes: 19 fast (40 ms) and one slow (900 ms).
    for (let i = 0; i < 20; i += 1) record(store, `fast-${i}`, at(i % 10), 202, i === 0 ? 900 : 40);
    record(store, 'dup', at(30), 409, 70);
    record(store, 'bad', at(120), 400, 10);
    record(store, 'too-old', at(25 * 60), 202, 10);
    const [quarter, hour, day] = store.stats(now).windows;
    expect(quarter).toMatchObject({ total: 20, p50: 40, p95: 40 });
    expect(quarter?.byOutcome).toEqual({
      accepted: 20,
      replayed: 0,
      duplicate: 0,
      'in-progress': 0,
      rejected: 0,
      unavailable: 0,
      failed: 0,
    });
    expect(hour).toMatchObject({ total: 21, byOutcome: expect.objectContaining({ duplicate: 1 }) });
    expect(day).toMatchObject({ total: 22, byOutcome: expect.objectContaining({ rejected: 1 }) });
    // p99 would be the slow one: the percentile reads the bucket bound.
    expect(store.stats(now).windows[0]?.p95).toBeLessThan(900);
    store.close();
  });

  it('gives the last hour minute by minute, oldest first', () => {
    const store = new ConsoleStore(':memory:');
    record(store, 'a', at(0), 202, 10);
    record(store, 'b', at(0), 500, 10);
    record(store, 'c', at(59), 409, 10);
    record(store, 'd', at(61), 202, 10);
    const { minutes } = store.stats(now);
    expect(minutes).toHaveLength(60);
    expect(minutes[59]?.at).toBe(Date.UTC(2026, 11, 7, 3, 0, 0));
    expect(minutes[59]?.byOutcome).toMatchObject({ accepted: 1, failed: 1 });
    expect(minutes[0]?.byOutcome).toMatchObject({ duplicate: 1, accepted: 0 });
    expect(minutes.reduce((sum, minute) => sum + Object.values(minute.byOutcome).reduce((a, b) => a + b), 0)).toBe(3);
    store.close();
  });

  it('counts what an older console.sqlite holds, once, when it is opened', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'console-stats-'));
    const path = join(folder, 'console.sqlite');
    try {
      const first = new ConsoleStore(path);
      record(first, 'kept', Date.now() - 60_000, 202, 30);
      first.close();
      const old = new DatabaseSync(path);
      old.exec('DROP TABLE execution_minutes');
      old.close();
      const reopened = new ConsoleStore(path);
      expect(reopened.stats().windows[0]?.total).toBe(1);
      reopened.close();
      const again = new ConsoleStore(path);
      expect(again.stats().windows[0]?.total).toBe(1);
      again.close();
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});
