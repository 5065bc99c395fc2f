/**
 * The console's order page reads an order's events from the local event log, which grows with every order: the
 * lookup goes through an index, never a scan of the log.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, expect, it } from '@jest/globals';
import { EVENTS_OF_ORDER, openEventsDatabase } from '../../local/eventbridge/events-database.js';
import { LocalEventBus, type EventEnvelope } from '../../local/eventbridge/local-event-bus.js';
import { orderAcceptedEntry } from '../../src/events/order-accepted.js';

const BUS = 'order-intake-test';
let folder: string;
let db: DatabaseSync;

beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'order-events-'));
  db = openEventsDatabase(join(folder, 'events.sqlite'));
});
afterEach(async () => {
  db.close();
  await rm(folder, { recursive: true, force: true });
});

const entryFor = (orderId: string) =>
  orderAcceptedEntry(BUS, {
    orderId,
    status: 'ACCEPTED',
    acceptedAt: '2026-12-01T10:00:00.000Z',
    idempotencyKey: 'f'.repeat(64),
    customerId: 'CUST-7Q2K9M4X',
    items: [{ sku: 'SKU-00012345', quantity: 1 }],
  });

it('finds every event of one order, oldest first, through the events_by_order index', async () => {
  const [mine, other] = ['ORDER000000000000000000001', 'ORDER000000000000000000002'];
  const bus = new LocalEventBus(db, { busName: BUS });
  // Each order is published twice, by the workflow and by the outbox relay.
  await bus.putEvents([entryFor(mine), entryFor(other)]);
  await bus.putEvents([entryFor(other), entryFor(mine)]);

  const found = db.prepare(EVENTS_OF_ORDER).all(mine);

  expect(found.map((row) => (JSON.parse(String(row.envelope)) as EventEnvelope).detail.orderId)).toEqual([mine, mine]);
  expect(found.map((row) => Number(row.seq))).toEqual(found.map((row) => Number(row.seq)).sort((a, b) => a - b));
  const plan = db
    .prepare(`EXPLAIN QUERY PLAN ${EVENTS_OF_ORDER}`)
    .all(mine)
    .map((row) => String(row.detail));
  expect(plan).toEqual([expect.stringMatching(/^SEARCH events USING INDEX events_by_order \(<expr>=\?\)$/)]);
});
