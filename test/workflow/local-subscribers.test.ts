/**
 * Local subscribers through the event runtime as `npm start` composes it: a webhook keeps its events across a
 * restart of the runtime on the same data folder, and a handler module named in a subscribers file receives them as
 * the Lambda function behind an SQS queue would.
 */
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { EVENTS_DATABASE_FILE, listDeadLetters, openEventsDatabase } from '../../local/eventbridge/events-database.js';
import type { EventEnvelope } from '../../local/eventbridge/local-event-bus.js';
import { startLocalEvents, type LocalEvents, type LocalEventsOptions } from '../../local/eventbridge/local-events.js';
import { LOCAL_RESOURCES } from '../../local/local-account.js';
import { loadSubscribers, parseWebhooks, type Subscriber } from '../../local/subscriptions.js';
import { orderAcceptedEntry } from '../../src/events/order-accepted.js';
import { freshOrdersTable, testDynamoDbClient } from '../support/dynamodb.js';
import { eventually } from '../support/eventually.js';
import { storedOrder } from '../support/order-samples.js';
import { deployedAuthorizers } from '../support/iam.js';
import { received as handlerReceived } from '../support/recording-subscriber.js';

const BUS = 'order-intake-test';
const RECORDING_SUBSCRIBER = fileURLToPath(new URL('../support/recording-subscriber.ts', import.meta.url));
const dynamodb = testDynamoDbClient();

let dataDir: string;
let tableName: string;
let events: LocalEvents | undefined;
let servers: Server[];

const start = async (
  subscribers: readonly Subscriber[],
  options: Pick<LocalEventsOptions, 'eventLogRetentionMs' | 'webhooks'> = {},
): Promise<LocalEvents> => {
  const names = { ...LOCAL_RESOURCES, tableName, busName: BUS };
  events = await startLocalEvents({
    dataDir,
    busName: BUS,
    tableName,
    dynamodbEndpoint: String(process.env.DYNAMODB_LOCAL_ENDPOINT),
    archiveBucketName: names.archiveBucketName,
    iam: deployedAuthorizers(names),
    subscribers,
    webhooks: options.webhooks ?? { timeoutMs: 500 },
    delivery: { pollMs: 10, backoffMs: 10, maxBackoffMs: 50 },
    eventLogRetentionMs: options.eventLogRetentionMs,
  });
  return events;
};

const stop = async (): Promise<void> => {
  await events?.stop();
  events = undefined;
};

/** A webhook that takes every POST, on `port` (0: a free one). */
async function webhookOn(port: number): Promise<{ url: string; bodies: EventEnvelope[] }> {
  const bodies: EventEnvelope[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as EventEnvelope);
      response.writeHead(202).end();
    });
  });
  servers.push(server);
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/orders`, bodies };
}

/** A port nothing listens on (it had a listener a moment ago). */
async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

let orders = 0;
const orderEntry = (customerId = 'CUST-7Q2K9M4X') => {
  orders += 1;
  return orderAcceptedEntry(BUS, storedOrder(`SUBSCRIBER${String(orders).padStart(16, '0')}`, customerId));
};
const orderIdsOf = (envelopes: readonly EventEnvelope[]): unknown[] => envelopes.map((event) => event.detail.orderId);

/** The runtime's own store, read beside it (WAL: readers do not disturb the writer). */
function readStore<T>(read: (db: ReturnType<typeof openEventsDatabase>) => T): T {
  const db = openEventsDatabase(join(dataDir, EVENTS_DATABASE_FILE));
  try {
    return read(db);
  } finally {
    db.close();
  }
}

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'local-subscribers-'));
  tableName = await freshOrdersTable(dynamodb);
  servers = [];
});
afterEach(async () => {
  await stop();
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
  await rm(dataDir, { recursive: true, force: true });
});
afterAll(() => {
  dynamodb.destroy();
});

describe('a webhook subscriber', () => {
  it('gets the events the bus acknowledged while it was down, after a restart of the event runtime', async () => {
    const port = await freePort();
    const subscribers = parseWebhooks(`http://127.0.0.1:${port}/orders`);
    const [{ ruleName }] = subscribers as [Subscriber];
    let local = await start(subscribers);

    const entries = [orderEntry(), orderEntry()];
    await local.bus.putEvents(entries);
    const attempts = () =>
      readStore((db) =>
        db
          .prepare('SELECT attempt, outcome, detail FROM delivery_attempts WHERE rule_name = ? ORDER BY id')
          .all(ruleName)
          .map((row) => ({ ...row })),
      );
    await eventually('delivery has failed twice', () => attempts().length >= 4);
    expect(attempts()[0]).toEqual({ attempt: 1, outcome: 'failed', detail: expect.stringContaining('ECONNREFUSED') });
    await stop();

    const webhook = await webhookOn(port);
    local = await start(parseWebhooks(webhook.url));
    await eventually('the webhook has both events', () => webhook.bodies.length >= 2);
    await eventually('the rule has caught up', () => local.backlogOf(ruleName) === 0);

    expect(orderIdsOf(webhook.bodies)).toEqual(entries.map((entry) => JSON.parse(entry.Detail).orderId));
    expect(webhook.bodies).toEqual(local.bus.storedEvents().map((event) => event.envelope));
    const tried = attempts();
    expect(tried.slice(-2)).toEqual([
      { attempt: tried.length / 2, outcome: 'delivered', detail: 'HTTP 202' },
      { attempt: tried.length / 2, outcome: 'delivered', detail: 'HTTP 202' },
    ]);
    // None of the webhook's (the archive rule dead-letters these test orders: their ids are no ULIDs).
    const webhookLetters = readStore((db) =>
      listDeadLetters(db).filter((letter) => letter.origin.kind === 'rule' && letter.origin.ruleName === ruleName),
    );
    expect(webhookLetters).toEqual([]);
  });

  it('removed, starts without it; added again, it gets only what is published from then on', async () => {
    const webhook = await webhookOn(0);
    const subscribers = parseWebhooks(webhook.url);
    let local = await start(subscribers);
    await stop();

    local = await start([]);
    await local.bus.putEvents([orderEntry()]);
    await stop();

    local = await start(subscribers);
    const later = orderEntry();
    await local.bus.putEvents([later]);
    await eventually('the webhook has the later event', () => webhook.bodies.length >= 1);
    await eventually('the rule has caught up', () => local.backlogOf(subscribers[0]?.ruleName ?? '') === 0);
    expect(orderIdsOf(webhook.bodies)).toEqual([JSON.parse(later.Detail).orderId]);
  });
});

describe('the event log’s retention', () => {
  it('keeps what a subscriber that is down has not received, however old, and drops it once delivered', async () => {
    const port = await freePort();
    const subscribers = parseWebhooks(`http://127.0.0.1:${port}/orders`);
    const [{ ruleName }] = subscribers as [Subscriber];
    // However slow the machine, the webhook's events are never dead-lettered here: they stay undelivered.
    const patient = { timeoutMs: 500, retryPolicy: { maximumAttempts: 1_000_000, maximumRetryMs: 3_600_000 } };
    let local = await start(subscribers, { webhooks: patient });
    const entries = [orderEntry(), orderEntry()];
    await local.bus.putEvents(entries);
    await eventually('the archive has both events', () => local.archiveBacklog() === 0);
    await stop();

    // Past any retention, but the webhook has not taken them: they stay. The archive's attempts go in the same
    // commit as any event would.
    local = await start(subscribers, { eventLogRetentionMs: 1, webhooks: patient });
    const othersAttempts = () =>
      local.database.prepare('SELECT COUNT(*) AS n FROM delivery_attempts WHERE rule_name <> ?').get(ruleName)?.n;
    await eventually('the archive’s attempts are dropped', () => othersAttempts() === 0);
    expect(local.bus.storedEvents()).toHaveLength(2);
    await stop();

    const webhook = await webhookOn(port);
    local = await start(subscribers);
    await eventually('the rule has caught up', () => local.backlogOf(ruleName) === 0);
    await stop();
    expect(orderIdsOf(webhook.bodies)).toEqual(entries.map((entry) => JSON.parse(entry.Detail).orderId));

    local = await start(subscribers, { eventLogRetentionMs: 1 });
    await eventually('the delivered events are dropped', () => local.bus.storedEvents().length === 0);
    expect(local.database.prepare('SELECT COUNT(*) AS n FROM delivery_attempts').get()?.n).toBe(0);
  });
});

describe('a handler module named in a subscribers file', () => {
  it('receives each OrderAccepted its pattern selects, as SQS records whose body is the event', async () => {
    const file = join(dataDir, 'subscribers.json');
    const handler = `./${relative(dataDir, RECORDING_SUBSCRIBER)}#handler`;
    await writeFile(
      file,
      JSON.stringify([{ name: 'audit', handler, pattern: { detail: { customerId: ['CUST-AUDITED1'] } } }]),
    );
    const local = await start(await loadSubscribers({ subscribersFile: file }));
    handlerReceived.length = 0;

    const [audited, other] = [orderEntry('CUST-AUDITED1'), orderEntry('CUST-OTHER001')];
    await local.bus.putEvents([audited, other]);
    await eventually('the rule has caught up', () => local.backlogOf('subscriber-audit') === 0);

    const records = handlerReceived.flatMap((event) => event.Records);
    const [auditedEvent] = local.bus.storedEvents().map((event) => event.envelope);
    expect(records).toEqual([
      expect.objectContaining({
        messageId: auditedEvent?.id,
        body: JSON.stringify(auditedEvent),
        eventSource: 'aws:sqs',
        eventSourceARN: expect.stringMatching(/^arn:aws:sqs:.*:subscriber-audit$/),
      }),
    ]);
    expect(JSON.parse(records[0]?.body ?? '{}').detail.orderId).toBe(JSON.parse(audited.Detail).orderId);
  });
});
