/**
 * The local event runtime's one store: the bus's event log, each rule's delivery cursor and delivery attempts, the
 * stream relay's shard checkpoints and dead letters, in one SQLite file, so that an event and the progress made on it commit to the
 * same durable place.
 */
import { mkdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

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
`;

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
 * what SQLite wrote through its own. A WAL already gone was checkpointed into the database and removed when the last
 * connection closed, which syncs the database first: what it held is on the disk.
 */
const syncFile: FileSync = async (path) => {
  let file;
  try {
    file = await open(path, 'r');
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
 * The callers of a group are unrelated writers (PutEvents, the rule loops, the stream relay), so one's failing work
 * must not cost the others theirs: each work runs in its own savepoint, and what throws is undone and fails its own
 * caller alone. What ends the transaction itself (SQLite rolls it back by itself on a full disk, or the COMMIT
 * fails) fails every caller of the group: none of their work is stored. A failed sync fails the callers it was to
 * cover: their work may be stored or not, as after any failed acknowledgement, so each is delivered at least once.
 */
class GroupCommit {
  private queue: QueuedWork[] = [];
  private scheduled = false;
  /** The WAL of a database on disk; undefined in memory, where there is nothing to sync. */
  private readonly walPath: string | undefined;
  /** Committed, waiting for a sync that starts after their commit. */
  private unsynced: QueuedWork[] = [];
  private syncing = false;

  constructor(
    private readonly db: DatabaseSync,
    private readonly syncWal: FileSync,
  ) {
    const location = db.location();
    this.walPath = location ? `${location}-wal` : undefined;
  }

  commit(work: () => void): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ work, resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    this.scheduled = false;
    const group = this.queue;
    this.queue = [];
    const rejectAll = (error: unknown): void => {
      for (const { reject } of group) reject(error);
    };
    try {
      // Not inside the transaction: SQLite takes the setting only between transactions.
      if (this.walPath) this.db.exec('PRAGMA synchronous = NORMAL');
      this.db.exec('BEGIN IMMEDIATE');
    } catch (error) {
      this.restoreFullSync();
      rejectAll(error);
      return;
    }
    const failed = new Map<QueuedWork, unknown>();
    try {
      for (const queued of group) {
        const failure = this.runAlone(queued.work);
        if (failure) failed.set(queued, failure.error);
      }
      this.db.exec('COMMIT');
    } catch (error) {
      // A COMMIT that failed may leave the transaction open, and the next group could not begin.
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      this.restoreFullSync();
      rejectAll(error);
      return;
    }
    this.restoreFullSync();
    const committed: QueuedWork[] = [];
    for (const queued of group) {
      if (failed.has(queued)) queued.reject(failed.get(queued));
      else committed.push(queued);
    }
    this.awaitDurable(committed);
  }

  /** Writes made outside the group commit keep SQLite's own sync at commit. */
  private restoreFullSync(): void {
    if (this.walPath && !this.db.isTransaction) this.db.exec('PRAGMA synchronous = FULL');
  }

  private awaitDurable(committed: QueuedWork[]): void {
    if (!this.walPath) {
      for (const { resolve } of committed) resolve();
      return;
    }
    this.unsynced.push(...committed);
    if (!this.syncing) this.sync(this.walPath);
  }

  private sync(walPath: string): void {
    const covered = this.unsynced;
    this.unsynced = [];
    this.syncing = true;
    this.syncWal(walPath).then(
      () => this.synced(walPath, covered),
      (error: unknown) => this.synced(walPath, covered, error),
    );
  }

  private synced(walPath: string, covered: QueuedWork[], error?: unknown): void {
    this.syncing = false;
    for (const { resolve, reject } of covered) {
      if (error === undefined) resolve();
      else reject(error);
    }
    if (this.unsynced.length > 0) this.sync(walPath);
  }

  /**
   * Runs one caller's work in a savepoint; answers what it threw, its writes undone. Throws if SQLite rolled back
   * the whole transaction: the works run before it are lost too.
   */
  private runAlone(work: () => void): { error: unknown } | undefined {
    this.db.exec('SAVEPOINT caller');
    try {
      work();
      this.db.exec('RELEASE caller');
      return undefined;
    } catch (error) {
      if (!this.db.isTransaction) throw error;
      this.db.exec('ROLLBACK TO caller');
      this.db.exec('RELEASE caller');
      return { error };
    }
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
    letter.reason,
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
  reason: String(row.reason),
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
