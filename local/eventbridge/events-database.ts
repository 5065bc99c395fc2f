/**
 * The local event runtime's one store: the bus's event log, each rule's delivery cursor and delivery attempts, the
 * stream relay's shard checkpoints and dead letters, in one SQLite file, so that an event and the progress made on
 * it commit to the same durable place. Every statement on that file is here; the bus, the rules, the relay, the
 * retention, the console and `npm run events` call these functions (each write in a transaction, `commitsOf`).
 */
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { createPrivateFile } from '../private-files.js';
import { withoutUrlSecrets } from '../secrets.js';
import type { EventEnvelope, StoredEvent } from './local-event-bus.js';

/** The event log's file, under the data folder (`npm run events` reads it beside a running service). */
export const EVENTS_DATABASE_FILE = 'events.sqlite';

/**
 * origin_kind says who gave up on the letter: a rule of the bus (origin_name its name) or the stream relay
 * (origin_name the shard's id); reference is the event's id or the record's sequence number.
 */
const DEAD_LETTERS_TABLE = `CREATE TABLE IF NOT EXISTS dead_letters (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    origin_kind TEXT NOT NULL CHECK (origin_kind IN ('rule', 'stream')),
    origin_name TEXT NOT NULL,
    reference   TEXT NOT NULL,
    payload     TEXT NOT NULL,
    reason      TEXT NOT NULL,
    failed_at   TEXT NOT NULL
  );`;

const SCHEMA = `
  -- AUTOINCREMENT: a seq is never reused, so a cursor can never point at a different event. published_by names the
  -- caller of PutEvents (the workflow's Publish state or the outbox relay), published_at its commit (epoch ms).
  CREATE TABLE IF NOT EXISTS events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id     TEXT NOT NULL UNIQUE,
    bus_name     TEXT NOT NULL,
    envelope     TEXT NOT NULL,
    published_by TEXT,
    published_at INTEGER
  );
  CREATE TABLE IF NOT EXISTS delivery_cursors (
    rule_name TEXT PRIMARY KEY,
    last_seq  INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS stream_checkpoints (
    stream_arn      TEXT NOT NULL,
    shard_id        TEXT NOT NULL,
    sequence_number TEXT,
    finished        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (stream_arn, shard_id)
  );
  ${DEAD_LETTERS_TABLE}
  -- Every delivery of an event to a rule's target, written with the cursor move of the same delivery call. Read by
  -- people and tools (not by delivery, except to resume an event's retry count after a restart).
  CREATE TABLE IF NOT EXISTS delivery_attempts (
    id          INTEGER PRIMARY KEY,
    rule_name   TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    event_seq   INTEGER NOT NULL,
    attempt     INTEGER NOT NULL,
    started_at  TEXT NOT NULL,
    duration_ms REAL NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('delivered', 'failed', 'dead-lettered')),
    detail      TEXT
  );
  CREATE INDEX IF NOT EXISTS delivery_attempts_by_rule ON delivery_attempts (rule_name, event_seq);
  CREATE INDEX IF NOT EXISTS delivery_attempts_by_event ON delivery_attempts (event_id);
  -- The console's order page finds an order's events without reading the whole log (EVENTS_OF_ORDER uses it).
  CREATE INDEX IF NOT EXISTS events_by_order ON events (json_extract(envelope, '$.detail.orderId'));
`;

/** Columns added after the first release: a database made before them gets them on open (NULL for old rows). */
const ADDED_COLUMNS = [
  { table: 'events', column: 'published_by', type: 'TEXT' },
  { table: 'events', column: 'published_at', type: 'INTEGER' },
] as const;

const hasColumn = (db: DatabaseSync, table: string, column: string): boolean =>
  db
    .prepare(`PRAGMA table_info(${table})`)
    .all()
    .some((row) => row.name === column);

/**
 * Until schema version 2 a dead letter's origin was one text, `rule:<rule name>` or `stream:<shard id>`. The table is
 * rebuilt with the two typed columns, every letter kept under its own id, and the id sequence carried over so that a
 * redriven letter's id is never given again. An origin of neither form (none was ever written) is kept as a rule's,
 * under its whole text: shown and listed, not redriven.
 */
const TYPED_DEAD_LETTER_ORIGIN = `
  ALTER TABLE dead_letters RENAME TO dead_letters_v1;
  ${DEAD_LETTERS_TABLE}
  INSERT INTO dead_letters (id, origin_kind, origin_name, reference, payload, reason, failed_at)
    SELECT id,
           CASE WHEN origin LIKE 'stream:%' THEN 'stream' ELSE 'rule' END,
           CASE WHEN origin LIKE 'stream:%' THEN substr(origin, 8)
                WHEN origin LIKE 'rule:%' THEN substr(origin, 6)
                ELSE origin END,
           reference, payload, reason, failed_at
    FROM dead_letters_v1;
  DELETE FROM sqlite_sequence WHERE name = 'dead_letters';
  UPDATE sqlite_sequence SET name = 'dead_letters' WHERE name = 'dead_letters_v1';
  DROP TABLE dead_letters_v1;
`;

/** The schema's version (PRAGMA user_version): 0 before versions were kept, 2 since dead letters' typed origin. */
export const SCHEMA_VERSION = 2;

/**
 * Brings a database of any earlier version to SCHEMA_VERSION in one transaction: a crash or a failure part way
 * leaves it as it was, to be migrated at the next open.
 */
function migrate(db: DatabaseSync): void {
  const version = Number(db.prepare('PRAGMA user_version').get()?.user_version ?? 0);
  if (version >= SCHEMA_VERSION) return;
  db.exec('BEGIN IMMEDIATE');
  try {
    for (const { table, column, type } of ADDED_COLUMNS) {
      if (!hasColumn(db, table, column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
    }
    if (hasColumn(db, 'dead_letters', 'origin')) db.exec(TYPED_DEAD_LETTER_ORIGIN);
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    db.exec('COMMIT');
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw error;
  }
}

export function openEventsDatabase(path: string): DatabaseSync {
  if (path !== ':memory:') createPrivateFile(path, dirname(path));
  const db = new DatabaseSync(path);
  try {
    prepare(db);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/** Its settings, schema and migrations. */
function prepare(db: DatabaseSync): void {
  // Another process with the same data folder, or a checkpointer closing, is waited for instead of failing at once.
  db.exec('PRAGMA busy_timeout = 5000');
  db.exec('PRAGMA journal_mode = WAL');
  // In WAL mode, NORMAL survives a killed process (a commit is in the WAL, in the OS's page cache) but not a power
  // loss or an OS crash, which can take back the last commits since a checkpoint synced the WAL: always a whole
  // prefix of the log's history, so a lost event's checkpoint, cursor move or dead letter is lost with it and the
  // relay publishes it again from the table's stream (docs/reliability.md). FULL, an fsync per commit, bought the
  // power loss too; a group commit made that affordable (one fsync per turn of the event loop, off the loop), but
  // `npm run bench` showed no gain for the service end to end (issue 22), and the orders' own promise is kill -9.
  db.exec('PRAGMA synchronous = NORMAL');
  db.exec(SCHEMA);
  migrate(db);
}

/** Where the event runtime's writes go: each caller hears once its work is committed, or that it failed. */
export interface Commits {
  commit(work: () => void): Promise<void>;
}

/**
 * Every write of the running event runtime: the caller's work in a transaction of its own, committed before the
 * caller hears of it. A work that throws is rolled back, its own writes with it, and fails its caller alone; so does
 * a work that returns a promise, since what it wrote after an await would fall outside the transaction.
 */
export const commitsOf = (db: DatabaseSync): Commits => ({
  commit: (work) =>
    new Promise((resolve) => {
      inTransaction(db, work);
      resolve();
    }),
});

function inTransaction(db: DatabaseSync, work: () => void): void {
  if (!db.isOpen) throw new Error('the events database is closed');
  db.exec('BEGIN IMMEDIATE');
  try {
    const returned: unknown = work();
    if (typeof (returned as { then?: unknown } | undefined)?.then === 'function') {
      throw new TypeError('a transaction work must be synchronous');
    }
    db.exec('COMMIT');
  } catch (error) {
    // A full disk may have rolled the transaction back already; a failed COMMIT may have left it open.
    if (db.isOpen && db.isTransaction) db.exec('ROLLBACK');
    throw error;
  }
}

/** The log opened beside a running service without disturbing it (`npm run events`): it only reads. */
export const openEventsReader = (path: string): DatabaseSync => new DatabaseSync(path, { readOnly: true });

/** Statements prepared once per connection: PutEvents and every delivery loop's turn run them again and again. */
const statements = new WeakMap<DatabaseSync, Map<string, StatementSync>>();

function sql(db: DatabaseSync, text: string): StatementSync {
  let prepared = statements.get(db);
  if (!prepared) {
    prepared = new Map();
    statements.set(db, prepared);
  }
  let statement = prepared.get(text);
  if (!statement) {
    statement = db.prepare(text);
    prepared.set(text, statement);
  }
  return statement;
}

const optional = (value: unknown): string | undefined =>
  value === null || value === undefined ? undefined : String(value);

// Events: the bus's log, in the order they were stored (seq).

/** A stored event with when and by whom it was published, as the console shows it. */
export interface PublishedEvent {
  seq: number;
  envelope: EventEnvelope;
  publishedBy: string | undefined;
  /** Epoch ms of the commit; the event's own time for an event stored before it was kept. */
  publishedAt: number;
}

export function insertEvents(
  db: DatabaseSync,
  busName: string,
  envelopes: readonly EventEnvelope[],
  published: { by: string | undefined; at: number },
): void {
  const insert = sql(
    db,
    'INSERT INTO events (event_id, bus_name, envelope, published_by, published_at) VALUES (?, ?, ?, ?, ?)',
  );
  for (const envelope of envelopes) {
    insert.run(envelope.id, busName, JSON.stringify(envelope), published.by ?? null, published.at);
  }
}

const storedEventOf = (row: Record<string, unknown>): StoredEvent => ({
  seq: Number(row.seq),
  busName: String(row.bus_name),
  envelope: JSON.parse(String(row.envelope)) as EventEnvelope,
  ...(optional(row.published_by) === undefined ? {} : { publishedBy: String(row.published_by) }),
});

/** Every event of the bus, oldest first. */
export const storedEvents = (db: DatabaseSync, busName: string): StoredEvent[] =>
  sql(db, 'SELECT seq, bus_name, envelope, published_by FROM events WHERE bus_name = ? ORDER BY seq')
    .all(busName)
    .map(storedEventOf);

/** Up to `limit` events after `seq`, oldest first: of one bus, or of every bus. */
export const eventsAfter = (
  db: DatabaseSync,
  seq: number,
  options: { busName?: string; limit: number },
): StoredEvent[] =>
  (options.busName === undefined
    ? sql(db, 'SELECT seq, bus_name, envelope, published_by FROM events WHERE seq > ? ORDER BY seq LIMIT ?').all(
        seq,
        options.limit,
      )
    : sql(
        db,
        'SELECT seq, bus_name, envelope, published_by FROM events WHERE bus_name = ? AND seq > ? ORDER BY seq LIMIT ?',
      ).all(options.busName, seq, options.limit)
  ).map(storedEventOf);

export const lastSeq = (db: DatabaseSync): number =>
  Number(sql(db, 'SELECT COALESCE(MAX(seq), 0) AS seq FROM events').get()?.seq ?? 0);

export const seqOfEvent = (db: DatabaseSync, eventId: string): number | undefined => {
  const seq = sql(db, 'SELECT seq FROM events WHERE event_id = ?').get(eventId)?.seq;
  return seq === undefined || seq === null ? undefined : Number(seq);
};

/** Events of the bus after `seq`: a rule's backlog. */
export const eventsBeyond = (db: DatabaseSync, busName: string, seq: number): number =>
  Number(sql(db, 'SELECT COUNT(*) AS backlog FROM events WHERE bus_name = ? AND seq > ?').get(busName, seq)?.backlog);

/**
 * Every event whose detail names the order, oldest first. SQLite uses an index on an expression only for that very
 * expression, so this query and events_by_order are written together.
 */
export const EVENTS_OF_ORDER = `SELECT seq, envelope, published_by, published_at FROM events
  WHERE json_extract(envelope, '$.detail.orderId') = ? ORDER BY seq`;

export const eventsOfOrder = (db: DatabaseSync, orderId: string): PublishedEvent[] =>
  sql(db, EVENTS_OF_ORDER)
    .all(orderId)
    .map((row) => {
      const envelope = JSON.parse(String(row.envelope)) as EventEnvelope;
      return {
        seq: Number(row.seq),
        envelope,
        publishedBy: optional(row.published_by),
        publishedAt: row.published_at === null ? Date.parse(envelope.time) : Number(row.published_at),
      };
    });

// Delivery cursors: the last event each rule is done with.

/** A new rule sees the events put after it was created, as in EventBridge; an existing cursor stays. */
export function createCursors(db: DatabaseSync, busName: string, ruleNames: readonly string[]): void {
  const create = sql(
    db,
    `INSERT OR IGNORE INTO delivery_cursors (rule_name, last_seq)
     SELECT ?, COALESCE(MAX(seq), 0) FROM events WHERE bus_name = ?`,
  );
  for (const ruleName of ruleNames) create.run(ruleName, busName);
}

export const cursorOf = (db: DatabaseSync, ruleName: string): number =>
  Number(sql(db, 'SELECT last_seq FROM delivery_cursors WHERE rule_name = ?').get(ruleName)?.last_seq ?? 0);

/** Moves the rule's cursor forward to `seq`; never back. */
export function advanceCursor(db: DatabaseSync, ruleName: string, seq: number): void {
  sql(db, 'UPDATE delivery_cursors SET last_seq = ? WHERE rule_name = ? AND last_seq < ?').run(seq, ruleName, seq);
}

export const cursorRuleNames = (db: DatabaseSync): string[] =>
  sql(db, 'SELECT rule_name FROM delivery_cursors ORDER BY rule_name')
    .all()
    .map((row) => String(row.rule_name));

export function deleteCursor(db: DatabaseSync, ruleName: string): void {
  sql(db, 'DELETE FROM delivery_cursors WHERE rule_name = ?').run(ruleName);
}

// Delivery attempts: every delivery of an event to a rule's target.

export type AttemptOutcome = 'delivered' | 'failed' | 'dead-lettered';

export interface DeliveryAttempt {
  ruleName: string;
  eventId: string;
  eventSeq: number;
  attempt: number;
  /** ISO time the delivery call started. */
  startedAt: string;
  /** Of the whole delivery call. */
  durationMs: number;
  outcome: AttemptOutcome;
  detail: string | undefined;
}

export function insertAttempt(db: DatabaseSync, attempt: DeliveryAttempt): void {
  sql(
    db,
    `INSERT INTO delivery_attempts
       (rule_name, event_id, event_seq, attempt, started_at, duration_ms, outcome, detail)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    attempt.ruleName,
    attempt.eventId,
    attempt.eventSeq,
    attempt.attempt,
    attempt.startedAt,
    attempt.durationMs,
    attempt.outcome,
    attempt.detail ?? null,
  );
}

/** How many attempts the rule has made on the event so far. */
export const attemptsSoFar = (db: DatabaseSync, ruleName: string, eventId: string): number =>
  Number(
    sql(db, 'SELECT MAX(attempt) AS attempts FROM delivery_attempts WHERE rule_name = ? AND event_id = ?').get(
      ruleName,
      eventId,
    )?.attempts ?? 0,
  );

/** Every attempt on the events, in the order they were made. */
export function attemptsOf(db: DatabaseSync, eventIds: readonly string[]): DeliveryAttempt[] {
  if (eventIds.length === 0) return [];
  return db
    .prepare(
      `SELECT rule_name, event_id, event_seq, attempt, started_at, duration_ms, outcome, detail FROM delivery_attempts
       WHERE event_id IN (${eventIds.map(() => '?').join(', ')}) ORDER BY id`,
    )
    .all(...eventIds)
    .map((row) => ({
      ruleName: String(row.rule_name),
      eventId: String(row.event_id),
      eventSeq: Number(row.event_seq),
      attempt: Number(row.attempt),
      startedAt: String(row.started_at),
      durationMs: Number(row.duration_ms),
      outcome: String(row.outcome) as AttemptOutcome,
      // Stored by an older version, a detail may quote a URL's query string.
      detail: row.detail === null ? undefined : withoutUrlSecrets(String(row.detail)),
    }));
}

/** What a rule's attempts say of one event it has not passed yet. */
export interface EventProgress {
  seq: number;
  attempts: number;
  failures: number;
  /** Epoch ms. */
  firstFailedAt?: number;
  deadLettered?: boolean;
}

/** Per event beyond `seq` that the rule has tried: so that a restart resumes its retry count. */
export function progressBeyond(db: DatabaseSync, ruleName: string, seq: number): Map<string, EventProgress> {
  const rows = sql(
    db,
    `SELECT event_id, MIN(event_seq) AS seq, MAX(attempt) AS attempts,
            SUM(outcome <> 'delivered') AS failures,
            MIN(CASE WHEN outcome <> 'delivered' THEN started_at END) AS first_failed_at,
            MAX(outcome = 'dead-lettered') AS dead_lettered
     FROM delivery_attempts WHERE rule_name = ? AND event_seq > ? GROUP BY event_id`,
  ).all(ruleName, seq);
  return new Map(
    rows.map((row) => [
      String(row.event_id),
      {
        seq: Number(row.seq),
        attempts: Number(row.attempts),
        failures: Number(row.failures),
        firstFailedAt: row.first_failed_at === null ? undefined : Date.parse(String(row.first_failed_at)),
        deadLettered: Number(row.dead_lettered) === 1,
      },
    ]),
  );
}

// Stream checkpoints: how far the relay has read each shard of the table's stream.

export interface ShardCheckpoint {
  sequenceNumber: string | undefined;
  finished: boolean;
}

export const shardCheckpoints = (db: DatabaseSync, streamArn: string): Map<string, ShardCheckpoint> =>
  new Map(
    sql(db, 'SELECT shard_id, sequence_number, finished FROM stream_checkpoints WHERE stream_arn = ?')
      .all(streamArn)
      .map((row) => [
        String(row.shard_id),
        { sequenceNumber: optional(row.sequence_number), finished: Number(row.finished) === 1 },
      ]),
  );

/** A checkpoint without a sequence number (a shard that ended empty) keeps the one it had. */
export function saveShardCheckpoint(
  db: DatabaseSync,
  streamArn: string,
  shardId: string,
  checkpoint: ShardCheckpoint,
): void {
  sql(
    db,
    `INSERT INTO stream_checkpoints (stream_arn, shard_id, sequence_number, finished) VALUES (?, ?, ?, ?)
     ON CONFLICT (stream_arn, shard_id) DO UPDATE SET
       sequence_number = COALESCE(excluded.sequence_number, stream_checkpoints.sequence_number),
       finished = excluded.finished`,
  ).run(streamArn, shardId, checkpoint.sequenceNumber ?? null, checkpoint.finished ? 1 : 0);
}

// Retention (event-log-retention.ts decides what goes; these find and drop it).

/** The lowest cursor of all rules: every event up to it is delivered everywhere. Undefined without any rule. */
export const slowestCursor = (db: DatabaseSync): number | undefined => {
  const passed = sql(db, 'SELECT MIN(last_seq) AS passed FROM delivery_cursors').get()?.passed;
  return passed === null || passed === undefined ? undefined : Number(passed);
};

/** The rules whose cursor is before `seq`. */
export const rulesBefore = (db: DatabaseSync, seq: number): string[] =>
  sql(db, 'SELECT rule_name FROM delivery_cursors WHERE last_seq < ? ORDER BY rule_name')
    .all(seq)
    .map((row) => String(row.rule_name));

/**
 * The highest key of `table` whose time is before `cutoff`, by binary search on the key: both tables are appended
 * to in time order, so a day's log is searched in about twenty lookups rather than read through. A clock set back
 * only makes the age a little inexact; what a rule still needs is kept by the cursor condition alone.
 */
export function lastKeyBefore(
  db: DatabaseSync,
  table: 'events' | 'delivery_attempts',
  cutoff: number | string,
): number | undefined {
  const [key, time] = table === 'events' ? ['seq', 'COALESCE(published_at, 0)'] : ['id', 'started_at'];
  const bounds = sql(db, `SELECT MIN(${key}) AS low, MAX(${key}) AS high FROM ${table}`).get();
  if (bounds?.low === null || bounds?.low === undefined) return undefined;
  const timeAtOrAfter = sql(
    db,
    `SELECT ${key} AS key, ${time} AS time FROM ${table} WHERE ${key} >= ? ORDER BY ${key} LIMIT 1`,
  );
  let [low, high] = [Number(bounds.low), Number(bounds.high)];
  let found: number | undefined;
  while (low <= high) {
    const middle = Math.floor((low + high) / 2);
    const row = timeAtOrAfter.get(middle);
    if (row === undefined) break;
    const rowKey = Number(row.key);
    if ((row.time as number | string) < cutoff) {
      found = rowKey;
      low = rowKey + 1;
    } else {
      high = middle - 1;
    }
  }
  return found;
}

/** Drops up to `limit` events up to `seq`, oldest first; answers how many went. */
export const deleteEventsUpTo = (db: DatabaseSync, seq: number, limit: number): number =>
  Number(
    sql(db, 'DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE seq <= ? ORDER BY seq LIMIT ?)').run(
      seq,
      limit,
    ).changes,
  );

/**
 * Drops up to `limit` attempts up to `id`, oldest first, but not an attempt of an event its own rule has not passed:
 * the rule resumes its retry count from it after a restart. Measured against its own rule's cursor, not the slowest
 * one, so that a rule held up for days keeps only its own attempts. A rule that is gone needs none.
 */
export const deleteAttemptsUpTo = (db: DatabaseSync, id: number, limit: number): number =>
  Number(
    sql(
      db,
      `DELETE FROM delivery_attempts WHERE id IN
         (SELECT attempt.id FROM delivery_attempts AS attempt
            LEFT JOIN delivery_cursors AS cursor ON cursor.rule_name = attempt.rule_name
           WHERE attempt.id <= ? AND (cursor.last_seq IS NULL OR attempt.event_seq <= cursor.last_seq)
           ORDER BY attempt.id LIMIT ?)`,
    ).run(id, limit).changes,
  );

/**
 * A full disk, for the fault switch: SQLite refuses to grow the database past its current pages and answers
 * SQLITE_FULL ("database or disk is full"), as it does when the disk has no room left. A write that fits in pages the
 * file already has still succeeds, so the switch is weaker than a real full disk (where the WAL cannot grow either):
 * it refuses new events, not every cursor update.
 */
export function setDiskFull(db: DatabaseSync, full: boolean): void {
  const { page_count: pages } = db.prepare('PRAGMA page_count').get() as { page_count: number };
  db.exec(`PRAGMA max_page_count = ${full ? pages : 4_294_967_294}`);
}

/** Who gave up on a dead letter: a rule of the bus, or the stream relay reading one of the table's shards. */
export type DeadLetterOrigin = { kind: 'rule'; ruleName: string } | { kind: 'stream'; shardId: string };

/** As people read it: `rule order-accepted-to-archive`, `stream shard shardId-…`. */
export const describeOrigin = (origin: DeadLetterOrigin): string =>
  origin.kind === 'rule' ? `rule ${origin.ruleName}` : `stream shard ${origin.shardId}`;

/** Keeps what could not be delivered after every retry, where a human can find it (the local DLQ). */
export function recordDeadLetter(
  db: DatabaseSync,
  letter: { origin: DeadLetterOrigin; reference: string; payload: string; reason: string },
): void {
  sql(
    db,
    `INSERT INTO dead_letters (origin_kind, origin_name, reference, payload, reason, failed_at)
     VALUES (?, ?, ?, ?, ?, ?)`,
  ).run(
    letter.origin.kind,
    letter.origin.kind === 'rule' ? letter.origin.ruleName : letter.origin.shardId,
    letter.reference,
    letter.payload,
    // A reason quotes what a target answered; a URL in it keeps no query string or password.
    withoutUrlSecrets(letter.reason),
    new Date().toISOString(),
  );
}

/** One row of `dead_letters`. */
export interface DeadLetter {
  id: number;
  origin: DeadLetterOrigin;
  /** The event's id (a rule's letter) or the stream record's sequence number. */
  reference: string;
  payload: string;
  reason: string;
  failedAt: string;
}

const deadLetterOf = (row: Record<string, unknown>): DeadLetter => ({
  id: Number(row.id),
  origin:
    row.origin_kind === 'stream'
      ? { kind: 'stream', shardId: String(row.origin_name) }
      : { kind: 'rule', ruleName: String(row.origin_name) },
  reference: String(row.reference),
  payload: String(row.payload),
  // Stored by an older version, a reason may quote a URL's query string.
  reason: withoutUrlSecrets(String(row.reason)),
  failedAt: String(row.failed_at),
});

export function readDeadLetter(db: DatabaseSync, id: number): DeadLetter | undefined {
  const row = sql(db, 'SELECT * FROM dead_letters WHERE id = ?').get(id);
  return row ? deadLetterOf(row) : undefined;
}

/** Once redriven: the letter is delivered. */
export function deleteDeadLetter(db: DatabaseSync, id: number): void {
  sql(db, 'DELETE FROM dead_letters WHERE id = ?').run(id);
}

/** Newest first; `containing` narrows to the letters whose payload holds the text (an orderId). */
export function listDeadLetters(db: DatabaseSync, options: { containing?: string; limit?: number } = {}): DeadLetter[] {
  const rows =
    options.containing === undefined
      ? db.prepare('SELECT * FROM dead_letters ORDER BY id DESC LIMIT ?').all(options.limit ?? 500)
      : db
          .prepare('SELECT * FROM dead_letters WHERE instr(payload, ?) > 0 ORDER BY id DESC LIMIT ?')
          .all(options.containing, options.limit ?? 500);
  return rows.map(deadLetterOf);
}

/** What a redrive of a dead letter came to; `delivered` removed the letter. */
export interface RedriveResult {
  outcome: 'delivered' | 'failed' | 'not-found' | 'not-redrivable' | 'in-progress';
  /** What the target answered, or why nothing was tried. */
  detail: string;
}
