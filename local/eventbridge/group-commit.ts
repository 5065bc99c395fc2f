/**
 * How the event runtime's writes reach the event log: every caller's work commits in the group commit of its turn
 * of the event loop, and the caller hears of it once it is on the disk itself.
 */
import { open } from 'node:fs/promises';
import type { DatabaseSync } from 'node:sqlite';

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

/** Where the event runtime's writes go: each caller hears once its work is stored, or that it failed. */
export interface Commits {
  commit(work: () => void): Promise<void>;
}

/**
 * The measured alternative to the group commit (issue 22, point 4): every caller's work in its own transaction,
 * committed at once with synchronous = NORMAL (in WAL mode: written, not synced), as the console store does.
 */
class TransactionPerCall {
  constructor(private readonly db: DatabaseSync) {
    db.exec('PRAGMA synchronous = NORMAL');
  }

  commit(work: () => void): Promise<void> {
    try {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const returned: unknown = work();
        if (typeof (returned as { then?: unknown } | undefined)?.then === 'function') {
          throw new TypeError('a group commit work must be synchronous');
        }
        this.db.exec('COMMIT');
      } catch (error) {
        if (this.db.isTransaction) this.db.exec('ROLLBACK');
        throw error;
      }
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }
}

/** How the event runtime commits: `ORDER_INTAKE_EVENT_LOG_COMMIT` = group (default) or per-call, for the bench. */
const commitMode = (): 'group' | 'per-call' =>
  process.env.ORDER_INTAKE_EVENT_LOG_COMMIT === 'per-call' ? 'per-call' : 'group';

/** A second group commit on the same connection would cost a second fsync a turn: every writer shares this one. */
const groupCommits = new WeakMap<DatabaseSync, Commits>();

/**
 * The database's one group commit, through which the running event runtime makes every write. `syncWal` replaces
 * the fdatasync for tests; it is taken when the group commit is made, by the first caller.
 */
export function groupCommitOf(db: DatabaseSync, options: { syncWal?: FileSync } = {}): Commits {
  let commits = groupCommits.get(db);
  if (!commits) {
    commits =
      commitMode() === 'per-call' ? new TransactionPerCall(db) : new GroupCommit(db, options.syncWal ?? syncFile);
    groupCommits.set(db, commits);
  }
  return commits;
}
