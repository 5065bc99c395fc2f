/**
 * WAL checkpoints of a service database, off the event loop. SQLite's own automatic checkpoint runs inside the COMMIT
 * that takes the WAL past 1,000 pages: it copies them into the database file and, with synchronous = NORMAL, fsyncs
 * both files, on the thread that committed. For the service that thread is the event loop, and under load those
 * commits stalled it for 4–17 ms every few hundred commits (the console's store and the event log together: about
 * 120–140 µs per order, measured by timing each COMMIT). Here the connection that writes checkpoints nothing; a worker
 * thread with a connection of its own checkpoints every `intervalMs` (PASSIVE: it waits for no reader or writer, and
 * no writer waits for it), so the WAL is synced and folded into the file at least that often, whatever the rate.
 * Nothing about a commit changes: it is in the WAL before COMMIT returns, and a checkpoint only copies committed pages.
 * A PASSIVE checkpoint from another thread never lets the WAL start over while commits keep coming (new frames land
 * beyond each one), so the writer keeps a checkpoint of its own, far rarer than SQLite's default 1,000 pages: past
 * `writerCheckpointPages` its COMMIT checkpoints what the worker has not copied yet (little) and the next commit
 * writes from the WAL's start again; `journal_size_limit` gives the space back.
 */
import { Worker } from 'node:worker_threads';
import type { DatabaseSync } from 'node:sqlite';

/** The worker's state, shared: it opens its connection only from NOT_OPEN, and says CLOSED once it has closed it. */
const NOT_OPEN = 0;
const STOPPING = 1;
const CLOSED = 2;
const OPEN = 3;

/** CommonJS run by the worker (eval): no loader is needed in the worker, whatever runs the service. */
const CHECKPOINTER = `
  const { parentPort, workerData } = require('node:worker_threads');
  const { DatabaseSync } = require('node:sqlite');
  const state = new Int32Array(workerData.state);
  if (Atomics.compareExchange(state, 0, ${NOT_OPEN}, ${OPEN}) === ${NOT_OPEN}) {
    let db;
    try {
      db = new DatabaseSync(workerData.path);
      db.exec('PRAGMA busy_timeout = 5000');
    } catch {
      // The writer's own checkpoints still bound the WAL (writerCheckpointPages).
      db = undefined;
    }
    let timer;
    const close = () => {
      clearInterval(timer);
      try {
        db?.close();
      } finally {
        db = undefined;
        Atomics.store(state, 0, ${CLOSED});
        Atomics.notify(state, 0);
        parentPort.close();
      }
    };
    timer = setInterval(() => {
      if (Atomics.load(state, 0) === ${STOPPING}) return close();
      try {
        db?.exec('PRAGMA wal_checkpoint(PASSIVE)');
      } catch {
        // Busy or a full disk: the next turn tries again, and the WAL keeps every commit meanwhile.
      }
    }, workerData.intervalMs);
    parentPort.once('message', close);
  }
`;

export interface BackgroundCheckpoints {
  /**
   * Stops the worker and waits until its connection is closed (a checkpoint under way ends first), so that the
   * writer's close is the last and nothing touches the files afterwards.
   */
  stop(): void;
}

/** About 16 MB of 4 KB pages: the writer's own checkpoint, rare; the WAL's file is cut back to it. */
const WRITER_CHECKPOINT_PAGES = 4096;

/** Checkpoints `path` from a worker thread, leaving the writer only a rare checkpoint of its own. */
export function checkpointInBackground(
  db: DatabaseSync,
  path: string,
  { intervalMs = 1000, writerCheckpointPages = WRITER_CHECKPOINT_PAGES } = {},
): BackgroundCheckpoints {
  if (path === ':memory:') return { stop: () => undefined };
  db.exec(`PRAGMA wal_autocheckpoint = ${writerCheckpointPages}`);
  db.exec(`PRAGMA journal_size_limit = ${writerCheckpointPages * 4096}`);
  const shared = new SharedArrayBuffer(4);
  const state = new Int32Array(shared);
  const worker = new Worker(CHECKPOINTER, { eval: true, workerData: { path, intervalMs, state: shared } });
  // The service's life is not the worker's to keep: a process that is done exits, and SQLite's next open recovers.
  worker.unref();
  let stopped = false;
  // A worker that could not start or died: the writer checkpoints itself again, as SQLite does by default.
  worker.once('exit', () => {
    if (!stopped && db.isOpen) db.exec('PRAGMA wal_autocheckpoint = 1000');
  });
  worker.on('error', () => undefined);
  return {
    stop: () => {
      if (stopped) return;
      stopped = true;
      // Not open yet: it never will be. Open: it is told, and closes between two checkpoints.
      if (Atomics.compareExchange(state, 0, NOT_OPEN, STOPPING) === NOT_OPEN) return;
      if (Atomics.compareExchange(state, 0, OPEN, STOPPING) !== OPEN) return;
      worker.postMessage('stop');
      Atomics.wait(state, 0, STOPPING, 10_000);
    },
  };
}
