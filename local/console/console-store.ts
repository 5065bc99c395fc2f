/**
 * What the local ops console shows, kept on disk beside the service's other data (`console.sqlite`): every
 * workflow execution state by state, and every HTTP exchange of the API. Writes are grouped: everything recorded in
 * one turn of the event loop is committed in one transaction just after it, so recording costs the request path
 * one in-memory push. WAL with synchronous=NORMAL: a committed record survives kill -9 (it is in the OS's cache);
 * an OS crash may lose the last records, which are a log, not orders.
 * Retention is bounded by age and by count, whichever comes first.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { HttpExchange } from '../apigateway/server.js';
import type { RecordedExecution } from '../stepfunctions/execution-history.js';
import { isObject } from '../../src/json-value.js';

export const CONSOLE_DATABASE_FILE = 'console.sqlite';

export const OUTCOMES = ['accepted', 'duplicate', 'rejected', 'unavailable', 'failed'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export interface ExecutionSummary {
  name: string;
  status: RecordedExecution['status'];
  outcome: Outcome;
  httpStatus: number | undefined;
  orderId: string | undefined;
  idempotencyKey: string | undefined;
  startedAt: number;
  durationMs: number;
}

export interface ExecutionFilter {
  status?: RecordedExecution['status'];
  outcome?: Outcome;
  /** An orderId, a requestId (the execution's name) or an idempotency key. */
  search?: string;
  limit?: number;
  /** Only executions started after this one (for live updates). */
  after?: number;
}

export interface ConsoleRetention {
  /** Default 24 h. */
  maxAgeMs?: number;
  /** Default 100,000: a day of heavy local use (a benchmark run is about 15,000). */
  maxExecutions?: number;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS executions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    outcome TEXT NOT NULL,
    http_status INTEGER,
    order_id TEXT,
    idempotency_key TEXT,
    started_at INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    record BLOB NOT NULL
  );
  CREATE INDEX IF NOT EXISTS executions_by_order ON executions (order_id);
  CREATE INDEX IF NOT EXISTS executions_by_key ON executions (idempotency_key);
  CREATE INDEX IF NOT EXISTS executions_by_start ON executions (started_at);
  CREATE TABLE IF NOT EXISTS http_exchanges (
    request_id TEXT PRIMARY KEY,
    started_at INTEGER NOT NULL,
    record TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS http_exchanges_by_start ON http_exchanges (started_at);
`;

/** The answer the workflow gave API Gateway, from the execution's last event. */
function answerOf(execution: RecordedExecution): { statusCode?: number; body?: Record<string, unknown> } {
  const last = execution.events.at(-1);
  if (last?.type !== 'ExecutionSucceeded' || !isObject(last.output)) return {};
  const { statusCode, body } = last.output;
  let parsed: unknown;
  try {
    parsed = typeof body === 'string' ? JSON.parse(body) : undefined;
  } catch {
    parsed = undefined;
  }
  return {
    statusCode: typeof statusCode === 'number' ? statusCode : undefined,
    body: isObject(parsed) ? parsed : undefined,
  };
}

/** The idempotency key Validate computed, for executions whose answer does not carry it. */
function validatedKeyOf(execution: RecordedExecution): string | undefined {
  for (const event of execution.events) {
    if (event.type !== 'StateExited' || event.state.name !== 'Validate' || !isObject(event.state.output)) continue;
    const validation = event.state.output.validation;
    const payload = isObject(validation) ? validation.Payload : undefined;
    if (isObject(payload) && typeof payload.idempotencyKey === 'string') return payload.idempotencyKey;
  }
  return undefined;
}

export function summarize(execution: RecordedExecution): Omit<ExecutionSummary, 'name' | 'startedAt'> {
  const { statusCode, body } = answerOf(execution);
  const outcome: Outcome =
    execution.status !== 'SUCCEEDED' || statusCode === undefined
      ? 'failed'
      : statusCode === 202
        ? 'accepted'
        : statusCode === 409
          ? 'duplicate'
          : statusCode === 503
            ? 'unavailable'
            : statusCode >= 400 && statusCode < 500
              ? 'rejected'
              : 'failed';
  return {
    status: execution.status,
    outcome,
    // FAILED and TIMED_OUT executions are answered by the response template (500, 503), not by the workflow.
    httpStatus: statusCode,
    orderId: typeof body?.orderId === 'string' ? body.orderId : undefined,
    idempotencyKey: typeof body?.idempotencyKey === 'string' ? body.idempotencyKey : validatedKeyOf(execution),
    durationMs: execution.stoppedAt - execution.startedAt,
  };
}

type Row = Record<string, unknown>;
const SUMMARY_COLUMNS = 'name, status, outcome, http_status, order_id, idempotency_key, started_at, duration_ms';
const summaryOf = (row: Row): ExecutionSummary => ({
  name: String(row.name),
  status: String(row.status) as ExecutionSummary['status'],
  outcome: String(row.outcome) as Outcome,
  httpStatus: row.http_status === null ? undefined : Number(row.http_status),
  orderId: row.order_id === null ? undefined : String(row.order_id),
  idempotencyKey: row.idempotency_key === null ? undefined : String(row.idempotency_key),
  startedAt: Number(row.started_at),
  durationMs: Number(row.duration_ms),
});

export class ConsoleStore {
  private readonly db: DatabaseSync;
  private readonly insertExecution: StatementSync;
  private readonly insertExchange: StatementSync;
  private pending: (() => void)[] = [];
  private flushScheduled = false;
  private readonly listeners = new Set<(summary: ExecutionSummary) => void>();
  private readonly maxAgeMs: number;
  private readonly maxExecutions: number;
  private readonly pruneTimer: NodeJS.Timeout;

  constructor(path: string, retention: ConsoleRetention = {}) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new DatabaseSync(path);
    this.db.exec('PRAGMA journal_mode = WAL');
    this.db.exec('PRAGMA synchronous = NORMAL');
    this.db.exec('PRAGMA busy_timeout = 5000');
    this.db.exec(SCHEMA);
    this.insertExecution = this.db.prepare(
      `INSERT OR REPLACE INTO executions
         (name, status, outcome, http_status, order_id, idempotency_key, started_at, duration_ms, record)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.insertExchange = this.db.prepare(
      'INSERT OR REPLACE INTO http_exchanges (request_id, started_at, record) VALUES (?, ?, ?)',
    );
    this.maxAgeMs = retention.maxAgeMs ?? 24 * 60 * 60 * 1000;
    this.maxExecutions = retention.maxExecutions ?? 100_000;
    this.prune();
    this.pruneTimer = setInterval(() => this.prune(), 60_000);
    this.pruneTimer.unref();
  }

  recordExecution(execution: RecordedExecution): void {
    const summary: ExecutionSummary = { name: execution.name, startedAt: execution.startedAt, ...summarize(execution) };
    this.enqueue(() => {
      this.insertExecution.run(
        summary.name,
        summary.status,
        summary.outcome,
        summary.httpStatus ?? null,
        summary.orderId ?? null,
        summary.idempotencyKey ?? null,
        summary.startedAt,
        summary.durationMs,
        deflateRawSync(JSON.stringify(execution), { level: 1 }),
      );
    });
    for (const listener of this.listeners) listener(summary);
  }

  recordExchange(exchange: HttpExchange): void {
    this.enqueue(() => {
      this.insertExchange.run(exchange.requestId, exchange.startedAt, JSON.stringify(exchange));
    });
  }

  /** Called with each execution as it is recorded; returns the unsubscribe function. */
  onExecution(listener: (summary: ExecutionSummary) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  executions(filter: ExecutionFilter = {}): ExecutionSummary[] {
    this.flush();
    const where: string[] = [];
    const values: (string | number)[] = [];
    const condition = (sql: string, ...bound: (string | number)[]): void => {
      where.push(sql);
      values.push(...bound);
    };
    if (filter.status) condition('status = ?', filter.status);
    if (filter.outcome) condition('outcome = ?', filter.outcome);
    if (filter.after !== undefined) condition('started_at > ?', filter.after);
    if (filter.search) {
      condition('(order_id = ? OR name = ? OR idempotency_key = ?)', filter.search, filter.search, filter.search);
    }
    const sql =
      `SELECT ${SUMMARY_COLUMNS} FROM executions` +
      (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
      ' ORDER BY seq DESC LIMIT ?';
    return this.db
      .prepare(sql)
      .all(...values, filter.limit ?? 100)
      .map(summaryOf);
  }

  execution(name: string): RecordedExecution | undefined {
    this.flush();
    const row = this.db.prepare('SELECT record FROM executions WHERE name = ?').get(name);
    if (!row) return undefined;
    return JSON.parse(inflateRawSync(row.record as Uint8Array).toString('utf8')) as RecordedExecution;
  }

  summary(name: string): ExecutionSummary | undefined {
    this.flush();
    const row = this.db.prepare(`SELECT ${SUMMARY_COLUMNS} FROM executions WHERE name = ?`).get(name);
    return row ? summaryOf(row) : undefined;
  }

  exchange(requestId: string): HttpExchange | undefined {
    this.flush();
    const row = this.db.prepare('SELECT record FROM http_exchanges WHERE request_id = ?').get(requestId);
    return row ? (JSON.parse(String(row.record)) as HttpExchange) : undefined;
  }

  /** Drops what is older than the retention age, then the oldest beyond the retention count. */
  prune(now = Date.now()): void {
    this.flush();
    const cutoff = now - this.maxAgeMs;
    this.db.prepare('DELETE FROM executions WHERE started_at < ?').run(cutoff);
    this.db.prepare('DELETE FROM http_exchanges WHERE started_at < ?').run(cutoff);
    this.db
      .prepare('DELETE FROM executions WHERE seq <= (SELECT seq FROM executions ORDER BY seq DESC LIMIT 1 OFFSET ?)')
      .run(this.maxExecutions);
    // The exchanges of dropped executions, and those API Gateway answered itself from before the oldest kept one. A
    // request arrives some milliseconds before its execution starts: an exchange whose execution is kept stays.
    const oldestKept = this.db.prepare('SELECT MIN(started_at) AS oldest FROM executions').get()?.oldest;
    if (typeof oldestKept === 'number') {
      this.db
        .prepare(
          `DELETE FROM http_exchanges WHERE started_at < ?
           AND NOT EXISTS (SELECT 1 FROM executions WHERE executions.name = http_exchanges.request_id)`,
        )
        .run(oldestKept);
    }
  }

  /** Writes what is pending now rather than after this turn of the event loop. */
  flush(): void {
    if (this.pending.length === 0) return;
    const work = this.pending;
    this.pending = [];
    this.db.exec('BEGIN');
    try {
      for (const write of work) write();
      this.db.exec('COMMIT');
    } catch (error) {
      this.db.exec('ROLLBACK');
      throw error;
    }
  }

  close(): void {
    clearInterval(this.pruneTimer);
    this.flush();
    this.db.close();
  }

  private enqueue(write: () => void): void {
    this.pending.push(write);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      try {
        this.flush();
      } catch {
        // A console record that cannot be written (disk full) must never fail the service; it is dropped.
      }
    });
  }
}
