/**
 * The local event runtime's one store: the bus's event log, each rule's delivery cursor and delivery attempts, the
 * stream relay's shard checkpoints and dead letters, in one SQLite file, so that an event and the progress made on it commit to the
 * same durable place.
 */
import { mkdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { withoutUrlSecrets } from '../secrets.js';

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
  CREATE TABLE IF NOT EXISTS dead_letters (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    origin    TEXT NOT NULL,
    reference TEXT NOT NULL,
    payload   TEXT NOT NULL,
    reason    TEXT NOT NULL,
    failed_at TEXT NOT NULL
  );
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

/**
 * Every event whose detail names the order, oldest first. SQLite uses an index on an expression only for that very
 * expression, so this query and events_by_order are written together.
 */
export const EVENTS_OF_ORDER = `SELECT seq, envelope, published_by, published_at FROM events
  WHERE json_extract(envelope, '$.detail.orderId') = ? ORDER BY seq`;

/** Columns added after the first release: a database made before them gets them on open (NULL for old rows). */
const ADDED_COLUMNS = [
  { table: 'events', column: 'published_by', type: 'TEXT' },
  { table: 'events', column: 'published_at', type: 'INTEGER' },
] as const;

function addMissingColumns(db: DatabaseSync): void {
  for (const { table, column, type } of ADDED_COLUMNS) {
    const columns = db.prepare(`PRAGMA table_info(${table})`).all();
    if (!columns.some((row) => row.name === column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
  }
}

export function openEventsDatabase(path: string): DatabaseSync {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  db.exec('PRAGMA journal_mode = WAL');
  // In WAL mode, NORMAL already survives a killed process (the WAL is in the OS's page cache), but not an OS crash
  // or power loss: it fsyncs only at checkpoints. FULL fsyncs the WAL at every commit, so what is written is on the
  // disk itself before anything is acknowledged, as EventBridge's acknowledgement promises. The group commit
  // (groupCommitOf), through which every write of the running runtime goes, makes its commits durable the same way,
  // with the fsync off the event loop; FULL stays for the rest (the schema, startup writes).
  db.exec('PRAGMA synchronous = FULL');
  // Another process with the same data folder waits for the lock instead of failing at once.
  db.exec('PRAGMA busy_timeout = 5000');
  db.exec(SCHEMA);
  addMissingColumns(db);
  return db;
}

interface QueuedWork {
  work: () => void;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Makes what is written to a file durable (fdatasync), answering once it is on the disk. */
export type FileSync = (path: string) => Promise<void>;

/**
 * fdatasync of the file through a descriptor of its own: fsync acts on the file, not the descriptor, so it covers
 * what SQLite wrote through its own (the WAL holds no lock SQLite relies on, so closing this descriptor drops none).
 * Opened for writing, as some systems require of a descriptor to sync. A WAL already gone was checkpointed into the
 * database and removed by the last connection's close, which syncs the database first: what it held is on the disk.
 */
const syncFile: FileSync = async (path) => {
  let file;
  try {
    file = await open(path, 'r+');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    await file.datasync();
  } finally {
    await file.close();
  }
};

/** Distinct from any name a caller's work might give a savepoint of its own. */
const SAVEPOINT = 'group_commit_work';

/**
 * Durable writes of many callers in one transaction: what is queued during one turn of the event loop commits
 * together just after it. Each caller hears of its work only once it is on the disk itself, or that it failed.
 *
 * The fsync that makes a commit durable runs off the event loop: the group's transaction commits with SQLite's
 * synchronous = NORMAL (in WAL mode the commit is then only written, not synced), and the WAL file is fdatasync'ed
 * on libuv's thread pool before the callers hear of it. One sync is in flight at a time; the commits made while it
 * runs wait for the next, which covers them all. So under load the event loop never waits on the disk, and the disk
 * sees one fsync per fsync's time, however many turns committed meanwhile. A checkpoint in NORMAL mode still syncs
 * the WAL before and the database after it, so a commit that a checkpoint moves is durable there. Another reader
 * (a rule's loop) may see a commit before its sync ends: after a power loss such an event may have been delivered
 * and be gone from the log, never acknowledged to its publisher, who sends it again; consumers dedupe.
 *
 * A failed sync stops the group commit for good (until the service restarts): Linux reports a failed write-back once
 * and marks the pages clean, so a later sync that "succeeds" proves nothing of what was written before it. Every
 * caller waiting and every later one is refused; what they wrote may or may not be stored, as after any unanswered
 * request, and each is delivered at least once after the restart.
 *
 * The callers of a group are unrelated writers (PutEvents, the rule loops, the stream relay), so one's failing work
 * must not cost the others theirs: each work runs in its own savepoint, and what throws is undone and fails its own
 * caller alone. When SQLite rolls the whole transaction back by itself (a full disk), the work that caused it fails
 * alone too, and the others run again in a new transaction: a cursor update that fits in the pages the database has
 * still commits while new events cannot. A failed COMMIT fails the whole group: none of it is stored.
 */
class GroupCommit {
  private queue: QueuedWork[] = [];
  private scheduled = false;
  /** The WAL of a database on disk in WAL mode; undefined otherwise (in memory), where there is nothing to sync. */
  private readonly walPath: string | undefined;
  /** Committed, waiting for a sync that starts after their commit. */
  private unsynced: QueuedWork[] = [];
  private syncing = false;
  /** Set once a sync failed: nothing written since can be known to be on the disk. */
  private syncFailure: Error | undefined;

  constructor(
    private readonly db: DatabaseSync,
    private readonly syncWal: FileSync,
  ) {
    const location = db.location();
    const journalMode = db.prepare('PRAGMA journal_mode').get()?.journal_mode;
    this.walPath = location && journalMode === 'wal' ? `${location}-wal` : undefined;
  }

  commit(work: () => void): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ work, resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => this.flush());
    });
  }

  /** Never throws: it runs from setImmediate, where a throw would end the process with the callers unanswered. */
  private flush(): void {
    this.scheduled = false;
    let pending = this.queue;
    this.queue = [];
    try {
      if (this.syncFailure) throw this.syncFailure;
      if (!this.db.isOpen) throw new Error('the events database is closed');
      for (;;) {
        const outcome = this.commitTogether(pending);
        if ('committed' in outcome) {
          for (const [queued, error] of outcome.failed) queued.reject(error);
          this.awaitDurable(outcome.committed);
          return;
        }
        outcome.lost.reject(outcome.error);
        pending = pending.filter((queued) => queued !== outcome.lost);
        if (pending.length === 0) return;
      }
    } catch (error) {
      for (const { reject } of pending) reject(error);
    }
  }

  /**
   * One transaction of the works, each in its savepoint. Answers what committed and what failed alone, or the work
   * whose failure made SQLite roll the whole transaction back (nothing of it is stored then). Throws if the
   * transaction cannot begin or commit.
   */
  private commitTogether(
    works: QueuedWork[],
  ): { committed: QueuedWork[]; failed: Map<QueuedWork, unknown> } | { lost: QueuedWork; error: unknown } {
    try {
      // Not inside the transaction: SQLite takes the setting only between transactions.
      if (this.walPath) this.db.exec('PRAGMA synchronous = NORMAL');
      this.db.exec('BEGIN IMMEDIATE');
      const committed: QueuedWork[] = [];
      const failed = new Map<QueuedWork, unknown>();
      for (const queued of works) {
        const failure = this.runAlone(queued.work);
        if (!failure) committed.push(queued);
        else if (failure.transactionLost) return { lost: queued, error: failure.error };
        else failed.set(queued, failure.error);
      }
      this.db.exec('COMMIT');
      return { committed, failed };
    } catch (error) {
      // A COMMIT that failed may leave the transaction open, and the next group could not begin.
      if (this.db.isOpen && this.db.isTransaction) this.db.exec('ROLLBACK');
      throw error;
    } finally {
      // Writes made outside the group commit keep SQLite's own sync at commit.
      if (this.walPath && this.db.isOpen && !this.db.isTransaction) this.db.exec('PRAGMA synchronous = FULL');
    }
  }

  /** Runs one caller's work in a savepoint; answers what it threw, with its writes undone. */
  private runAlone(work: () => void): { error: unknown; transactionLost: boolean } | undefined {
    this.db.exec(`SAVEPOINT ${SAVEPOINT}`);
    try {
      const returned: unknown = work();
      // What an async work wrote after its first await would fall outside this transaction, unsynced.
      if (typeof (returned as { then?: unknown } | undefined)?.then === 'function') {
        throw new TypeError('a group commit work must be synchronous');
      }
      this.db.exec(`RELEASE ${SAVEPOINT}`);
      return undefined;
    } catch (error) {
      if (!this.db.isTransaction) return { error, transactionLost: true };
      this.db.exec(`ROLLBACK TO ${SAVEPOINT}`);
      this.db.exec(`RELEASE ${SAVEPOINT}`);
      return { error, transactionLost: false };
    }
  }

  private awaitDurable(committed: QueuedWork[]): void {
    if (!this.walPath) {
      for (const { resolve } of committed) resolve();
      return;
    }
    this.unsynced.push(...committed);
    if (!this.syncing && this.unsynced.length > 0) this.sync(this.walPath);
  }

  private sync(walPath: string): void {
    const covered = this.unsynced;
    this.unsynced = [];
    this.syncing = true;
    Promise.resolve()
      .then(() => this.syncWal(walPath))
      .then(
        () => this.synced(walPath, covered),
        (error: unknown) => this.synced(walPath, covered, error),
      );
  }

  private synced(walPath: string, covered: QueuedWork[], error?: unknown): void {
    this.syncing = false;
    if (error !== undefined) {
      this.syncFailure = new Error(
        'the events database could not sync its disk: nothing more is stored until restart',
        {
          cause: error,
        },
      );
      for (const { reject } of [...covered, ...this.unsynced]) reject(this.syncFailure);
      this.unsynced = [];
      return;
    }
    for (const { resolve } of covered) resolve();
    if (this.unsynced.length > 0) this.sync(walPath);
  }
}

export type { GroupCommit };

/** A second group commit on the same connection would cost a second fsync a turn: every writer shares this one. */
const groupCommits = new WeakMap<DatabaseSync, GroupCommit>();

/**
 * The database's one group commit, through which the running event runtime makes every write. `syncWal` replaces
 * the fdatasync for tests; it is taken when the group commit is made, by the first caller.
 */
export function groupCommitOf(db: DatabaseSync, options: { syncWal?: FileSync } = {}): GroupCommit {
  let commits = groupCommits.get(db);
  if (!commits) {
    commits = new GroupCommit(db, options.syncWal ?? syncFile);
    groupCommits.set(db, commits);
  }
  return commits;
}

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

/** Keeps what could not be delivered after every retry, where a human can find it (the local DLQ). */
export function recordDeadLetter(
  db: DatabaseSync,
  letter: { origin: string; reference: string; payload: string; reason: string },
): void {
  db.prepare('INSERT INTO dead_letters (origin, reference, payload, reason, failed_at) VALUES (?, ?, ?, ?, ?)').run(
    letter.origin,
    letter.reference,
    letter.payload,
    // A reason quotes what a target answered; a URL in it keeps no query string or password.
    withoutUrlSecrets(letter.reason),
    new Date().toISOString(),
  );
}

/** One row of `dead_letters`. `origin` is `rule:<rule name>` (a bus event) or `stream:<shard id>` (a stream record). */
export interface DeadLetter {
  id: number;
  origin: string;
  reference: string;
  payload: string;
  reason: string;
  failedAt: string;
}

const deadLetterOf = (row: Record<string, unknown>): DeadLetter => ({
  id: Number(row.id),
  origin: String(row.origin),
  reference: String(row.reference),
  payload: String(row.payload),
  // Stored by an older version, a reason may quote a URL's query string.
  reason: withoutUrlSecrets(String(row.reason)),
  failedAt: String(row.failed_at),
});

export function readDeadLetter(db: DatabaseSync, id: number): DeadLetter | undefined {
  const row = db.prepare('SELECT * FROM dead_letters WHERE id = ?').get(id);
  return row ? deadLetterOf(row) : undefined;
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
