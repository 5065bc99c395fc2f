/**
 * The duplicate storm: every way a copy of an OrderAccepted reaches a consumer, against each consumer the project
 * ships (the consumer kit on Powertools Idempotency with DynamoDB Local, and the archive consumer on its folder).
 * Each must produce exactly one side effect per order and, once SQS has redelivered what it refused, acknowledge
 * every copy: a copy may be refused for a while, never lost.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import type { Context, SQSEvent } from 'aws-lambda';
import { createOrderAcceptedConsumer } from '../../lambdas/consumer-kit/order-accepted-consumer.js';
import { createArchiveHandler } from '../../lambdas/persist/handler.js';
import { ConfigurationError } from '../../src/configuration.js';
import type { ArchiveStore } from '../../src/archive/archive-order.js';
import type { OrderAcceptedEvent } from '../../src/events/order-accepted-event.js';
import { FolderArchiveStore } from '../../local/s3/folder-archive-store.js';
import example from '../../src/events/examples/order-accepted.json' with { type: 'json' };
import { testDynamoDbClient } from '../support/dynamodb.js';
import { eventually } from '../support/eventually.js';

const silent = new Logger({ serviceName: 'duplicate-storm', logLevel: 'SILENT' });
const dynamodb = testDynamoDbClient();
const never = new Promise<never>(() => undefined);
const sleep = (ms: number): Promise<void> => new Promise((wake) => setTimeout(wake, ms));

let orderCounter = 0;
/** A new order's first publication; `copyOf` gives the other ways the same order arrives. */
function newOrder(): OrderAcceptedEvent {
  orderCounter += 1;
  const orderId = `01KBF3Z8Q4M7N2P5R9T6V${String(orderCounter).padStart(5, '0')}`;
  const published = example as OrderAcceptedEvent;
  return { ...published, id: randomUUID(), detail: { ...published.detail, orderId } };
}
/** Another publication of the same order (the other path, a redelivery): a new event id, a later time. */
const copyOf = (event: OrderAcceptedEvent, extra: Partial<OrderAcceptedEvent> = {}): OrderAcceptedEvent => ({
  ...event,
  id: randomUUID(),
  time: new Date(Date.parse(event.time) + 1_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
  ...extra,
});
const replayOf = (event: OrderAcceptedEvent): OrderAcceptedEvent =>
  copyOf(event, { 'replay-name': 'orders-after-incident-4711' });

const lambdaContext = (remainingMs: number): Context =>
  ({ functionName: 'consumer', awsRequestId: randomUUID(), getRemainingTimeInMillis: () => remainingMs }) as Context;

type Handler = (event: SQSEvent, context: Context) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;

interface Consumer {
  /** Whether a copy that meets another in progress is refused for a while (true) or settles at once (false). */
  refusesWhileInProgress: boolean;
  /**
   * The handler; an order's side effect waits for its hold, if it has one: `never` for a function that timed out
   * mid-way, or a promise the test settles once the copies it wants in flight together are.
   */
  handler: Handler;
  holds: Map<string, Promise<unknown>>;
  /** The orders whose side effect has begun (then waits for its hold, if any). */
  begun: Set<string>;
  sideEffects(orderId: string): Promise<number>;
}

/** One invocation on a batch, as the SQS event source makes it; answers the events it refused. */
async function invoke(consumer: Consumer, events: OrderAcceptedEvent[], remainingMs = 30_000): Promise<string[]> {
  const records = events.map((event) => ({ messageId: event.id, body: JSON.stringify(event) }));
  const { batchItemFailures } = await consumer.handler({ Records: records } as SQSEvent, lambdaContext(remainingMs));
  return batchItemFailures.map((failure) => failure.itemIdentifier);
}

/**
 * SQS redelivering what was refused until every copy is acknowledged; fails if one is still refused at the end.
 * Answers how many deliveries were refused on the way.
 */
async function untilAcknowledged(
  consumer: Consumer,
  events: OrderAcceptedEvent[],
  onRefused: () => void = () => undefined,
): Promise<number> {
  let pending = events;
  let refusals = 0;
  for (let round = 0; pending.length > 0 && round < 50; round += 1) {
    const refused = new Set(await invoke(consumer, pending));
    refusals += refused.size;
    if (refused.size > 0) onRefused();
    pending = pending.filter((event) => refused.has(event.id));
    if (pending.length > 0) await sleep(50);
  }
  expect(pending.map((event) => event.id)).toEqual([]);
  return refusals;
}

let idempotencyTable: string;
let archiveDir: string;
const consumers: Consumer[] = [];

beforeAll(async () => {
  idempotencyTable = `idempotency-${randomUUID()}`;
  await dynamodb.send(
    new CreateTableCommand({
      TableName: idempotencyTable,
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  archiveDir = await mkdtemp(join(tmpdir(), 'duplicate-storm-'));

  const kitEffects = new Map<string, number>();
  const kitHolds = new Map<string, Promise<unknown>>();
  const kitBegun = new Set<string>();
  consumers.push({
    refusesWhileInProgress: true,
    holds: kitHolds,
    begun: kitBegun,
    handler: createOrderAcceptedConsumer({
      persistenceStore: new DynamoDBPersistenceLayer({ tableName: idempotencyTable, awsSdkV3Client: dynamodb }),
      logger: silent,
      sideEffect: async (detail) => {
        kitBegun.add(detail.orderId);
        await kitHolds.get(detail.orderId);
        kitEffects.set(detail.orderId, (kitEffects.get(detail.orderId) ?? 0) + 1);
      },
    }),
    sideEffects: async (orderId) => kitEffects.get(orderId) ?? 0,
  });

  const folder = new FolderArchiveStore(archiveDir);
  const archiveHolds = new Map<string, Promise<unknown>>();
  const archiveBegun = new Set<string>();
  const store: ArchiveStore = {
    async createIfAbsent(key, body) {
      archiveBegun.add(key);
      await Promise.all([...archiveHolds].filter(([orderId]) => key.includes(orderId)).map(([, hold]) => hold));
      return folder.createIfAbsent(key, body);
    },
  };
  consumers.push({
    refusesWhileInProgress: false,
    holds: archiveHolds,
    begun: archiveBegun,
    handler: createArchiveHandler({ store, logger: silent }),
    sideEffects: async (orderId) => {
      const files = await readdir(archiveDir, { recursive: true }).catch(() => []);
      return files.filter((file) => String(file).endsWith(`${orderId}.json`)).length;
    },
  });
});

afterAll(async () => {
  await rm(archiveDir, { recursive: true, force: true });
});

describe.each([
  ['the consumer kit (Powertools Idempotency on DynamoDB)', 0],
  ['the archive consumer (create-if-absent object)', 1],
])('the duplicate storm against %s', (_name, index) => {
  const consumer = (): Consumer => consumers[index] as Consumer;

  it('the same event twice, one after the other: one side effect', async () => {
    const first = newOrder();
    await untilAcknowledged(consumer(), [first]);
    await untilAcknowledged(consumer(), [first]);
    expect(await consumer().sideEffects(first.detail.orderId)).toBe(1);
  });

  it('both publications at the same instant, in two invocations and in one batch: one side effect', async () => {
    const first = newOrder();
    // The side effect that starts first waits until a copy has been refused (the kit), or a while (the archive,
    // which refuses none): the copies meet it in progress however slow the machine, not by chance.
    let release = (): void => undefined;
    const hold = new Promise<void>((settle) => {
      release = settle;
      if (!consumer().refusesWhileInProgress) setTimeout(settle, 1_000);
    });
    consumer().holds.set(first.detail.orderId, hold);
    const refusals = await Promise.all([
      untilAcknowledged(consumer(), [first], release),
      untilAcknowledged(consumer(), [copyOf(first)], release),
      untilAcknowledged(consumer(), [copyOf(first), copyOf(first)], release),
    ]);
    consumer().holds.delete(first.detail.orderId);
    expect(await consumer().sideEffects(first.detail.orderId)).toBe(1);
    // The kit refuses a copy while another is in progress (SQS redelivers it later); none was lost on the way.
    const refused = refusals.reduce((sum, count) => sum + count, 0);
    if (consumer().refusesWhileInProgress) expect(refused).toBeGreaterThan(0);
    else expect(refused).toBe(0);
  });

  it('copies of several orders out of order: one side effect each', async () => {
    const [a, b, c] = [newOrder(), newOrder(), newOrder()];
    await untilAcknowledged(consumer(), [copyOf(c), a, copyOf(b)]);
    await untilAcknowledged(consumer(), [b, copyOf(a), c, replayOf(b)]);
    for (const order of [a, b, c]) expect(await consumer().sideEffects(order.detail.orderId)).toBe(1);
  });

  it('after the first handler timed out mid-way: the redelivered copy takes over, one side effect', async () => {
    const first = newOrder();
    consumer().holds.set(first.detail.orderId, never);
    // The invocation is frozen by its timeout: it never answers, and its side effect never happens.
    void invoke(consumer(), [first], 300);
    await eventually('the first side effect has begun', () =>
      [...consumer().begun].some((begun) => begun.includes(first.detail.orderId)),
    );
    consumer().holds.delete(first.detail.orderId);
    await untilAcknowledged(consumer(), [copyOf(first)]);
    expect(await consumer().sideEffects(first.detail.orderId)).toBe(1);
  });

  it('an archive replay of an order already handled: no second side effect', async () => {
    const first = newOrder();
    await untilAcknowledged(consumer(), [first, copyOf(first)]);
    await untilAcknowledged(consumer(), [replayOf(first), replayOf(first)]);
    expect(await consumer().sideEffects(first.detail.orderId)).toBe(1);
  });
});

describe('the consumer kit’s payload check', () => {
  it('refuses an event that breaks the published schema every time, so that it ends in the DLQ, and never acts on it', async () => {
    const kit = consumers[0] as Consumer;
    const broken = newOrder();
    const withoutItems = { ...broken, detail: { ...broken.detail, items: [] } };
    const otherMajor = copyOf(broken, { detail: { ...broken.detail, schemaVersion: '2.0' } });
    for (let attempt = 0; attempt < 3; attempt += 1) {
      expect(await invoke(kit, [withoutItems, otherMajor])).toEqual([withoutItems.id, otherMajor.id]);
    }
    expect(await kit.sideEffects(broken.detail.orderId)).toBe(0);
  });

  it('fails loudly when deployed without its idempotency table', () => {
    const saved = process.env.IDEMPOTENCY_TABLE_NAME;
    delete process.env.IDEMPOTENCY_TABLE_NAME;
    try {
      expect(() => createOrderAcceptedConsumer({ sideEffect: async () => undefined })).toThrow(ConfigurationError);
    } finally {
      if (saved !== undefined) process.env.IDEMPOTENCY_TABLE_NAME = saved;
    }
  });
});
