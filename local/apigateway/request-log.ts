/**
 * One summary line per request at INFO — until the service is under load. A person trying the service with curl
 * sees every request; a benchmark at thousands of requests per second does not drown the terminal (and does not
 * spend its CPU on logging): past `linesPerSecond` in one second, further requests are folded into one line per
 * second that counts them by status. DEBUG shows every request; WARN and above show none.
 * Requests the client abandoned (it went away mid-body, reset the connection) are told the same way at WARN: one
 * short line each, with the reason and no stack, folded by reason past `linesPerSecond` in a second.
 */
import type { Logger } from '@aws-lambda-powertools/logger';

export interface RequestSummary {
  method: string;
  path: string;
  status: number;
  durationMs: number;
  requestId: string;
  orderId?: string;
}

export interface AbandonedRequest {
  method: string;
  path: string;
  requestId: string;
  /** The socket error's code (ECONNRESET) or its message's first line: a client's leaving needs no stack. */
  reason: string;
}

export interface RequestLogOptions {
  /** Lines per second of each kind before folding; default 20. */
  linesPerSecond?: number;
}

/** Lines of one kind: the first `limit` of each second written, the rest counted by a key and written as one line. */
class FoldedLines {
  #windowStart = 0;
  #lines = 0;
  #folded = 0;
  #byKey: Record<string, number> = {};

  constructor(
    private readonly limit: number,
    private readonly writeFolded: (count: number, byKey: Record<string, number>) => void,
  ) {}

  /** Whether this line is written (true) or folded into the second's count; `unlimited` writes every line. */
  admit(key: string, unlimited = false): boolean {
    if (unlimited) return true;
    const now = Date.now();
    if (now - this.#windowStart >= 1000) {
      this.flush();
      this.#windowStart = now;
      this.#lines = 0;
    }
    if (this.#lines < this.limit) {
      this.#lines += 1;
      return true;
    }
    this.#folded += 1;
    this.#byKey[key] = (this.#byKey[key] ?? 0) + 1;
    return false;
  }

  flushIfIdle(): void {
    if (Date.now() - this.#windowStart >= 1000) this.flush();
  }

  flush(): void {
    if (this.#folded === 0) return;
    this.writeFolded(this.#folded, this.#byKey);
    this.#folded = 0;
    this.#byKey = {};
  }
}

const VERBOSE = new Set(['TRACE', 'DEBUG']);
const INFO_OR_MORE = new Set(['TRACE', 'DEBUG', 'INFO']);
const WARN_OR_MORE = new Set(['TRACE', 'DEBUG', 'INFO', 'WARN']);

export class RequestLog {
  readonly #logger: Logger;
  readonly #timer: NodeJS.Timeout;
  readonly #requests: FoldedLines;
  readonly #abandoned: FoldedLines;

  constructor(logger: Logger, options: RequestLogOptions = {}) {
    this.#logger = logger;
    const limit = options.linesPerSecond ?? 20;
    this.#requests = new FoldedLines(limit, (requests, byStatus) =>
      this.#logger.info('requests folded under load', { requests, byStatus }),
    );
    this.#abandoned = new FoldedLines(limit, (requests, byReason) =>
      this.#logger.warn('abandoned requests folded', { requests, byReason }),
    );
    // The folded count of a burst's last second must not wait for the next request.
    this.#timer = setInterval(() => {
      this.#requests.flushIfIdle();
      this.#abandoned.flushIfIdle();
    }, 1000);
    this.#timer.unref();
  }

  record(summary: RequestSummary): void {
    const level = this.#logger.getLevelName();
    if (!INFO_OR_MORE.has(level)) return;
    // DEBUG shows every request: the folding is for INFO.
    if (this.#requests.admit(String(summary.status), VERBOSE.has(level))) this.#logger.info('request', { ...summary });
  }

  abandoned(request: AbandonedRequest): void {
    if (!WARN_OR_MORE.has(this.#logger.getLevelName())) return;
    if (this.#abandoned.admit(request.reason)) this.#logger.warn('request abandoned', { ...request });
  }

  /** Writes the folded counts, if any. */
  flush(): void {
    this.#requests.flush();
    this.#abandoned.flush();
  }

  close(): void {
    clearInterval(this.#timer);
    this.flush();
  }
}
