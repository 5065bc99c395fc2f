import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { assertSupportedPattern, matchesPattern } from '../../local/eventbridge/event-pattern.js';
import {
  commitsOf,
  listDeadLetters,
  openEventsDatabase,
  recordDeadLetter,
  setDiskFull,
} from '../../local/eventbridge/events-database.js';
import {
  LocalEventBus,
  MAX_ENTRY_BYTES,
  PUBLISHERS,
  type EventEnvelope,
} from '../../local/eventbridge/local-event-bus.js';
import { RuleDelivery, type RuleDeliveryOptions, type RuleTarget } from '../../local/eventbridge/rule-delivery.js';
import { orderAcceptedEntry, orderAcceptedPattern } from '../../src/events/order-accepted.js';
import { eventually } from '../support/eventually.js';
import { storedOrder } from '../support/order-samples.js';

const BUS = 'order-intake-test';

let folder: string;
let path: string;
const open: DatabaseSync[] = [];
const openDatabase = (): DatabaseSync => {
  const db = openEventsDatabase(path);
  open.push(db);
  return db;
};

beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'local-bus-'));
  path = join(folder, 'events.sqlite');
});
afterEach(async () => {
  for (const db of open.splice(0)) if (db.isOpen) db.close();
  await rm(folder, { recursive: true, force: true });
});

let orders = 0;
const orderEntry = (busName = BUS) => {
  orders += 1;
  return orderAcceptedEntry(busName, storedOrder(`ORDER${String(orders).padStart(21, '0')}`));
};
const orderIdOf = (envelope: EventEnvelope | undefined): unknown => envelope?.detail.orderId;

/** A target that records what it receives and fails the events it is told to, a given number of times. */
class RecordingTarget implements RuleTarget {
  readonly batches: EventEnvelope[][] = [];
  readonly failuresLeft = new Map<unknown, number>();
  observe: () => void = () => undefined;

  get delivered(): EventEnvelope[] {
    return this.batches.flat();
  }

  async deliver(events: EventEnvelope[]): Promise<{ failedEventIds: string[] }> {
    this.batches.push(events);
    this.observe();
    const failed = events.filter((event) => {
      const left = this.failuresLeft.get(orderIdOf(event)) ?? 0;
      if (left > 0) this.failuresLeft.set(orderIdOf(event), left - 1);
      return left > 0;
    });
    return { failedEventIds: failed.map((event) => event.id) };
  }
}

const fastDelivery = { pollMs: 10, backoffMs: 1, maxBackoffMs: 5 };

/** A second connection to the database file: it sees only what is committed. */
const readerOf = (): DatabaseSync => {
  const reader = new DatabaseSync(path, { readOnly: true });
  open.push(reader);
  return reader;
};

const letter = (reference: string, payload = '{}') => ({
  origin: { kind: 'rule', ruleName: 'test' } as const,
  reference,
  payload,
  reason: 'test',
});
const storedLetters = (db: DatabaseSync): unknown[] =>
  db
    .prepare('SELECT reference FROM dead_letters ORDER BY id')
    .all()
    .map((row) => row.reference);

/** The archive rule's delivery (OrderAccepted to `target`), polling and backing off fast; not started yet. */
const archiveRule = (
  db: DatabaseSync,
  bus: LocalEventBus,
  target: RuleTarget,
  { name = 'archive', ...options }: RuleDeliveryOptions & { name?: string } = {},
): RuleDelivery =>
  new RuleDelivery(db, bus, [{ name, eventPattern: orderAcceptedPattern, target }], { ...fastDelivery, ...options });

describe('PutEvents on the local bus', () => {
  it('refuses more than 10 entries, or none, as a whole with ValidationException and stores nothing', async () => {
    const bus = new LocalEventBus(openDatabase(), { busName: BUS });

    await expect(bus.putEvents(Array.from({ length: 11 }, () => orderEntry()))).rejects.toMatchObject({
      name: 'ValidationException',
    });
    await expect(bus.putEvents([])).rejects.toMatchObject({ name: 'ValidationException' });
    expect(bus.storedEvents()).toEqual([]);
  });

  it('fails bad entries one by one, counts them, and stores the others with an EventBridge envelope', async () => {
    const bus = new LocalEventBus(openDatabase(), { busName: BUS, account: '123456789012', region: 'eu-west-1' });
    const good = orderEntry();
    const viaArn = orderEntry(bus.arn);
    const entries = [
      good,
      { ...orderEntry(), Source: '' },
      { ...orderEntry(), DetailType: undefined },
      { ...orderEntry(), Detail: '{"orderId": ' },
      { ...orderEntry(), Detail: '[1, 2]' },
      { ...orderEntry(), Detail: JSON.stringify({ padding: 'x'.repeat(MAX_ENTRY_BYTES) }) },
      orderEntry('some-other-bus'),
      viaArn,
    ];

    const result = await bus.putEvents(entries);

    expect(result.FailedEntryCount).toBe(6);
    expect(result.Entries.map((entry) => ('ErrorCode' in entry ? entry.ErrorCode : 'stored'))).toEqual([
      'stored',
      'InvalidArgument',
      'InvalidArgument',
      'MalformedDetail',
      'MalformedDetail',
      'InvalidArgument',
      'ResourceNotFoundException',
      'stored',
    ]);
    const stored = bus.storedEvents();
    expect(stored.map((event) => event.envelope.id)).toEqual(
      [result.Entries[0], result.Entries[7]].map((entry) => (entry && 'EventId' in entry ? entry.EventId : '')),
    );
    expect(stored[0]?.envelope).toEqual({
      version: '0',
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      'detail-type': good.DetailType,
      source: good.Source,
      account: '123456789012',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      region: 'eu-west-1',
      resources: [],
      detail: JSON.parse(good.Detail),
    });
    expect(orderIdOf(stored[1]?.envelope)).toBe(JSON.parse(viaArn.Detail).orderId);
  });

  it('when unavailable, throws InternalException and stores nothing; when back, stores again', async () => {
    const bus = new LocalEventBus(openDatabase(), { busName: BUS, available: false });

    await expect(bus.putEvents([orderEntry()])).rejects.toMatchObject({ name: 'InternalException' });
    expect(bus.storedEvents()).toEqual([]);

    bus.setAvailable(true);
    expect((await bus.putEvents([orderEntry()])).FailedEntryCount).toBe(0);
    expect(bus.storedEvents()).toHaveLength(1);
  });

  it('on a full disk, refuses with InternalException (500) and acknowledges nothing; with room again, stores', async () => {
    const db = openDatabase();
    const bus = new LocalEventBus(db, { busName: BUS });
    setDiskFull(db, true);

    // Enough entries to need new pages: SQLite answers SQLITE_FULL, and the call's one transaction stores none.
    const refused = Array.from({ length: 40 }, () => bus.putEvents(Array.from({ length: 10 }, () => orderEntry())));
    const outcomes = await Promise.allSettled(refused);
    const failures = outcomes.filter((outcome) => outcome.status === 'rejected');
    expect(failures.length).toBeGreaterThan(0);
    for (const failure of failures) {
      expect(failure.reason).toMatchObject({
        name: 'InternalException',
        $fault: 'server',
        $metadata: { httpStatusCode: 500 },
      });
      expect(String(failure.reason.message)).toMatch(/database or disk is full/);
    }
    const acknowledged = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? outcome.value.Entries : []));
    expect(bus.storedEvents().map((event) => event.envelope.id)).toEqual(
      acknowledged.map((entry) => ('EventId' in entry ? entry.EventId : 'failed')),
    );

    setDiskFull(db, false);
    expect((await bus.putEvents([orderEntry()])).FailedEntryCount).toBe(0);
    expect(bus.storedEvents()).toHaveLength(acknowledged.length + 1);
  });

  it('has committed an event by the time it acknowledges it, and keeps it across a reopen', async () => {
    const bus = new LocalEventBus(openDatabase(), { busName: BUS });
    const entry = orderEntry();

    await bus.putEvents([entry]);
    // Another connection sees only committed data.
    const reader = new DatabaseSync(path, { readOnly: true });
    open.push(reader);
    expect(reader.prepare('SELECT COUNT(*) AS n FROM events').get()?.n).toBe(1);

    for (const db of open.splice(0)) db.close();
    const reopened = new LocalEventBus(openDatabase(), { busName: BUS });
    expect(reopened.storedEvents().map((event) => event.envelope.detail)).toEqual([JSON.parse(entry.Detail)]);
  });

  it('acknowledges each call only once its own events are committed', async () => {
    const db = openDatabase();
    const bus = new LocalEventBus(db, { busName: BUS });
    const reader = readerOf();
    const storedByOthers = (): number => Number(reader.prepare('SELECT COUNT(*) AS n FROM events').get()?.n);

    const acknowledged: number[] = [];
    await Promise.all(
      Array.from({ length: 50 }, () => bus.putEvents([orderEntry()]).then(() => acknowledged.push(storedByOthers()))),
    );
    // The n-th acknowledgement came when another connection saw at least n events, that is, committed.
    expect(acknowledged.every((visible, index) => visible >= index + 1)).toBe(true);
    expect(storedByOthers()).toBe(50);
  });

  it('stores each event with the name of the caller that published it, when it gives one', async () => {
    const bus = new LocalEventBus(openDatabase(), { busName: BUS });
    await bus.publishingAs(PUBLISHERS.workflow).putEvents([orderEntry()]);
    await bus.publishingAs(PUBLISHERS.relay).putEvents([orderEntry()]);
    await bus.putEvents([orderEntry()]);
    expect(bus.storedEvents().map((event) => event.publishedBy)).toEqual(['workflow', 'outbox-relay', undefined]);
  });

  it('adds the publisher columns to an events database made before them, keeping its events', async () => {
    const old = new DatabaseSync(path);
    old.exec(`CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE,
                bus_name TEXT NOT NULL, envelope TEXT NOT NULL)`);
    old.prepare('INSERT INTO events (event_id, bus_name, envelope) VALUES (?, ?, ?)').run('old', BUS, '{"id":"old"}');
    old.close();

    const bus = new LocalEventBus(openDatabase(), { busName: BUS });
    await bus.publishingAs(PUBLISHERS.relay).putEvents([orderEntry()]);
    expect(bus.storedEvents().map((event) => [event.envelope.id, event.publishedBy])).toEqual([
      ['old', undefined],
      [expect.any(String), 'outbox-relay'],
    ]);
    // Opening it again finds the columns there and leaves them be.
    expect(() => openDatabase()).not.toThrow();
  });

  it('runs in WAL mode with synchronous NORMAL: a commit survives kill -9 without an fsync of its own', () => {
    const db = openDatabase();
    expect(db.prepare('PRAGMA journal_mode').get()?.journal_mode).toBe('wal');
    // 1 = NORMAL
    expect(db.prepare('PRAGMA synchronous').get()?.synchronous).toBe(1);
  });
});

describe('the events database’s transactions', () => {
  it('refuses only the caller whose work failed, undoing all of its work, and commits the others', async () => {
    const db = openDatabase();
    const reader = readerOf();
    const group = commitsOf(db);

    const outcomes = await Promise.allSettled([
      group.commit(() => recordDeadLetter(db, letter('first'))),
      group.commit(() => {
        recordDeadLetter(db, letter('undone'));
        db.prepare('INSERT INTO delivery_attempts (rule_name) VALUES (?)').run('archive');
      }),
      group.commit(() => recordDeadLetter(db, letter('third'))),
    ]);

    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(outcomes[1]).toMatchObject({
      reason: expect.objectContaining({ message: expect.stringMatching(/NOT NULL constraint failed/) }),
    });
    expect(storedLetters(reader)).toEqual(['first', 'third']);
  });

  it('refuses only the work that needs pages a full disk cannot give, and commits the others', async () => {
    const db = openDatabase();
    const group = commitsOf(db);
    const moveCursor = (rule: string, seq: number) => () =>
      db.prepare('UPDATE delivery_cursors SET last_seq = ? WHERE rule_name = ?').run(seq, rule);
    await group.commit(() => {
      db.prepare('INSERT INTO delivery_cursors (rule_name, last_seq) VALUES (?, 0), (?, 0)').run('first', 'second');
    });
    setDiskFull(db, true);

    const outcomes = await Promise.allSettled([
      group.commit(moveCursor('first', 7)),
      // Needs new pages: SQLite answers SQLITE_FULL and rolls this work's transaction back.
      group.commit(() => recordDeadLetter(db, letter('too big', 'x'.repeat(100_000)))),
      group.commit(moveCursor('second', 9)),
    ]);

    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(outcomes[1]).toMatchObject({
      reason: expect.objectContaining({ message: expect.stringMatching(/database or disk is full/) }),
    });
    const reader = readerOf();
    expect(reader.prepare('SELECT rule_name, last_seq FROM delivery_cursors ORDER BY rule_name').all()).toEqual([
      { rule_name: 'first', last_seq: 7 },
      { rule_name: 'second', last_seq: 9 },
    ]);
    expect(storedLetters(reader)).toEqual([]);
    setDiskFull(db, false);
    await group.commit(() => recordDeadLetter(db, letter('with room')));
    expect(storedLetters(readerOf())).toEqual(['with room']);
  });

  it('refuses a work that is not synchronous: what it wrote after an await would escape the transaction', async () => {
    const db = openDatabase();
    const group = commitsOf(db);
    const asynchronous = group.commit(async () => {
      recordDeadLetter(db, letter('before the await'));
      await Promise.resolve();
    });
    await expect(asynchronous).rejects.toThrow('a transaction work must be synchronous');
    expect(storedLetters(readerOf())).toEqual([]);
  });

  it('refuses a write to a closed database, and the process goes on', async () => {
    const db = openEventsDatabase(path);
    db.close();
    await expect(commitsOf(db).commit(() => recordDeadLetter(db, letter('too late')))).rejects.toThrow(
      'the events database is closed',
    );
  });

  it('refuses each caller whose COMMIT failed, and leaves the database ready for the next', async () => {
    const db = openDatabase();
    const group = commitsOf(db);
    const exec = db.exec.bind(db);
    db.exec = (sql: string) => {
      if (sql === 'COMMIT') throw new Error('disk I/O error');
      return exec(sql);
    };

    const outcomes = await Promise.allSettled([
      group.commit(() => recordDeadLetter(db, letter('first'))),
      group.commit(() => recordDeadLetter(db, letter('second'))),
    ]);

    expect(outcomes).toEqual([
      { status: 'rejected', reason: new Error('disk I/O error') },
      { status: 'rejected', reason: new Error('disk I/O error') },
    ]);
    expect(db.isTransaction).toBe(false);
    expect(storedLetters(db)).toEqual([]);
    db.exec = exec;
    await group.commit(() => recordDeadLetter(db, letter('next')));
    expect(storedLetters(readerOf())).toEqual(['next']);
  });
});

describe('event patterns', () => {
  const envelope = {
    source: 'orders.intake',
    'detail-type': 'OrderAccepted',
    detail: { status: 'ACCEPTED', tags: ['b2b', 'eu'], customer: { tier: 'gold' } },
  };

  it('match exact values of top-level and nested fields, and any element of an array value', () => {
    expect(matchesPattern(orderAcceptedPattern, envelope)).toBe(true);
    expect(matchesPattern({ detail: { status: ['ACCEPTED', 'HELD'] } }, envelope)).toBe(true);
    expect(matchesPattern({ detail: { customer: { tier: ['gold'] } } }, envelope)).toBe(true);
    expect(matchesPattern({ detail: { tags: ['eu'] } }, envelope)).toBe(true);
  });

  it('do not match another value, a missing field, or a scalar where an object is expected', () => {
    expect(matchesPattern({ ...orderAcceptedPattern, source: ['orders.other'] }, envelope)).toBe(false);
    expect(matchesPattern({ detail: { channel: ['web'] } }, envelope)).toBe(false);
    expect(matchesPattern({ source: { nested: ['x'] } }, envelope)).toBe(false);
    expect(matchesPattern({ detail: { status: ['accepted'] } }, envelope)).toBe(false);
  });

  it('match a prefix filter against string values only, as EventBridge does', () => {
    expect(matchesPattern({ source: [{ prefix: 'orders.' }] }, envelope)).toBe(true);
    expect(matchesPattern({ source: ['billing', { prefix: 'orders.int' }] }, envelope)).toBe(true);
    expect(matchesPattern({ source: [{ prefix: 'Orders.' }] }, envelope)).toBe(false);
    expect(matchesPattern({ detail: { customer: [{ prefix: '' }] } }, envelope)).toBe(false);
  });

  it('refuse content filters the local matcher does not implement', () => {
    expect(() => assertSupportedPattern({ source: [{ prefix: 'orders.' }] })).not.toThrow();
    expect(() => assertSupportedPattern({ source: [{ 'anything-but': 'orders.' }] })).toThrow(/exact values/);
    expect(() => assertSupportedPattern({ source: [{ prefix: 'a', suffix: 'b' }] })).toThrow(/exact values/);
    expect(() => assertSupportedPattern({ source: [] })).toThrow(/exact values/);
    expect(() => assertSupportedPattern({})).toThrow(/non-empty/);
  });
});

describe('delivery to rule targets', () => {
  it('hands matching events to the target in batches of at most 10, in order, and skips the others', async () => {
    const db = openDatabase();
    const bus = new LocalEventBus(db, { busName: BUS });
    const target = new RecordingTarget();
    const delivery = archiveRule(db, bus, target);
    delivery.start();

    const puts = [];
    for (let call = 0; call < 3; call += 1) {
      puts.push(...Array.from({ length: 8 }, () => orderEntry()));
    }
    for (let start = 0; start < puts.length; start += 8) await bus.putEvents(puts.slice(start, start + 8));
    await bus.putEvents([{ ...orderEntry(), Source: 'someone.else' }]);
    await eventually(
      'the cursor reaches the last event',
      () => delivery.cursorOf('archive') === bus.storedEvents().at(-1)?.seq,
    );
    await delivery.stop();

    expect(target.delivered.map((event) => event.detail)).toEqual(puts.map((entry) => JSON.parse(entry.Detail)));
    expect(Math.max(...target.batches.map((batch) => batch.length))).toBeLessThanOrEqual(10);
  });

  it('redelivers an event its target failed, and moves the cursor past it only after success', async () => {
    const db = openDatabase();
    const bus = new LocalEventBus(db, { busName: BUS });
    const target = new RecordingTarget();
    const [first, second, third] = [orderEntry(), orderEntry(), orderEntry()];
    target.failuresLeft.set(JSON.parse(second.Detail).orderId, 2);
    const delivery = archiveRule(db, bus, target);
    const cursors: number[] = [];
    target.observe = () => cursors.push(delivery.cursorOf('archive'));
    delivery.start();

    await bus.putEvents([first, second, third]);
    const [seq1, , seq3] = bus.storedEvents().map((event) => event.seq);
    await eventually('the cursor passes the third event', () => delivery.cursorOf('archive') === seq3);
    await delivery.stop();

    expect(target.batches.map((batch) => batch.map(orderIdOf))).toEqual([
      [first, second, third].map((entry) => JSON.parse(entry.Detail).orderId),
      [second, third].map((entry) => JSON.parse(entry.Detail).orderId),
      [second, third].map((entry) => JSON.parse(entry.Detail).orderId),
    ]);
    // The first event was done after the first batch; the cursor waited before the second until it succeeded.
    expect(cursors).toEqual([0, seq1, seq1]);
  });

  it('keeps the cursor across a reopen: a restarted rule delivers only what it had not', async () => {
    let db = openDatabase();
    let bus = new LocalEventBus(db, { busName: BUS });
    const before = new RecordingTarget();
    let delivery = archiveRule(db, bus, before);
    delivery.start();
    await bus.putEvents([orderEntry(), orderEntry()]);
    await eventually('both events are delivered', () => before.delivered.length === 2);
    await eventually(
      'the cursor reaches the last event',
      () => delivery.cursorOf('archive') === bus.storedEvents().at(-1)?.seq,
    );
    await delivery.stop();
    db.close();

    db = openDatabase();
    bus = new LocalEventBus(db, { busName: BUS });
    const after = new RecordingTarget();
    delivery = archiveRule(db, bus, after);
    const later = orderEntry();
    await bus.putEvents([later]);
    delivery.start();
    await eventually('the later event is delivered', () => after.delivered.length >= 1);
    await delivery.stop();

    expect(after.delivered.map(orderIdOf)).toEqual([JSON.parse(later.Detail).orderId]);
  });

  it('starts a new rule at the end of the log, as EventBridge does', async () => {
    const db = openDatabase();
    const bus = new LocalEventBus(db, { busName: BUS });
    await bus.putEvents([orderEntry()]);
    const target = new RecordingTarget();
    const delivery = archiveRule(db, bus, target, { name: 'new' });
    delivery.start();
    const fresh = orderEntry();
    await bus.putEvents([fresh]);
    await eventually('the fresh event is delivered', () => target.delivered.length >= 1);
    await delivery.stop();

    expect(target.delivered.map(orderIdOf)).toEqual([JSON.parse(fresh.Detail).orderId]);
  });

  it('dead-letters an event that keeps failing, and goes on with the next', async () => {
    const db = openDatabase();
    const bus = new LocalEventBus(db, { busName: BUS });
    const target = new RecordingTarget();
    const [poisoned, next] = [orderEntry(), orderEntry()];
    target.failuresLeft.set(JSON.parse(poisoned.Detail).orderId, Number.POSITIVE_INFINITY);
    const delivery = archiveRule(db, bus, target, { maxReceives: 3 });
    delivery.start();
    await bus.putEvents([poisoned]);
    await bus.putEvents([next]);
    await eventually(
      'the cursor reaches the last event',
      () => delivery.cursorOf('archive') === bus.storedEvents().at(-1)?.seq,
    );
    await delivery.stop();

    expect(listDeadLetters(db).map((dead) => [dead.origin, orderIdOf(JSON.parse(dead.payload))])).toEqual([
      [{ kind: 'rule', ruleName: 'archive' }, JSON.parse(poisoned.Detail).orderId],
    ]);
    expect(target.delivered.filter((event) => orderIdOf(event) === JSON.parse(poisoned.Detail).orderId)).toHaveLength(
      3,
    );
    expect(target.delivered.map(orderIdOf)).toContain(JSON.parse(next.Detail).orderId);
  });

  it('has its cursor move on disk before it hands the target the next batch', async () => {
    const db = openDatabase();
    const bus = new LocalEventBus(db, { busName: BUS });
    const target = new RecordingTarget();
    const delivery = archiveRule(db, bus, target);
    const reader = readerOf();
    const cursor = reader.prepare('SELECT last_seq FROM delivery_cursors WHERE rule_name = ?');
    const storedCursors: number[] = [];
    target.observe = () => storedCursors.push(Number(cursor.get('archive')?.last_seq));
    await bus.putEvents(Array.from({ length: 10 }, () => orderEntry()));
    await bus.putEvents(Array.from({ length: 5 }, () => orderEntry()));

    delivery.start();
    await eventually('both batches are delivered', () => target.delivered.length === 15);
    await delivery.stop();

    expect(storedCursors).toEqual([0, bus.storedEvents()[9]?.seq]);
  });

  it('stores the dead letters and the cursor without the attempts when those cannot be stored, and says so once', async () => {
    const db = openDatabase();
    const bus = new LocalEventBus(db, { busName: BUS });
    const target = new RecordingTarget();
    const logs: Record<string, unknown>[] = [];
    const delivery = archiveRule(db, bus, target, {
      maxReceives: 1,
      log: (line) => logs.push(line as Record<string, unknown>),
    });
    // A full disk's effect on the attempts, without its effect on the rest.
    db.exec(`CREATE TRIGGER refuse_attempts BEFORE INSERT ON delivery_attempts
             BEGIN SELECT RAISE(ABORT, 'attempts refused'); END`);
    const poisoned = orderEntry();
    target.failuresLeft.set(JSON.parse(poisoned.Detail).orderId, Number.POSITIVE_INFINITY);
    const caughtUp = () => delivery.cursorOf('archive') === bus.storedEvents().at(-1)?.seq;
    const attempts = () => Number(db.prepare('SELECT COUNT(*) AS n FROM delivery_attempts').get()?.n);
    delivery.start();

    await bus.putEvents([poisoned, orderEntry()]);
    await eventually('the cursor reaches the last event', caughtUp);
    await bus.putEvents([orderEntry()]);
    await eventually('the cursor reaches the next event', caughtUp);
    expect(listDeadLetters(db).map((dead) => [dead.origin, orderIdOf(JSON.parse(dead.payload))])).toEqual([
      [{ kind: 'rule', ruleName: 'archive' }, JSON.parse(poisoned.Detail).orderId],
    ]);
    expect(attempts()).toBe(0);

    db.exec('DROP TRIGGER refuse_attempts');
    await bus.putEvents([orderEntry()]);
    await eventually('the cursor reaches the event after the disk has room', caughtUp);
    await delivery.stop();

    expect(attempts()).toBe(1);
    expect(logs.map((line) => [line.level, line.message])).toEqual([
      ['warn', 'delivery attempts not recorded until the events database takes them again'],
      ['error', 'event dead-lettered'],
      ['info', 'delivery attempts recorded again'],
    ]);
  });

  it('delivers a batch again while not even its cursor move can be stored', async () => {
    const db = openDatabase();
    const bus = new LocalEventBus(db, { busName: BUS });
    const target = new RecordingTarget();
    const logs: Record<string, unknown>[] = [];
    const delivery = archiveRule(db, bus, target, { log: (line) => logs.push(line as Record<string, unknown>) });
    db.exec(`CREATE TRIGGER refuse_cursors BEFORE UPDATE ON delivery_cursors
             BEGIN SELECT RAISE(ABORT, 'cursor refused'); END`);
    const entry = orderEntry();
    delivery.start();

    await bus.putEvents([entry]);
    await eventually('the event is delivered twice', () => target.batches.length >= 2);
    db.exec('DROP TRIGGER refuse_cursors');
    await eventually(
      'the cursor reaches the event',
      () => delivery.cursorOf('archive') === bus.storedEvents().at(-1)?.seq,
    );
    await delivery.stop();

    expect(new Set(target.delivered.map(orderIdOf))).toEqual(new Set([JSON.parse(entry.Detail).orderId]));
    expect(logs[0]).toMatchObject({
      level: 'error',
      message: 'delivery progress not stored, delivering again',
      error: expect.stringMatching(/cursor refused/),
    });
  });

  it('scans again, after a backoff, events none of which is for it while its cursor move past them is not stored', async () => {
    const db = openDatabase();
    const bus = new LocalEventBus(db, { busName: BUS });
    const logs: Record<string, unknown>[] = [];
    const delivery = archiveRule(db, bus, new RecordingTarget(), {
      log: (line) => logs.push(line as Record<string, unknown>),
    });
    db.exec(`CREATE TRIGGER refuse_cursors BEFORE UPDATE ON delivery_cursors
             BEGIN SELECT RAISE(ABORT, 'cursor refused'); END`);
    delivery.start();

    await bus.putEvents([{ ...orderEntry(), Source: 'someone.else' }]);
    await eventually('the move is refused twice', () => logs.length >= 2);
    db.exec('DROP TRIGGER refuse_cursors');
    await eventually(
      'the cursor passes the event',
      () => delivery.cursorOf('archive') === bus.storedEvents().at(-1)?.seq,
    );
    await delivery.stop();

    expect(logs[0]).toMatchObject({
      level: 'error',
      message: 'delivery cursor not moved, scanning again',
      error: expect.stringMatching(/cursor refused/),
    });
  });

  it('redrives a dead letter to its rule’s target: one more recorded attempt, the letter gone once taken', async () => {
    const db = openDatabase();
    const bus = new LocalEventBus(db, { busName: BUS });
    const target = new RecordingTarget();
    const poisoned = orderEntry();
    const orderId = JSON.parse(poisoned.Detail).orderId;
    target.failuresLeft.set(orderId, 3);
    const delivery = archiveRule(db, bus, target, { maxReceives: 2 });
    delivery.start();
    await bus.putEvents([poisoned]);
    await eventually('the event is dead-lettered', () => listDeadLetters(db).length === 1);
    const [letter] = listDeadLetters(db);

    // The target still fails once more: the letter stays, the attempt is recorded.
    expect(await delivery.redrive(letter?.id ?? 0)).toMatchObject({ outcome: 'failed' });
    expect(listDeadLetters(db)).toHaveLength(1);
    expect(await delivery.redrive(letter?.id ?? 0)).toMatchObject({ outcome: 'delivered' });
    expect(listDeadLetters(db)).toEqual([]);
    expect(await delivery.redrive(letter?.id ?? 0)).toMatchObject({ outcome: 'not-found' });
    await delivery.stop();

    const attempts = db
      .prepare('SELECT attempt, outcome, detail FROM delivery_attempts WHERE rule_name = ? ORDER BY id')
      .all('archive');
    expect(attempts.map((row) => [row.attempt, row.outcome])).toEqual([
      [1, 'failed'],
      [2, 'dead-lettered'],
      [3, 'failed'],
      [4, 'delivered'],
    ]);
    expect(String(attempts.at(-1)?.detail)).toMatch(/^redrive of dead letter \d+/);
    expect(target.delivered.map(orderIdOf)).toEqual([orderId, orderId, orderId, orderId]);
  });

  it('does not redrive a letter whose rule the running bus does not have', async () => {
    const db = openDatabase();
    const bus = new LocalEventBus(db, { busName: BUS });
    recordDeadLetter(db, {
      origin: { kind: 'rule', ruleName: 'removed' },
      reference: 'e1',
      payload: '{}',
      reason: 'test',
    });
    const delivery = archiveRule(db, bus, new RecordingTarget());
    expect(await delivery.redrive(listDeadLetters(db)[0]?.id ?? 0)).toMatchObject({ outcome: 'not-redrivable' });
    expect(listDeadLetters(db)).toHaveLength(1);
  });
});
