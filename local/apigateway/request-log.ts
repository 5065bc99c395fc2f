/**
 * The request log: one summary line per request at INFO, and one line for every failure at any level but SILENT.
 *
 * Summaries: a person trying the service with curl sees every request; a benchmark at thousands of requests per
 * second does not drown the terminal (and does not spend its CPU on logging): past `linesPerSecond` in one second,
 * further requests are folded into one line per second that counts them by status. DEBUG shows every request; WARN
 * and above show none.
 *
 * Failures (every 5xx answer, every FAILED or TIMED_OUT execution): one line with the request id, the execution name,
 * the error and its cause, at ERROR, or WARN for a 503 that no failed execution explains (the store unavailable: the
 * client retries). They are written at every LOG_LEVEL but SILENT, since a quieter log must still say what broke.
 * Under a storm (a fault makes thousands of 500s a second), repeats of one kind (status and error) within a second of
 * the last fold into one line per second with their count and the latest of them; the first of a kind after a quiet
 * second is always written whole.
 *
 * Abandoned requests (the client went away mid-request) are one short WARN line each through the same writer, with
 * the reason and no stack, folded by reason past `linesPerSecond` in a second.
 */
import type { Logger } from '@aws-lambda-powertools/logger';

/** Why an answer failed, as the gateway saw it. */
export interface FailureTrace {
  /** The execution the request started, when it got that far (named after the request id). */
  executionName?: string;
  /** FAILED, TIMED_OUT or ABORTED when the execution itself did not succeed. */
  executionStatus?: string;
  /** The error name: the execution's `error`, the AWS error, or the problem's title. */
  error: string;
  cause?: string;
  /** The stack of an exception of the local runtime itself. */
  stack?: string;
}

export interface RequestSummary {
  method: string;
  path: string;
  status: number;
  durationMs: number;
  requestId: string;
  orderId?: string;
  /** Present on every 5xx answer and every answer of a failed execution. */
  failure?: FailureTrace;
}

/** A request the client gave up on (it went away mid-body, reset the connection): nothing broke on our side. */
export interface AbandonedRequest {
  method: string;
  path: string;
  requestId: string;
  /** The socket error's code (ECONNRESET) or its message's first line: a client's leaving needs no stack. */
  reason: string;
}

/** Where failure lines go: a logger that writes WARN and ERROR whatever the service's level. */
export type FailureWriter = Pick<Logger, 'warn' | 'error'>;

export interface RequestLogOptions {
  /** Summary lines per second before folding; default 20. */
  linesPerSecond?: number;
  /** Default: a child of the logger at WARN, so failures show at LOG_LEVEL=ERROR too; none when it is SILENT. */
  failures?: FailureWriter;
}

/** The repeats of one kind of failure since its last line. */
interface FailureKind {
  lastSeenAt: number;
  folded: number;
  latest?: Record<string, unknown>;
  level: 'warn' | 'error';
}

export class RequestLog {
  readonly #logger: Logger;
  readonly #linesPerSecond: number;
  readonly #failures: FailureWriter | undefined;
  readonly #kinds = new Map<string, FailureKind>();
  readonly #timer: NodeJS.Timeout;
  #windowStart = 0;
  #lines = 0;
  #folded = 0;
  #foldedByStatus: Record<string, number> = {};
  #abandonedWindowStart = 0;
  #abandonedLines = 0;
  #abandonedFolded: Record<string, number> = {};

  constructor(logger: Logger, options: RequestLogOptions = {}) {
    this.#logger = logger;
    this.#linesPerSecond = options.linesPerSecond ?? 20;
    this.#failures =
      options.failures ?? (logger.getLevelName() === 'SILENT' ? undefined : logger.createChild({ logLevel: 'WARN' }));
    // The folded counts of a burst's last second must not wait for the next request.
    this.#timer = setInterval(() => {
      if (Date.now() - this.#windowStart >= 1000) this.flush();
      if (Date.now() - this.#abandonedWindowStart >= 1000) this.#flushAbandoned();
      this.#flushFailures();
    }, 1000);
    this.#timer.unref();
  }

  record(summary: RequestSummary): void {
    if (summary.failure || summary.status >= 500) this.#recordFailure(summary);
    const level = this.#logger.getLevelName();
    if (level !== 'TRACE' && level !== 'DEBUG' && level !== 'INFO') return;
    const now = Date.now();
    if (now - this.#windowStart >= 1000) {
      this.flush();
      this.#windowStart = now;
      this.#lines = 0;
    }
    if (level !== 'INFO' || this.#lines < this.#linesPerSecond) {
      this.#lines += 1;
      const { method, path, status, durationMs, requestId, orderId } = summary;
      this.#logger.info('request', { method, path, status, durationMs, requestId, ...(orderId && { orderId }) });
      return;
    }
    this.#folded += 1;
    this.#foldedByStatus[summary.status] = (this.#foldedByStatus[summary.status] ?? 0) + 1;
  }

  /** Writes the folded count of summaries, if any. */
  flush(): void {
    if (this.#folded === 0) return;
    this.#logger.info('requests folded under load', { requests: this.#folded, byStatus: this.#foldedByStatus });
    this.#folded = 0;
    this.#foldedByStatus = {};
  }

  /**
   * One short warn line per abandoned request (at every level but SILENT, like a failure): its reason, no stack. Past
   * `linesPerSecond` in a second, the rest fold into one line per second counted by reason.
   */
  abandoned(request: AbandonedRequest): void {
    if (!this.#failures) return;
    const now = Date.now();
    if (now - this.#abandonedWindowStart >= 1000) {
      this.#flushAbandoned();
      this.#abandonedWindowStart = now;
      this.#abandonedLines = 0;
    }
    if (this.#abandonedLines < this.#linesPerSecond) {
      this.#abandonedLines += 1;
      this.#failures.warn('request abandoned', { ...request });
      return;
    }
    this.#abandonedFolded[request.reason] = (this.#abandonedFolded[request.reason] ?? 0) + 1;
  }

  #flushAbandoned(): void {
    const byReason = this.#abandonedFolded;
    const requests = Object.values(byReason).reduce((sum, count) => sum + count, 0);
    if (requests === 0) return;
    this.#failures?.warn('abandoned requests folded', { requests, byReason });
    this.#abandonedFolded = {};
  }

  close(): void {
    clearInterval(this.#timer);
    this.flush();
    this.#flushAbandoned();
    this.#flushFailures(Number.POSITIVE_INFINITY);
  }

  #recordFailure({ status, requestId, method, path, failure }: RequestSummary): void {
    if (!this.#failures) return;
    const error = failure?.error ?? `HTTP ${status}`;
    const executionFailed = failure?.executionStatus !== undefined;
    const level = status === 503 && !executionFailed ? 'warn' : 'error';
    const line = {
      requestId,
      method,
      path,
      status,
      executionName: failure?.executionName,
      ...(executionFailed && { executionStatus: failure?.executionStatus }),
      error,
      cause: failure?.cause,
      ...(failure?.stack && { stack: failure.stack }),
    };
    const key = `${status} ${error}`;
    const now = Date.now();
    const kind = this.#kinds.get(key);
    if (kind && now - kind.lastSeenAt < 1000) {
      kind.lastSeenAt = now;
      kind.folded += 1;
      kind.latest = line;
      return;
    }
    this.#kinds.set(key, { lastSeenAt: now, folded: 0, level });
    this.#failures[level](failureMessage(status, executionFailed), line);
  }

  /** One line per kind that repeated since its last line; kinds quiet for a second are forgotten. */
  #flushFailures(now = Date.now()): void {
    for (const [key, kind] of this.#kinds) {
      if (kind.folded > 0 && kind.latest) {
        this.#failures?.[kind.level]('failures folded under load', { repeats: kind.folded, latest: kind.latest });
        kind.folded = 0;
        kind.latest = undefined;
      } else if (now - kind.lastSeenAt >= 1000) {
        this.#kinds.delete(key);
      }
    }
  }
}

const failureMessage = (status: number, executionFailed: boolean): string =>
  executionFailed ? `execution failed, answered ${status}` : `answered ${status}`;
