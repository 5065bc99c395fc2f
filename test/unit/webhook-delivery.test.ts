import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { apiDestinationTarget } from '../../local/eventbridge/api-destination.js';
import { listDeadLetters, openEventsDatabase } from '../../local/eventbridge/events-database.js';
import { LocalEventBus, type EventEnvelope } from '../../local/eventbridge/local-event-bus.js';
import { RuleDelivery, type LocalRule, type RetryPolicy } from '../../local/eventbridge/rule-delivery.js';
import { orderAcceptedEntry, orderAcceptedPattern } from '../../src/events/order-accepted.js';
import { eventually } from '../support/eventually.js';

const BUS = 'order-intake-test';
/** Long enough that a webhook that does answer is never taken for a hung one on a loaded machine. */
const TIMEOUT_MS = 1_000;

/** What the webhook answers to an order: a status (with a body), or no answer at all. */
type Answer = number | { status: number; body: string } | 'hang';

/** A webhook on a free port: records each request, answers as `answer` says. */
class Webhook {
  readonly requests: { orderId: string; headers: IncomingHttpHeaders; body: EventEnvelope }[] = [];
  answer: (orderId: string, received: number) => Answer = () => 200;
  private readonly server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as EventEnvelope;
      const orderId = String(body.detail.orderId);
      this.requests.push({ orderId, headers: request.headers, body });
      const answer = this.answer(orderId, this.received(orderId));
      if (typeof answer === 'number') response.writeHead(answer).end();
      else if (answer !== 'hang') response.writeHead(answer.status).end(answer.body);
    });
  });

  received(orderId: string): number {
    return this.requests.filter((request) => request.orderId === orderId).length;
  }

  async listen(): Promise<string> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/orders`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }
}

let folder: string;
let db: DatabaseSync;
let bus: LocalEventBus;
let logs: Record<string, unknown>[];
const webhooks: Webhook[] = [];
const deliveries: RuleDelivery[] = [];

beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'webhook-delivery-'));
  db = openEventsDatabase(join(folder, 'events.sqlite'));
  bus = new LocalEventBus(db, { busName: BUS });
  logs = [];
});
afterEach(async () => {
  for (const delivery of deliveries.splice(0)) await delivery.stop();
  for (const webhook of webhooks.splice(0)) await webhook.close();
  db.close();
  await rm(folder, { recursive: true, force: true });
});

const startWebhook = async (): Promise<{ webhook: Webhook; url: string }> => {
  const webhook = new Webhook();
  webhooks.push(webhook);
  return { webhook, url: await webhook.listen() };
};

const webhookRule = (name: string, url: string, retryPolicy: RetryPolicy = {}): LocalRule => ({
  name,
  eventPattern: orderAcceptedPattern,
  target: apiDestinationTarget({ url, timeoutMs: TIMEOUT_MS }),
  retryPolicy: { maximumAttempts: 185, maximumRetryMs: 60_000, ...retryPolicy },
});

const deliver = (...rules: LocalRule[]): RuleDelivery => {
  const delivery = new RuleDelivery(db, bus, rules, {
    pollMs: 10,
    backoffMs: 5,
    maxBackoffMs: 20,
    log: (line) => logs.push(line as Record<string, unknown>),
  });
  deliveries.push(delivery);
  delivery.start();
  return delivery;
};

let orders = 0;
/** The id the next `publishOrder` gives its order, so that a webhook can be told how to answer it beforehand. */
const nextOrderId = (): string => `ORDER${String(orders + 1).padStart(21, '0')}`;
const publishOrder = async (): Promise<string> => {
  const orderId = nextOrderId();
  orders += 1;
  await bus.putEvents([
    orderAcceptedEntry(BUS, {
      orderId,
      status: 'ACCEPTED',
      acceptedAt: '2026-11-25T10:00:00.000Z',
      idempotencyKey: 'd'.repeat(64),
      customerId: 'CUST-7Q2K9M4X',
      items: [{ sku: 'SKU-00012345', quantity: 1 }],
    }),
  ]);
  return orderId;
};
const eventIdOf = (orderId: string): string =>
  bus.storedEvents().find((event) => event.envelope.detail.orderId === orderId)?.envelope.id ?? '';

const attemptsOf = (rule: string, orderId: string) =>
  db
    .prepare(
      'SELECT attempt, outcome, detail, started_at, duration_ms FROM delivery_attempts WHERE rule_name = ? AND event_id = ? ORDER BY id',
    )
    .all(rule, eventIdOf(orderId))
    .map((row) => ({ ...row }));
const deadLetters = () =>
  listDeadLetters(db)
    .reverse()
    .map(({ origin, reference, reason }) => ({ origin, reference, reason }));
const caughtUp = (delivery: RuleDelivery, rule: string) => () =>
  delivery.cursorOf(rule) === bus.storedEvents().at(-1)?.seq;

describe('a webhook subscriber (an API destination)', () => {
  it('receives each OrderAccepted as a JSON POST of its envelope; a 2xx is delivered and recorded', async () => {
    const { webhook, url } = await startWebhook();
    const delivery = deliver(webhookRule('hook', url));
    const orderId = await publishOrder();
    await eventually('the cursor passes the event', caughtUp(delivery, 'hook'));

    const [request] = webhook.requests;
    expect(webhook.requests).toHaveLength(1);
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.body).toEqual(bus.storedEvents().at(-1)?.envelope);
    expect(attemptsOf('hook', orderId)).toEqual([
      {
        attempt: 1,
        outcome: 'delivered',
        detail: 'HTTP 200',
        started_at: expect.any(String),
        duration_ms: expect.any(Number),
      },
    ]);
    expect(logs).toEqual([]);
  });

  it('retries a 500 and a slow answer with backoff until one is delivered', async () => {
    const { webhook, url } = await startWebhook();
    webhook.answer = (_orderId, received) => [500, 'hang' as const][received - 1] ?? 204;
    const delivery = deliver(webhookRule('hook', url));
    const orderId = await publishOrder();
    await eventually('the cursor passes the event', caughtUp(delivery, 'hook'));

    expect(webhook.received(orderId)).toBe(3);
    expect(attemptsOf('hook', orderId).map(({ attempt, outcome, detail }) => [attempt, outcome, detail])).toEqual([
      [1, 'failed', 'HTTP 500'],
      [2, 'failed', `no answer within ${TIMEOUT_MS} ms`],
      [3, 'delivered', 'HTTP 204'],
    ]);
    expect(logs.map((line) => [line.message, line.details])).toEqual([
      ['events not delivered, retrying', ['HTTP 500']],
      ['events not delivered, retrying', [`no answer within ${TIMEOUT_MS} ms`]],
    ]);
    expect(deadLetters()).toEqual([]);
  });

  it('records what a failing target said: its status and the first 1 KB of its answer', async () => {
    const { webhook, url } = await startWebhook();
    const refusal = JSON.stringify({ message: 'schema mismatch: items[0].sku', padding: 'x'.repeat(2_000) });
    webhook.answer = (_orderId, received) =>
      received === 1 ? { status: 503, body: 'upstream busy' } : received === 2 ? { status: 400, body: refusal } : 204;
    const delivery = deliver(webhookRule('hook', url));
    const orderId = await publishOrder();
    await eventually('the cursor passes the event', caughtUp(delivery, 'hook'));

    const [busy, refused] = attemptsOf('hook', orderId).map(({ detail }) => String(detail));
    expect(busy).toBe('HTTP 503: upstream busy');
    expect(refused).toBe(`HTTP 400: ${refusal.slice(0, 1024)} …(cut at 1 KB)`);
    expect(deadLetters()).toEqual([expect.objectContaining({ reason: expect.stringContaining('schema mismatch') })]);
  });

  it('dead-letters an event still failing when the retry window is spent, and goes on with the next', async () => {
    const { webhook, url } = await startWebhook();
    const delivery = deliver(webhookRule('hook', url, { maximumRetryMs: 1_500 }));
    // Told before it is published: the rule may take the event as soon as it is committed.
    const hangsOn = nextOrderId();
    webhook.answer = (orderId) => (orderId === hangsOn ? 'hang' : 200);
    const stuck = await publishOrder();
    const next = await publishOrder();
    await eventually('the cursor passes both events', caughtUp(delivery, 'hook'));
    // The cursor is readable once committed, before the sync that acknowledges it; the log line follows the sync.
    await delivery.stop();

    expect(deadLetters()).toEqual([
      {
        origin: { kind: 'rule', ruleName: 'hook' },
        reference: eventIdOf(stuck),
        reason: expect.stringMatching(
          new RegExp(`^not delivered within 1.5 s of the first failure \\(\\d+ attempts\\); last: no answer within`),
        ),
      },
    ]);
    const outcomes = attemptsOf('hook', stuck).map((row) => row.outcome);
    expect(outcomes.at(-1)).toBe('dead-lettered');
    expect(new Set(outcomes.slice(0, -1))).toEqual(new Set(['failed']));
    expect(webhook.received(stuck)).toBe(outcomes.length);
    // Delivered with the stuck event's batch, it is delivered again with each retry of it: at least once.
    expect(new Set(attemptsOf('hook', next).map((row) => row.outcome))).toEqual(new Set(['delivered']));
    expect(logs.filter((line) => line.message === 'event dead-lettered')).toHaveLength(1);
  });

  it.each([401, 407, 409, 429, 500, 503])('retries HTTP %i, as API destinations do', async (status) => {
    const { webhook, url } = await startWebhook();
    webhook.answer = () => status;
    const delivery = deliver(webhookRule('hook', url, { maximumAttempts: 2 }));
    const orderId = await publishOrder();
    await eventually('the cursor passes the event', caughtUp(delivery, 'hook'));

    expect(webhook.received(orderId)).toBe(2);
    expect(deadLetters()).toEqual([
      // fetch turns a 407 into a network error (the fetch standard's rule), retried all the same.
      expect.objectContaining({
        reason: `not delivered after 2 attempts; last: ${status === 407 ? 'TypeError: fetch failed' : `HTTP ${status}`}`,
      }),
    ]);
  });

  it.each([400, 403, 404, 410, 422, 301])('dead-letters HTTP %i at once, without a retry', async (status) => {
    const { webhook, url } = await startWebhook();
    webhook.answer = () => status;
    const delivery = deliver(webhookRule('hook', url));
    const orderId = await publishOrder();
    await eventually('the cursor passes the event', caughtUp(delivery, 'hook'));
    await delivery.stop(); // so that its log line, written after the sync, is in

    expect(webhook.received(orderId)).toBe(1);
    expect(attemptsOf('hook', orderId).map(({ outcome, detail }) => [outcome, detail])).toEqual([
      ['dead-lettered', `HTTP ${status}`],
    ]);
    expect(deadLetters()).toEqual([
      {
        origin: { kind: 'rule', ruleName: 'hook' },
        reference: eventIdOf(orderId),
        reason: `refused by the target, not retried; last: HTTP ${status}`,
      },
    ]);
    expect(logs.map((line) => line.message)).toEqual(['event dead-lettered']);
  });

  it('retries an endpoint that refuses connections', async () => {
    const { webhook, url } = await startWebhook();
    await webhook.close();
    webhooks.splice(0);
    const delivery = deliver(webhookRule('hook', url, { maximumAttempts: 2 }));
    const orderId = await publishOrder();
    await eventually('the cursor passes the event', caughtUp(delivery, 'hook'));

    expect(attemptsOf('hook', orderId).map((row) => row.detail)).toEqual([
      expect.stringContaining('ECONNREFUSED'),
      expect.stringContaining('ECONNREFUSED'),
    ]);
  });

  it('keeps no URL’s password or query string in its attempts, dead letters or logs', async () => {
    const quoting: LocalRule = {
      name: 'quoting',
      eventPattern: orderAcceptedPattern,
      // A target whose errors quote its URL, as Node's fetch does for one with a password.
      target: {
        async deliver(events) {
          const ids = events.map((event) => event.id);
          const detail = 'TypeError: cannot fetch https://ops:hunter2@hooks.example/in?key=k3y';
          return {
            failedEventIds: [],
            rejectedEventIds: ids,
            details: Object.fromEntries(ids.map((id) => [id, detail])),
          };
        },
      },
    };
    const delivery = deliver(quoting);
    const orderId = await publishOrder();
    await eventually('the cursor passes the event', caughtUp(delivery, 'quoting'));
    await delivery.stop();

    const stored = JSON.stringify([attemptsOf('quoting', orderId), deadLetters(), logs]);
    expect(stored).not.toMatch(/hunter2|k3y/);
    expect(attemptsOf('quoting', orderId)[0]?.detail).toBe('TypeError: cannot fetch https://hooks.example/in?…');
  });

  it('is held up by neither a slow webhook beside it nor the attempts of another rule', async () => {
    const slow = await startWebhook();
    const fast = await startWebhook();
    slow.webhook.answer = () => 'hang';
    const delivery = deliver(webhookRule('slow', slow.url), webhookRule('fast', fast.url));
    const orderIds = [await publishOrder(), await publishOrder()];
    await eventually('the fast webhook has both', caughtUp(delivery, 'fast'));

    expect(fast.webhook.requests.map((request) => request.orderId)).toEqual(orderIds);
    expect(delivery.cursorOf('slow')).toBe(0);
    await eventually(
      'the slow webhook’s first attempt times out',
      () => attemptsOf('slow', orderIds[0] ?? '').length > 0,
    );
    expect(attemptsOf('slow', orderIds[0] ?? '')[0]).toMatchObject({ outcome: 'failed' });
  });

  it('resumes an event’s attempt count after a restart, from the attempts table', async () => {
    const { webhook, url } = await startWebhook();
    webhook.answer = () => 503;
    const first = deliver(webhookRule('hook', url));
    const orderId = await publishOrder();
    await eventually('two attempts have failed', () => attemptsOf('hook', orderId).length >= 2);
    await first.stop();
    const before = attemptsOf('hook', orderId).length;

    webhook.answer = () => 200;
    const second = deliver(webhookRule('hook', url));
    await eventually('the cursor passes the event', caughtUp(second, 'hook'));
    expect(attemptsOf('hook', orderId).at(-1)).toMatchObject({ attempt: before + 1, outcome: 'delivered' });
  });
});
