/**
 * A consumer behind its SQS queue, locally: the handler gets SQS records as Lambda would give them, its partial
 * failures go back to the rule, and it is held to its function's timeout, so a handler that never answers cannot
 * stall its rule or the runtime's stop.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { sqsQueueTarget, type SqsHandler } from '../../local/event-sources/sqs-queue.js';
import { listDeadLetters, openEventsDatabase } from '../../local/eventbridge/events-database.js';
import { LocalEventBus, type EventEnvelope } from '../../local/eventbridge/local-event-bus.js';
import { RuleDelivery } from '../../local/eventbridge/rule-delivery.js';
import { orderAcceptedEntry, orderAcceptedPattern } from '../../src/events/order-accepted.js';
import { eventually } from '../support/eventually.js';

const BUS = 'order-intake-test';

let folder: string;
let db: DatabaseSync;
let bus: LocalEventBus;
const deliveries: RuleDelivery[] = [];

beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'sqs-queue-target-'));
  db = openEventsDatabase(join(folder, 'events.sqlite'));
  bus = new LocalEventBus(db, { busName: BUS });
});
afterEach(async () => {
  for (const delivery of deliveries.splice(0)) await delivery.stop();
  db.close();
  await rm(folder, { recursive: true, force: true });
});

let orders = 0;
const publishOrders = async (count: number): Promise<EventEnvelope[]> => {
  const entries = Array.from({ length: count }, () => {
    orders += 1;
    return orderAcceptedEntry(BUS, {
      orderId: `ORDER${String(orders).padStart(21, '0')}`,
      status: 'ACCEPTED',
      acceptedAt: '2026-12-01T10:00:00.000Z',
      idempotencyKey: 'e'.repeat(64),
      customerId: 'CUST-7Q2K9M4X',
      items: [{ sku: 'SKU-00012345', quantity: 1 }],
    });
  });
  await bus.putEvents(entries);
  return bus
    .storedEvents()
    .slice(-count)
    .map((event) => event.envelope);
};

const never = new Promise<never>(() => undefined);
const running = (): AbortSignal => new AbortController().signal;

describe('a handler behind its SQS queue', () => {
  it('gets each event as an SQS record of its queue, and a context with its function’s name and deadline', async () => {
    const calls: { event: SQSEvent; context: Context | undefined; remainingMs: number | undefined }[] = [];
    const target = sqsQueueTarget(
      'subscriber-audit',
      async (event, context) => {
        // Read as the handler starts, as a handler would: read later, a stalled machine would eat into it.
        calls.push({ event, context, remainingMs: context?.getRemainingTimeInMillis() });
        return { batchItemFailures: [{ itemIdentifier: event.Records[1]?.messageId ?? '' }] };
      },
      { functionName: 'audit', timeoutSeconds: 20, visibilityTimeoutSeconds: 120 },
    );
    const events = await publishOrders(2);

    const result = await target.deliver(events, { signal: running() });

    expect(result).toEqual({ failedEventIds: [events[1]?.id] });
    const [{ event, context, remainingMs } = { event: { Records: [] }, context: undefined, remainingMs: 0 }] = calls;
    expect(event.Records.map((record) => [record.messageId, JSON.parse(record.body)])).toEqual(
      events.map((envelope) => [envelope.id, envelope]),
    );
    expect(event.Records[0]).toMatchObject({
      eventSource: 'aws:sqs',
      eventSourceARN: expect.stringMatching(/:sqs:.*:subscriber-audit$/),
    });
    expect(context?.functionName).toBe('audit');
    expect(remainingMs).toBeGreaterThan(19_000);
    expect(remainingMs).toBeLessThanOrEqual(20_000);
  });

  it('fails the whole batch with Lambda’s message when the handler has not answered within its timeout', async () => {
    const target = sqsQueueTarget('subscriber-hung', () => never, {
      timeoutSeconds: 0.2,
      visibilityTimeoutSeconds: 1.2,
    });
    const started = performance.now();

    await expect(target.deliver(await publishOrders(1), { signal: running() })).rejects.toThrow(
      'Task timed out after 0.20 seconds',
    );
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
  });

  it('fails the whole batch when the handler throws, even before its first await', async () => {
    const throwsAtOnce: SqsHandler = () => {
      throw new TypeError('no such column');
    };
    const target = sqsQueueTarget('subscriber-broken', throwsAtOnce, {
      timeoutSeconds: 10,
      visibilityTimeoutSeconds: 60,
    });

    await expect(target.deliver(await publishOrders(1), { signal: running() })).rejects.toThrow('no such column');
  });

  it('gives up on a handler still running when the runtime stops', async () => {
    const target = sqsQueueTarget('subscriber-hung', () => never, {
      timeoutSeconds: 600,
      visibilityTimeoutSeconds: 3600,
    });
    const stop = new AbortController();
    const delivering = target.deliver(await publishOrders(1), { signal: stop.signal });

    stop.abort();

    await expect(delivering).rejects.toThrow('the runtime stopped before the function answered');
  });

  it('invokes nothing once the runtime is stopping', async () => {
    let invoked = false;
    const target = sqsQueueTarget(
      'subscriber-audit',
      async () => {
        invoked = true;
      },
      { timeoutSeconds: 10, visibilityTimeoutSeconds: 60 },
    );
    const stopped = new AbortController();
    stopped.abort();

    await expect(target.deliver(await publishOrders(1), { signal: stopped.signal })).rejects.toThrow(
      'the runtime stopped before the function was invoked',
    );
    expect(invoked).toBe(false);
  });

  describe('with a fake clock, as the function timeout and the visibility timeout are the subject', () => {
    // The bus's own commits stay on the real event loop; only the clock of timeouts and waits is faked.
    const clockOnly: Parameters<typeof jest.useFakeTimers>[0] = {
      doNotFake: ['nextTick', 'setImmediate', 'clearImmediate', 'queueMicrotask'],
    };
    afterEach(() => {
      jest.useRealTimers();
    });

    it('never invokes the function again while a call that timed out still runs', async () => {
      const events = await publishOrders(1);
      jest.useFakeTimers(clockOnly);
      const calls: { started: number; ended?: number }[] = [];
      const slow: SqsHandler = async () => {
        const call: { started: number; ended?: number } = { started: Date.now() };
        calls.push(call);
        await new Promise((wake) => setTimeout(wake, 300));
        call.ended = Date.now();
      };
      const target = sqsQueueTarget('subscriber-slow', slow, { timeoutSeconds: 0.1, visibilityTimeoutSeconds: 60 });

      const first = expect(target.deliver(events, { signal: running() })).rejects.toThrow(
        'Task timed out after 0.10 seconds',
      );
      await jest.advanceTimersByTimeAsync(100);
      await first;
      const second = expect(target.deliver(events, { signal: running() })).rejects.toThrow(
        'Task timed out after 0.10 seconds',
      );
      await jest.advanceTimersByTimeAsync(400);
      await second;

      expect(calls.map((call) => call.started)).toEqual([0, 300].map((ms) => (calls[0]?.started ?? 0) + ms));
      expect(calls[0]?.ended).toBe((calls[0]?.started ?? 0) + 300);
    });

    it('waits for a call that never ends exactly the queue’s visibility timeout, counted from its start', async () => {
      const events = await publishOrders(1);
      jest.useFakeTimers(clockOnly);
      const started: number[] = [];
      const target = sqsQueueTarget(
        'subscriber-hung',
        () => {
          started.push(Date.now());
          return never;
        },
        { timeoutSeconds: 30, visibilityTimeoutSeconds: 180 },
      );

      const first = expect(target.deliver(events, { signal: running() })).rejects.toThrow('timed out');
      await jest.advanceTimersByTimeAsync(30_000);
      await first;
      const second = expect(target.deliver(events, { signal: running() })).rejects.toThrow('timed out');
      await jest.advanceTimersByTimeAsync(150_000 - 1);
      expect(started).toHaveLength(1);
      await jest.advanceTimersByTimeAsync(1);
      expect(started).toHaveLength(2);
      await jest.advanceTimersByTimeAsync(30_000);
      await second;

      expect((started[1] ?? 0) - (started[0] ?? 0)).toBe(180_000);
    });

    it('stops waiting for a timed-out call when the runtime stops', async () => {
      const events = await publishOrders(1);
      jest.useFakeTimers(clockOnly);
      const target = sqsQueueTarget('subscriber-hung', () => never, {
        timeoutSeconds: 30,
        visibilityTimeoutSeconds: 180,
      });
      const first = expect(target.deliver(events, { signal: running() })).rejects.toThrow('timed out');
      await jest.advanceTimersByTimeAsync(30_000);
      await first;
      const stop = new AbortController();

      const waiting = expect(target.deliver(events, { signal: stop.signal })).rejects.toThrow(
        'the runtime stopped before the function was invoked',
      );
      await jest.advanceTimersByTimeAsync(1_000);
      stop.abort();

      await waiting;
      expect(jest.getTimerCount()).toBe(0);
    });
  });

  it('lets its rule go on past a handler that hangs: the batch retried, dead-lettered, and the next one delivered', async () => {
    const hungOrderId = `ORDER${String(orders + 1).padStart(21, '0')}`;
    const orderIdOf = (record: SQSRecord): unknown => (JSON.parse(record.body) as EventEnvelope).detail.orderId;
    const taken: unknown[] = [];
    const hangsOnOne: SqsHandler = async (event) => {
      if (event.Records.some((record) => orderIdOf(record) === hungOrderId)) return never;
      taken.push(...event.Records.map(orderIdOf));
    };
    const logs: Record<string, unknown>[] = [];
    const delivery = new RuleDelivery(
      db,
      bus,
      [
        {
          name: 'subscriber-hung',
          eventPattern: orderAcceptedPattern,
          target: sqsQueueTarget('subscriber-hung', hangsOnOne, { timeoutSeconds: 0.1, visibilityTimeoutSeconds: 0.3 }),
        },
      ],
      {
        pollMs: 10,
        backoffMs: 5,
        maxBackoffMs: 20,
        maxReceives: 2,
        log: (line) => logs.push(line as Record<string, unknown>),
      },
    );
    deliveries.push(delivery);
    delivery.start();
    const [stuck] = await publishOrders(1);
    await eventually('the hung event is dead-lettered', () => listDeadLetters(db).length === 1);
    const [next] = await publishOrders(1);
    await eventually('the next event is delivered', () => taken.includes(next?.detail.orderId));
    await delivery.stop();

    expect(listDeadLetters(db).map((letter) => [letter.origin, letter.reference, letter.reason])).toEqual([
      [
        { kind: 'rule', ruleName: 'subscriber-hung' },
        stuck?.id,
        expect.stringContaining('Task timed out after 0.10 seconds'),
      ],
    ]);
    expect(logs).toContainEqual(
      expect.objectContaining({
        message: 'events not delivered, retrying',
        error: expect.stringContaining('timed out'),
      }),
    );
  });
});
