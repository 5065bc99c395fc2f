/**
 * The local event log's retention: an event goes only once every rule has passed it and it is older than the
 * retention; what a rule still has to deliver stays however old, and so do the attempts its retry count resumes from.
 */
import type { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';
import { eventually } from '../support/eventually.js';
import { keepEventLogPruned, pruneEventLog } from '../../local/eventbridge/event-log-retention.js';
import {
  commitsOf,
  listDeadLetters,
  openEventsDatabase,
  recordDeadLetter,
} from '../../local/eventbridge/events-database.js';

const HOUR = 60 * 60 * 1000;
const NOW = Date.parse('2026-12-01T12:00:00.000Z');

let db: DatabaseSync;
beforeEach(() => {
  db = openEventsDatabase(':memory:');
});
afterEach(() => {
  if (db.isOpen) db.close();
});

/** An event published `ageMs` before NOW; answers its seq. */
const publishedAgo = (ageMs: number): number => {
  const id = crypto.randomUUID();
  const envelope = JSON.stringify({ id, detail: { orderId: id } });
  return Number(
    db
      .prepare('INSERT INTO events (event_id, bus_name, envelope, published_at) VALUES (?, ?, ?, ?)')
      .run(id, 'bus', envelope, NOW - ageMs).lastInsertRowid,
  );
};
const cursorAt = (rule: string, seq: number): void => {
  db.prepare('INSERT OR REPLACE INTO delivery_cursors (rule_name, last_seq) VALUES (?, ?)').run(rule, seq);
};
const attemptAgo = (rule: string, seq: number, ageMs: number): void => {
  db.prepare(
    `INSERT INTO delivery_attempts (rule_name, event_id, event_seq, attempt, started_at, duration_ms, outcome)
     VALUES (?, ?, ?, 1, ?, 1, 'delivered')`,
  ).run(rule, `event-${seq}`, seq, new Date(NOW - ageMs).toISOString());
};
const eventSeqs = (): number[] =>
  db
    .prepare('SELECT seq FROM events ORDER BY seq')
    .all()
    .map((row) => Number(row.seq));
const attemptSeqs = (): number[] =>
  db
    .prepare('SELECT event_seq FROM delivery_attempts ORDER BY id')
    .all()
    .map((row) => Number(row.event_seq));
/** The database's commits, counted, calling `onCommit` before each. */
const countingCommits = (onCommit: () => void = () => undefined) => {
  const commits = commitsOf(db);
  return {
    count: 0,
    commit(work: () => void): Promise<void> {
      this.count += 1;
      onCommit();
      return commits.commit(work);
    },
  };
};
const attemptsLeft = (): string[] =>
  db
    .prepare('SELECT rule_name, event_seq FROM delivery_attempts ORDER BY id')
    .all()
    .map((row) => `${String(row.rule_name)}@${Number(row.event_seq)}`);
const prune = (maxAgeMs = 24 * HOUR) => pruneEventLog(db, commitsOf(db), { maxAgeMs, now: NOW });

describe('the event log’s retention', () => {
  it('drops what every rule passed a day ago, and keeps what a rule has not passed, however old', async () => {
    const [old1, old2, old3] = [publishedAgo(50 * HOUR), publishedAgo(49 * HOUR), publishedAgo(48 * HOUR)];
    const recent = publishedAgo(HOUR);
    cursorAt('archive', recent);
    cursorAt('subscriber-slow', old2);
    for (const seq of [old1, old2, old3]) attemptAgo('archive', seq, 48 * HOUR);
    attemptAgo('subscriber-slow', old3, 30 * HOUR); // a failed try of the event it is still retrying
    attemptAgo('archive', recent, HOUR);
    recordDeadLetter(db, {
      origin: { kind: 'rule', ruleName: 'subscriber-slow' },
      reference: 'x',
      payload: '{}',
      reason: 'refused',
    });

    expect(await prune()).toEqual({ events: 2, attempts: 3, heldBackBy: ['subscriber-slow'] });

    expect(eventSeqs()).toEqual([old3, recent]);
    // The archive passed old3: its attempt goes. The slow rule's attempt of it stays for its retry count.
    expect(attemptSeqs()).toEqual([old3, recent]);
    expect(listDeadLetters(db)).toHaveLength(1);
    // A seq is never used again: a cursor can never come to point at another event.
    expect(publishedAgo(0)).toBeGreaterThan(recent);
  });

  it('drops nothing while no rule has a cursor', async () => {
    publishedAgo(100 * HOUR);
    expect(await prune()).toEqual({ events: 0, attempts: 0, heldBackBy: [] });
    expect(eventSeqs()).toHaveLength(1);
  });

  it('drops a long backlog of old events in several commits', async () => {
    const seqs = Array.from({ length: 2_500 }, (_, index) => publishedAgo(48 * HOUR - index));
    cursorAt('archive', seqs.at(-1) ?? 0);
    const commits = countingCommits();

    expect(await pruneEventLog(db, commits, { maxAgeMs: 24 * HOUR, now: NOW })).toEqual({
      events: 2_500,
      attempts: 0,
      heldBackBy: [],
    });
    expect(eventSeqs()).toEqual([]);
    expect(commits.count).toBe(11); // ten of 250 rows, and one that found none left
  });

  it('keeps exactly the events past the slowest cursor, and the attempts past their own rule’s, or younger than the retention', async () => {
    const logs = fc.record({
      // Minutes between publications, in order (0: published in the same millisecond as the one before).
      gaps: fc.array(fc.nat({ max: 600 }), { minLength: 1, maxLength: 40 }),
      // Gaps in the seqs, as pruning and failed inserts leave them.
      removed: fc.array(fc.nat({ max: 39 }), { maxLength: 10 }),
      cursors: fc.array(fc.nat({ max: 45 }), { minLength: 1, maxLength: 3 }),
      maxAgeHours: fc.integer({ min: 1, max: 200 }),
    });
    await fc.assert(
      fc.asyncProperty(logs, async ({ gaps, removed, cursors, maxAgeHours }) => {
        db.exec('DELETE FROM events; DELETE FROM delivery_cursors; DELETE FROM delivery_attempts');
        const totalMinutes = gaps.reduce((sum, gap) => sum + gap, 0);
        let minutesAgo = totalMinutes;
        const published = gaps.map((gap) => {
          minutesAgo -= gap;
          return { seq: publishedAgo(minutesAgo * 60_000), ageMs: minutesAgo * 60_000 };
        });
        for (const index of removed) db.prepare('DELETE FROM events WHERE seq = ?').run(published[index]?.seq ?? -1);
        const present = published.filter((event) => eventSeqs().includes(event.seq));
        const firstSeq = published[0]?.seq ?? 0;
        cursors.forEach((offset, index) => cursorAt(`rule-${index}`, firstSeq + offset));
        const slowest = firstSeq + Math.min(...cursors);
        // Each rule tried each event when it was published; a rule that is gone ("rule-gone") left attempts too.
        const attempts = published.flatMap((event) =>
          [...cursors.map((_, index) => `rule-${index}`), 'rule-gone'].map((rule) => ({ rule, ...event })),
        );
        for (const { rule, seq, ageMs } of attempts) attemptAgo(rule, seq, ageMs);
        const cursorOf = (rule: string): number =>
          rule === 'rule-gone' ? Number.POSITIVE_INFINITY : firstSeq + (cursors[Number(rule.slice(5))] ?? 0);

        const { heldBackBy } = await prune(maxAgeHours * HOUR);

        const young = (ageMs: number): boolean => ageMs <= maxAgeHours * HOUR;
        const oldest = present.filter((event) => !young(event.ageMs)).at(-1)?.seq ?? 0;
        const behindOldEvents = cursors.flatMap((offset, index) =>
          firstSeq + offset < oldest ? [`rule-${index}`] : [],
        );
        expect(heldBackBy).toEqual(behindOldEvents);
        const kept = present.filter((event) => event.seq > slowest || young(event.ageMs));
        expect(eventSeqs()).toEqual(kept.map((event) => event.seq));
        const keptAttempts = attempts.filter(({ rule, seq, ageMs }) => seq > cursorOf(rule) || young(ageMs));
        expect(attemptsLeft()).toEqual(keptAttempts.map(({ rule, seq }) => `${rule}@${seq}`));
      }),
      { numRuns: 150 },
    );
  });

  it('prunes as it starts', async () => {
    publishedAgo(48 * HOUR);
    cursorAt('archive', publishedAgo(47 * HOUR));
    const logs: object[] = [];
    const retention = keepEventLogPruned(db, commitsOf(db), { maxAgeMs: HOUR, log: (line) => logs.push(line) });

    await eventually('the old events are dropped', () => eventSeqs().length === 0);
    await retention.stop();
    expect(logs).toEqual([]);
  });

  it('says once which rule keeps events past the retention, not on every run', async () => {
    // Only the minute between runs is faked: the polling below runs on real time.
    jest.useFakeTimers({
      doNotFake: ['Date', 'hrtime', 'nextTick', 'performance', 'queueMicrotask', 'setImmediate', 'clearImmediate'],
    });
    try {
      const old = publishedAgo(48 * HOUR);
      cursorAt('archive', publishedAgo(HOUR));
      cursorAt('subscriber-down', old - 1);
      const logs: object[] = [];
      const retention = keepEventLogPruned(db, commitsOf(db), { maxAgeMs: HOUR, log: (line) => logs.push(line) });
      jest.advanceTimersByTime(2 * 60_000); // two more runs, queued behind the first
      await retention.stop();

      expect(logs).toEqual([
        {
          level: 'warn',
          message: 'event log kept past its retention: a rule has yet to take older events',
          ruleName: 'subscriber-down',
          retentionHours: 1,
        },
      ]);
      expect(eventSeqs()).toContain(old);
    } finally {
      jest.useRealTimers();
    }
  });

  it('stops after the batch under way, leaving the rest of a long backlog for the next start', async () => {
    const seqs = Array.from({ length: 2_500 }, (_, index) => publishedAgo(48 * HOUR - index));
    cursorAt('archive', seqs.at(-1) ?? 0);
    let stopped: Promise<void> | undefined;
    const commits = countingCommits(() => {
      stopped ??= retention.stop();
    });
    const retention = keepEventLogPruned(db, commits, { maxAgeMs: HOUR, log: () => undefined });

    await eventually('the stop is asked for', () => stopped !== undefined);
    await stopped;

    expect(commits.count).toBe(1);
    expect(eventSeqs()).toHaveLength(2_250);
  });
});
