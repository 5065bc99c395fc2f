/**
 * What the local ops console shows, kept on disk beside the service's other data (`console.sqlite`): every
 * workflow execution state by state, and every HTTP exchange of the API. Writes are grouped: everything recorded in
 * one turn of the event loop is committed in one transaction just after it, so recording costs the request path
 * one in-memory push. WAL with synchronous=NORMAL: a committed record survives kill -9 (it is in the OS's cache);
 * an OS crash may lose the last records, which are a log, not orders.
 * Retention is bounded by age and by count, whichever comes first.
 */
import { problemType } from '../../src/contract/problem.js';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { HttpExchange } from '../apigateway/server.js';
import type { RecordedExecution } from '../stepfunctions/execution-history.js';
import { isObject } from '../../src/json-value.js';
import { readClientKeyHeader } from '../../src/client-key.js';
import { bucketOf, COUNT_IN_MINUTE, minuteOf, readStats, STATS_SCHEMA, type ExecutionStats } from './console-stats.js';
import { createPrivateFile } from '../private-files.js';
import { checkpointInBackground, type BackgroundCheckpoints } from '../sqlite-checkpoints.js';
import { decodeExecution, encodeExecution } from './execution-record.js';

export const CONSOLE_DATABASE_FILE = 'console.sqlite';

/**
 * What an execution answered, as ops tell them apart: `replayed` is a 202 that gave an Idempotency-Key's earlier order
 * again (no new order), `in-progress` the 409 that asks a keyed copy to retry later (no orderId), `duplicate` the 409
 * that names the order a same payload made.
 */
export const OUTCOMES = [
  'accepted',
  'replayed',
  'duplicate',
  'in-progress',
  'rejected',
  'unavailable',
  'failed',
] as const;
export type Outcome = (typeof OUTCOMES)[number];

export interface ExecutionSummary {
  name: string;
  status: RecordedExecution['status'];
  outcome: Outcome;
  httpStatus: number | undefined;
  orderId: string | undefined;
  idempotencyKey: string | undefined;
  /** From the request body, when it was JSON that named them. */
  customerId: string | undefined;
  clientReference: string | undefined;
  /** The client's Idempotency-Key (`clientKey`), from the execution's input, when the request had the header. */
  clientKey: string | undefined;
  startedAt: number;
  durationMs: number;
}

export interface ExecutionFilter {
  status?: RecordedExecution['status'];
  outcome?: Outcome;
  /**
   * The start of an orderId, requestId (the execution's name), idempotency key, customerId, clientReference or the
   * client's Idempotency-Key.
   */
  search?: string;
  /** Exactly this orderId (an order's own executions). */
  orderId?: string;
  /** Started at or after (epoch ms). */
  from?: number;
  /** Started before (epoch ms). */
  to?: number;
  /** Paging: only executions recorded before this cursor (a `next` of an earlier page). */
  before?: number;
  limit?: number;
}

export interface ExecutionPage {
  executions: ExecutionSummary[];
  /** How many executions match the filter, on every page (NaN when not counted). */
  total: number;
  /** The cursor of the next (older) page, when there is one. */
  next: number | undefined;
}

/** The searchable columns: each has an index, searched by prefix as a range on it. */
const SEARCHED = ['order_id', 'name', 'idempotency_key', 'customer_id', 'client_reference', 'client_key'] as const;

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
    record BLOB NOT NULL,
    customer_id TEXT,
    client_reference TEXT,
    client_key TEXT
  );
  CREATE TABLE IF NOT EXISTS http_exchanges (
    request_id TEXT PRIMARY KEY,
    started_at INTEGER NOT NULL,
    record TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS http_exchanges_by_start ON http_exchanges (started_at);
  CREATE TABLE IF NOT EXISTS console_actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    action TEXT NOT NULL,
    summary TEXT NOT NULL,
    detail TEXT NOT NULL
  );
`;

/**
 * What someone did from the console (a redrive, a discard, a request sent again), kept as the audit of who changed
 * what: the letters a discard threw away stay readable here, payload and all. Not pruned with the executions.
 */
export interface ConsoleAction {
  id: number;
  at: number;
  action: 'redrive' | 'discard' | 'send-again';
  /** One line for a person. */
  summary: string;
  detail: unknown;
}

/** Columns added since the first console.sqlite: a file written by an older version gets them (empty) at open. */
const ADDED_COLUMNS = { customer_id: 'TEXT', client_reference: 'TEXT', client_key: 'TEXT' } as const;

/**
 * After the columns exist. An index on one column also orders its equal values by seq (the rowid), so
 * `status = ? ORDER BY seq DESC` and a prefix range read in index order, never the table with its records.
 */
const INDEXES = `
  CREATE INDEX IF NOT EXISTS executions_by_order ON executions (order_id);
  CREATE INDEX IF NOT EXISTS executions_by_key ON executions (idempotency_key);
  CREATE INDEX IF NOT EXISTS executions_by_start ON executions (started_at);
  CREATE INDEX IF NOT EXISTS executions_by_customer ON executions (customer_id);
  CREATE INDEX IF NOT EXISTS executions_by_reference ON executions (client_reference);
  CREATE INDEX IF NOT EXISTS executions_by_client_key ON executions (client_key);
  CREATE INDEX IF NOT EXISTS executions_by_status ON executions (status);
  CREATE INDEX IF NOT EXISTS executions_by_outcome ON executions (outcome);
`;

/** The answer the workflow gave API Gateway, from the execution's last event. */
function answerOf(execution: RecordedExecution): {
  statusCode?: number;
  body?: Record<string, unknown>;
  replayed?: boolean;
} {
  const last = execution.events.at(-1);
  if (last?.type !== 'ExecutionSucceeded' || !isObject(last.output)) return {};
  const { statusCode, body, headers } = last.output;
  let parsed: unknown;
  try {
    parsed = typeof body === 'string' ? JSON.parse(body) : undefined;
  } catch {
    parsed = undefined;
  }
  return {
    statusCode: typeof statusCode === 'number' ? statusCode : undefined,
    body: isObject(parsed) ? parsed : undefined,
    replayed: isObject(headers) && headers['Idempotent-Replayed'] === 'true',
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

/**
 * The client's Idempotency-Key as the execution's input carries it (API Gateway passes the header base64, under
 * `clientKey`): unquoted when it is a valid key, so that both forms of one key are found as one; as sent otherwise.
 */
function clientKeyOf(execution: RecordedExecution): string | undefined {
  const started = execution.events[0];
  if (started?.type !== 'ExecutionStarted' || !isObject(started.input)) return undefined;
  const { clientKey } = started.input;
  if (typeof clientKey !== 'string') return undefined;
  const sent = Buffer.from(clientKey, 'base64').toString('utf8');
  const reading = readClientKeyHeader(sent);
  return reading.ok ? reading.clientKey : sent;
}

/** The request body the execution started with (API Gateway passes it base64), when it is a JSON object. */
function requestBodyOf(execution: RecordedExecution): Record<string, unknown> | undefined {
  const started = execution.events[0];
  if (started?.type !== 'ExecutionStarted' || !isObject(started.input)) return undefined;
  const { body } = started.input;
  if (typeof body !== 'string') return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(body, 'base64').toString('utf8'));
    return isObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What the client got: the workflow's statusCode, or for an execution that did not succeed what the response
 * template (api/post-orders.response.vtl) answers for it: 503 for TIMED_OUT, 500 for FAILED.
 */
const httpStatusOf = (status: RecordedExecution['status'], statusCode: number | undefined): number | undefined =>
  status === 'TIMED_OUT' ? 503 : status === 'FAILED' ? 500 : statusCode;

const textOf = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

export function summarize(execution: RecordedExecution): Omit<ExecutionSummary, 'name' | 'startedAt'> {
  const { statusCode, body, replayed } = answerOf(execution);
  const request = requestBodyOf(execution);
  const outcome: Outcome =
    execution.status !== 'SUCCEEDED' || statusCode === undefined
      ? 'failed'
      : statusCode === 202
        ? replayed
          ? 'replayed'
          : 'accepted'
        : statusCode === 409
          ? body?.type === problemType('request-in-progress')
            ? 'in-progress'
            : 'duplicate'
          : statusCode === 503
            ? 'unavailable'
            : statusCode >= 400 && statusCode < 500
              ? 'rejected'
              : 'failed';
  return {
    status: execution.status,
    outcome,
    httpStatus: httpStatusOf(execution.status, statusCode),
    orderId: textOf(body?.orderId),
    idempotencyKey: textOf(body?.idempotencyKey) ?? validatedKeyOf(execution),
    customerId: textOf(request?.customerId),
    clientReference: textOf(request?.clientReference),
    clientKey: clientKeyOf(execution),
    durationMs: execution.stoppedAt - execution.startedAt,
  };
}

type Row = Record<string, unknown>;
const SUMMARY_COLUMNS =
  'seq, name, status, outcome, http_status, order_id, idempotency_key, customer_id, client_reference, client_key, ' +
  'started_at, duration_ms';
const optionalText = (value: unknown): string | undefined => (value === null ? undefined : String(value));
const summaryOf = (row: Row): ExecutionSummary => ({
  name: String(row.name),
  status: String(row.status) as ExecutionSummary['status'],
  outcome: String(row.outcome) as Outcome,
  httpStatus: row.http_status === null ? undefined : Number(row.http_status),
  orderId: optionalText(row.order_id),
  idempotencyKey: optionalText(row.idempotency_key),
  customerId: optionalText(row.customer_id),
  clientReference: optionalText(row.client_reference),
  clientKey: optionalText(row.client_key),
  startedAt: Number(row.started_at),
  durationMs: Number(row.duration_ms),
});

const actionOf = (row: Row): ConsoleAction => ({
  id: Number(row.id),
  at: Number(row.at),
  action: String(row.action) as ConsoleAction['action'],
  summary: String(row.summary),
  detail: JSON.parse(String(row.detail)) as unknown,
});

interface Query {
  sql: string;
  values: (string | number)[];
}

/** The list's count and page queries for a filter (one page: `limit` rows, and one more to tell there is a next). */
function listQueries(filter: ExecutionFilter, limit: number): { count: Query; rows: Query } {
  const where: string[] = [];
  const values: (string | number)[] = [];
  const condition = (sql: string, ...bound: (string | number)[]): void => {
    where.push(sql);
    values.push(...bound);
  };
  if (filter.status) condition('status = ?', filter.status);
  if (filter.outcome) condition('outcome = ?', filter.outcome);
  if (filter.orderId) condition('order_id = ?', filter.orderId);
  if (filter.from !== undefined) condition('started_at >= ?', filter.from);
  if (filter.to !== undefined) condition('started_at < ?', filter.to);
  const { search } = filter;
  if (search) {
    // A prefix is a range on each column's index (LIKE would read every row): one range per column, their union.
    const ranges = SEARCHED.map(
      (column) => `SELECT seq FROM executions WHERE ${column} >= ? AND ${column} < ? || char(0x10FFFF)`,
    );
    condition(`seq IN (${ranges.join(' UNION ')})`, ...SEARCHED.flatMap(() => [search, search]));
  }
  const matching = where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '';
  const before = filter.before;
  const page = before === undefined ? matching : `${matching ? `${matching} AND` : ' WHERE'} seq < ?`;
  return {
    count: { sql: `SELECT COUNT(*) AS n FROM executions${matching}`, values },
    rows: {
      sql: `SELECT ${SUMMARY_COLUMNS} FROM executions${page} ORDER BY seq DESC LIMIT ?`,
      values: [...values, ...(before === undefined ? [] : [before]), limit + 1],
    },
  };
}

export class ConsoleStore {
  private readonly db: DatabaseSync;
  private readonly insertExecution: StatementSync;
  private readonly insertExchange: StatementSync;
  private readonly answeredWith: StatementSync;
  private readonly countInMinute: StatementSync;
  private pending: (() => void)[] = [];
  /**
   * The HTTP status each execution was recorded with, until its exchange is recorded (just after it, as the answer
   * leaves): the exchange updates the execution's row only where the client got another status than that one.
   */
  private readonly recordedStatus = new Map<string, number | undefined>();
  private flushScheduled = false;
  private readonly listeners = new Set<(summary: ExecutionSummary) => void>();
  private readonly maxAgeMs: number;
  private readonly maxExecutions: number;
  private readonly pruneTimer: NodeJS.Timeout | undefined;
  private readonly checkpoints: BackgroundCheckpoints | undefined;

  /**
   * `retention: 'kept'` is for a reader beside the service (npm run conformance): it prunes nothing, whatever
   * retention the service that records runs with.
   */
  constructor(path: string, retention: ConsoleRetention | 'kept' = {}) {
    if (path !== ':memory:') createPrivateFile(path, dirname(path));
    this.db = new DatabaseSync(path);
    // First: another connection to the file (a reader, a checkpointer closing) is waited for, not an error.
    this.db.exec('PRAGMA busy_timeout = 5000');
    this.db.exec('PRAGMA journal_mode = WAL');
    this.db.exec('PRAGMA synchronous = NORMAL');
    this.db.exec(SCHEMA);
    const columns = new Set(
      this.db
        .prepare('PRAGMA table_info(executions)')
        .all()
        .map((row) => String(row.name)),
    );
    for (const [column, type] of Object.entries(ADDED_COLUMNS)) {
      if (!columns.has(column)) this.db.exec(`ALTER TABLE executions ADD COLUMN ${column} ${type}`);
    }
    this.db.exec(INDEXES);
    const counted = this.db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'execution_minutes'").get();
    this.db.exec(STATS_SCHEMA);
    this.insertExecution = this.db.prepare(
      `INSERT OR REPLACE INTO executions
         (name, status, outcome, http_status, order_id, idempotency_key, customer_id, client_reference, client_key,
          started_at, duration_ms, record)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.insertExchange = this.db.prepare(
      'INSERT OR REPLACE INTO http_exchanges (request_id, started_at, record) VALUES (?, ?, ?)',
    );
    this.answeredWith = this.db.prepare('UPDATE executions SET http_status = ? WHERE name = ?');
    this.countInMinute = this.db.prepare(COUNT_IN_MINUTE);
    // A console.sqlite from before the per-minute counts: counted once from what it holds.
    if (!counted) this.countKeptExecutions();
    const limits = retention === 'kept' ? {} : retention;
    this.maxAgeMs = limits.maxAgeMs ?? 24 * 60 * 60 * 1000;
    this.maxExecutions = limits.maxExecutions ?? 100_000;
    if (retention === 'kept') return;
    this.checkpoints = checkpointInBackground(this.db, path);
    this.prune();
    this.pruneTimer = setInterval(() => this.prune(), 60_000);
    this.pruneTimer.unref();
  }

  recordExecution(execution: RecordedExecution): void {
    const summary: ExecutionSummary = { name: execution.name, startedAt: execution.startedAt, ...summarize(execution) };
    this.recordedStatus.set(summary.name, summary.httpStatus);
    // Executions whose exchange never comes (a workflow run without the HTTP server) are not remembered for ever.
    if (this.recordedStatus.size > 10_000) this.recordedStatus.delete(this.recordedStatus.keys().next().value ?? '');
    this.enqueue(() => {
      this.insertExecution.run(
        summary.name,
        summary.status,
        summary.outcome,
        summary.httpStatus ?? null,
        summary.orderId ?? null,
        summary.idempotencyKey ?? null,
        summary.customerId ?? null,
        summary.clientReference ?? null,
        summary.clientKey ?? null,
        summary.startedAt,
        summary.durationMs,
        encodeExecution(execution),
      );
      this.countInMinute.run(minuteOf(summary.startedAt), summary.outcome, bucketOf(summary.durationMs));
    });
    for (const listener of this.listeners) listener(summary);
  }

  recordExchange(exchange: HttpExchange): void {
    const known = this.recordedStatus.has(exchange.requestId);
    const recorded = this.recordedStatus.get(exchange.requestId);
    this.recordedStatus.delete(exchange.requestId);
    this.enqueue(() => {
      this.insertExchange.run(exchange.requestId, exchange.startedAt, JSON.stringify(exchange));
      // The status the client actually got, over the one derived from the execution (the exchange ends after it).
      if (!known || recorded !== exchange.status) this.answeredWith.run(exchange.status, exchange.requestId);
    });
  }

  /** Called with each execution as it is recorded; returns the unsubscribe function. */
  onExecution(listener: (summary: ExecutionSummary) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The newest executions that match (one page: `limit`, default 100). */
  executions(filter: ExecutionFilter = {}): ExecutionSummary[] {
    return this.query(filter, false).executions;
  }

  /** The newest executions that match, a page at a time, with how many match in all. */
  page(filter: ExecutionFilter = {}): ExecutionPage {
    return this.query(filter, true);
  }

  private query(filter: ExecutionFilter, counted: boolean): ExecutionPage {
    this.flush();
    const limit = filter.limit ?? 100;
    const { count, rows: list } = listQueries(filter, limit);
    const total = counted ? Number(this.db.prepare(count.sql).get(...count.values)?.n ?? 0) : Number.NaN;
    const rows = this.db.prepare(list.sql).all(...list.values);
    const next = rows.length > limit ? Number(rows[limit - 1]?.seq) : undefined;
    return { executions: rows.slice(0, limit).map(summaryOf), total, next };
  }

  /** How SQLite reads the list's two queries for this filter (EXPLAIN QUERY PLAN): they must go through indexes. */
  queryPlans(filter: ExecutionFilter = {}): string[] {
    return Object.values(listQueries(filter, 100)).flatMap(({ sql, values }) =>
      this.db
        .prepare(`EXPLAIN QUERY PLAN ${sql}`)
        .all(...values)
        .map((row) => String(row.detail)),
    );
  }

  /** HTTP exchanges API Gateway answered itself (415, 404, 405: no execution) whose request id starts so. */
  gatewayExchanges(requestIdPrefix: string, limit = 20): HttpExchange[] {
    this.flush();
    return this.db
      .prepare(
        `SELECT record FROM http_exchanges WHERE request_id >= ? AND request_id < ? || char(0x10FFFF)
         AND NOT EXISTS (SELECT 1 FROM executions WHERE executions.name = http_exchanges.request_id)
         ORDER BY started_at DESC LIMIT ?`,
      )
      .all(requestIdPrefix, requestIdPrefix, limit)
      .map((row) => JSON.parse(String(row.record)) as HttpExchange);
  }

  execution(name: string): RecordedExecution | undefined {
    this.flush();
    const row = this.db.prepare('SELECT record FROM executions WHERE name = ?').get(name);
    if (!row) return undefined;
    return decodeExecution(row.record as Uint8Array);
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

  /** Keeps an action in the audit, at once (not batched): the answer that follows links to it. */
  recordAction(action: Omit<ConsoleAction, 'id' | 'at'>, at = Date.now()): ConsoleAction {
    this.flush();
    const { lastInsertRowid } = this.db
      .prepare('INSERT INTO console_actions (at, action, summary, detail) VALUES (?, ?, ?, ?)')
      .run(at, action.action, action.summary, JSON.stringify(action.detail));
    return { ...action, id: Number(lastInsertRowid), at };
  }

  action(id: number): ConsoleAction | undefined {
    const row = this.db.prepare('SELECT * FROM console_actions WHERE id = ?').get(id);
    return row ? actionOf(row) : undefined;
  }

  /** The newest first. */
  actions(limit = 100): ConsoleAction[] {
    return this.db.prepare('SELECT * FROM console_actions ORDER BY id DESC LIMIT ?').all(limit).map(actionOf);
  }

  /** Counts by outcome and latency percentiles of the last 15 minutes, hour and day, and the last hour by minute. */
  stats(now = Date.now()): ExecutionStats {
    this.flush();
    return readStats(this.db, now);
  }

  private countKeptExecutions(): void {
    this.db.exec('BEGIN');
    try {
      for (const row of this.db.prepare('SELECT started_at, outcome, duration_ms FROM executions').iterate()) {
        this.countInMinute.run(
          minuteOf(Number(row.started_at)),
          String(row.outcome),
          bucketOf(Number(row.duration_ms)),
        );
      }
      this.db.exec('COMMIT');
    } catch (error) {
      this.db.exec('ROLLBACK');
      throw error;
    }
  }

  /**
   * Drops what is older than the retention age, then the oldest beyond the retention count. The per-minute counts
   * are kept for the retention age alone: they tell what happened, whether or not each execution is still kept.
   */
  prune(now = Date.now()): void {
    this.flush();
    const cutoff = now - this.maxAgeMs;
    this.db.prepare('DELETE FROM execution_minutes WHERE minute < ?').run(minuteOf(cutoff));
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
    this.checkpoints?.stop();
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
