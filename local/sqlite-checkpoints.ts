/**
 * WAL checkpoints of a service database, off the event loop. SQLite's own automatic checkpoint runs inside the COMMIT
 * that takes the WAL past 1,000 pages: it copies them into the database file and, with synchronous = NORMAL, fsyncs
 * both files, on the thread that committed. For the service that thread is the event loop, and under load those
 * commits stalled it for 4–17 ms every few hundred commits (the console's store and the event log together: about
 * 160 µs per order, measured by timing each COMMIT). Here the connection that writes checkpoints nothing; a worker
 * thread with a connection of its own checkpoints every `intervalMs` (PASSIVE: it waits for no reader or writer, and
 * no writer waits for it), so the WAL is synced and folded into the file at least that often, whatever the rate.
 * Nothing about a commit changes: it is in the WAL before COMMIT returns, and a checkpoint only copies committed pages.
 */
import { Worker } from 'node:worker_threads';
import type { DatabaseSync } from 'node:sqlite';

/** CommonJS run by the worker (eval): no loader is needed in the worker, whatever runs the service. */
const CHECKPOINTER = `
  const { parentPort, workerData } = require('node:worker_threads');
  const { DatabaseSync } = require('node:sqlite');
  const db = new DatabaseSync(workerData.path);
  db.exec('PRAGMA busy_timeout = 5000');
  const checkpoint = () => {
    try {
      db.exec('PRAGMA wal_checkpoint(PASSIVE)');
    } catch {
      // Busy or a full disk: the next turn tries again, and the WAL keeps every commit meanwhile.
    }
  };
  const timer = setInterval(checkpoint, workerData.intervalMs);
  parentPort.once('message', () => {
    clearInterval(timer);
    checkpoint();
    db.close();
    parentPort.close();
  });
`;

export interface BackgroundCheckpoints {
  /** Stops the worker (after one last checkpoint); the writer's close then finds little left to fold in. */
  stop(): void;
}

/** Turns the writer's automatic checkpoints off and checkpoints `path` from a worker thread instead. */
export function checkpointInBackground(db: DatabaseSync, path: string, intervalMs = 1000): BackgroundCheckpoints {
  if (path === ':memory:') return { stop: () => undefined };
  db.exec('PRAGMA wal_autocheckpoint = 0');
  const worker = new Worker(CHECKPOINTER, { eval: true, workerData: { path, intervalMs } });
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
      worker.postMessage('stop');
    },
  };
}
