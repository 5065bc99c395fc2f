/**
 * Counts and latency of executions per minute, kept as they are recorded (one upsert beside each execution's own
 * insert), so that the list's "last 15 minutes / hour / day" is a sum over at most 1,440 minutes of a few rows each,
 * never a sort of a day of durations. A latency is counted in a bucket of a fixed log-like scale (each bound about
 * 1.25 to 1.5 times the one before): a percentile is told as the bound of its bucket, "at most N ms".
 */
import type { DatabaseSync } from 'node:sqlite';
import { OUTCOMES, type Outcome } from './console-store.js';

/** The upper bounds (ms, inclusive) of the latency buckets; the last bucket holds everything slower. */
export const LATENCY_BOUNDS = [
  1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100, 120, 150, 200, 250, 300, 400, 500, 600, 800, 1_000,
  1_200, 1_500, 2_000, 2_500, 3_000, 4_000, 5_000, 6_000, 8_000, 10_000, 15_000, 20_000, 30_000, 60_000,
] as const;

export const bucketOf = (durationMs: number): number => {
  const index = LATENCY_BOUNDS.findIndex((bound) => durationMs <= bound);
  return index === -1 ? LATENCY_BOUNDS.length : index;
};

/** The bound of the bucket holding the p-th percentile (0 < p <= 1), or undefined without counts. */
export function percentileOf(counts: ReadonlyMap<number, number>, p: number): number | undefined {
  const total = [...counts.values()].reduce((sum, count) => sum + count, 0);
  if (total === 0) return undefined;
  const rank = Math.ceil(p * total);
  let seen = 0;
  for (const bucket of [...counts.keys()].sort((a, b) => a - b)) {
    seen += counts.get(bucket) ?? 0;
    if (seen >= rank) return LATENCY_BOUNDS[bucket] ?? Number.POSITIVE_INFINITY;
  }
  return Number.POSITIVE_INFINITY;
}

export const MINUTE_MS = 60_000;
export const minuteOf = (at: number): number => Math.floor(at / MINUTE_MS);

export const STATS_SCHEMA = `
  CREATE TABLE IF NOT EXISTS execution_minutes (
    minute INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (minute, outcome, bucket)
  ) WITHOUT ROWID;
`;

export const COUNT_IN_MINUTE = `
  INSERT INTO execution_minutes (minute, outcome, bucket, count) VALUES (?, ?, ?, 1)
  ON CONFLICT (minute, outcome, bucket) DO UPDATE SET count = count + 1`;

export interface WindowStats {
  label: string;
  spanMs: number;
  total: number;
  byOutcome: Record<Outcome, number>;
  /** At most this many ms (the bound of the percentile's bucket). */
  p50: number | undefined;
  p95: number | undefined;
}

export interface MinuteStats {
  /** Epoch ms of the minute's start. */
  at: number;
  byOutcome: Record<Outcome, number>;
}

export interface ExecutionStats {
  windows: WindowStats[];
  /** The last hour, minute by minute, oldest first (minutes without executions included). */
  minutes: MinuteStats[];
}

export const STATS_WINDOWS = [
  ['last 15 min', 15 * MINUTE_MS],
  ['last hour', 60 * MINUTE_MS],
  ['last day', 24 * 60 * MINUTE_MS],
] as const;

const noOutcomes = (): Record<Outcome, number> =>
  Object.fromEntries(OUTCOMES.map((outcome) => [outcome, 0])) as Record<Outcome, number>;

export function readStats(db: DatabaseSync, now: number): ExecutionStats {
  const windows = STATS_WINDOWS.map(([label, spanMs]): WindowStats => {
    const since = minuteOf(now - spanMs) + 1;
    const byOutcome = noOutcomes();
    const buckets = new Map<number, number>();
    for (const row of db
      .prepare(
        `SELECT outcome, bucket, SUM(count) AS n FROM execution_minutes WHERE minute >= ? GROUP BY outcome, bucket`,
      )
      .all(since)) {
      const outcome = String(row.outcome) as Outcome;
      const count = Number(row.n);
      if (outcome in byOutcome) byOutcome[outcome] += count;
      buckets.set(Number(row.bucket), (buckets.get(Number(row.bucket)) ?? 0) + count);
    }
    const total = Object.values(byOutcome).reduce((sum, count) => sum + count, 0);
    return { label, spanMs, total, byOutcome, p50: percentileOf(buckets, 0.5), p95: percentileOf(buckets, 0.95) };
  });
  const first = minuteOf(now) - 59;
  const minutes = Array.from({ length: 60 }, (_, index) => ({
    at: (first + index) * MINUTE_MS,
    byOutcome: noOutcomes(),
  }));
  for (const row of db
    .prepare(
      `SELECT minute, outcome, SUM(count) AS n FROM execution_minutes WHERE minute >= ? GROUP BY minute, outcome`,
    )
    .all(first)) {
    const minute = minutes[Number(row.minute) - first];
    const outcome = String(row.outcome) as Outcome;
    if (minute && outcome in minute.byOutcome) minute.byOutcome[outcome] += Number(row.n);
  }
  return { windows, minutes };
}
