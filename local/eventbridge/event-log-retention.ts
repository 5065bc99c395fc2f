/**
 * The local event log keeps an event while any rule still has to deliver it, however old, and beyond that for as
 * long as ops may want to read it (the console's order page, `npm run events`): an event every rule's cursor has
 * passed is dropped once older than the retention, and so is a delivery attempt older than the retention whose rule
 * has passed its event. Dead letters stay until they are redriven. The file then stops growing: SQLite reuses the
 * freed pages rather than shrinking it.
 */
import type { DatabaseSync } from 'node:sqlite';
import { describeError } from '../../src/json-value.js';
import type { LogSink } from '../waiting.js';
import {
  type Commits,
  deleteAttemptsUpTo,
  deleteEventsUpTo,
  lastKeyBefore,
  rulesBefore,
  slowestCursor,
} from './events-database.js';

/** As the console keeps its executions: a day. */
export const DEFAULT_EVENT_LOG_RETENTION_MS = 24 * 60 * 60 * 1000;
const PRUNE_EVERY_MS = 60_000;
/**
 * Rows of each table deleted per commit, so that a long backlog of old rows never holds the event loop for long: at
 * 250, pruning 100,000 events and their attempts delayed the loop by 15 ms at most (1,000: 35 ms).
 */
const PRUNE_BATCH = 250;

export interface PrunedRows {
  events: number;
  attempts: number;
  /** Rules whose cursor is behind an event older than the retention: each keeps it, and all after it, in the log. */
  heldBackBy: string[];
}

/**
 * Drops what the retention no longer keeps, a batch per commit, until nothing is left to drop or `signal` aborts
 * (a stop does not wait for a long backlog); answers how many rows went.
 */
export async function pruneEventLog(
  db: DatabaseSync,
  commits: Commits,
  options: { maxAgeMs: number; now?: number; signal?: AbortSignal },
): Promise<PrunedRows> {
  const cutoffMs = (options.now ?? Date.now()) - options.maxAgeMs;
  const pruned: PrunedRows = { events: 0, attempts: 0, heldBackBy: [] };
  // No cursor at all: nothing is known to be delivered, so nothing goes.
  const passed = slowestCursor(db);
  if (passed === undefined) return pruned;
  const oldEnough = lastKeyBefore(db, 'events', cutoffMs) ?? 0;
  const eventsUpTo = Math.min(passed, oldEnough);
  pruned.heldBackBy = rulesBefore(db, oldEnough);
  // An attempt of an event its own rule has not passed is kept (deleteAttemptsUpTo): the rule resumes its retry
  // count from it after a restart.
  const attemptsUpTo = lastKeyBefore(db, 'delivery_attempts', new Date(cutoffMs).toISOString()) ?? 0;
  while (!options.signal?.aborted) {
    let batch = { events: 0, attempts: 0 };
    await commits.commit(() => {
      batch = {
        events: deleteEventsUpTo(db, eventsUpTo, PRUNE_BATCH),
        attempts: deleteAttemptsUpTo(db, attemptsUpTo, PRUNE_BATCH),
      };
    });
    pruned.events += batch.events;
    pruned.attempts += batch.attempts;
    if (batch.events < PRUNE_BATCH && batch.attempts < PRUNE_BATCH) break;
  }
  return pruned;
}

/**
 * Prunes the log now and then every minute, until stopped; a failed run is logged and tried again next time. A rule
 * that keeps events past the retention (a subscriber down for long, or a rule whose cursor no longer moves) is logged
 * once when it starts to, so that a log that keeps growing says why.
 */
export function keepEventLogPruned(
  db: DatabaseSync,
  commits: Commits,
  options: { maxAgeMs: number; log: LogSink },
): { stop(): Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  const stopping = new AbortController();
  let reported = new Set<string>();
  const prune = (): void => {
    running = running.then(async () => {
      try {
        const { heldBackBy } = await pruneEventLog(db, commits, {
          maxAgeMs: options.maxAgeMs,
          signal: stopping.signal,
        });
        for (const ruleName of heldBackBy.filter((rule) => !reported.has(rule))) {
          options.log({
            level: 'warn',
            message: 'event log kept past its retention: a rule has yet to take older events',
            ruleName,
            retentionHours: options.maxAgeMs / 3_600_000,
          });
        }
        reported = new Set(heldBackBy);
      } catch (error) {
        options.log({ level: 'warn', message: 'event log not pruned', error: describeError(error) });
      }
    });
  };
  prune();
  const timer = setInterval(prune, PRUNE_EVERY_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      stopping.abort();
      await running;
    },
  };
}
