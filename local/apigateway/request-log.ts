/**
 * One summary line per request at INFO — until the service is under load. A person trying the service with curl
 * sees every request; a benchmark at thousands of requests per second does not drown the terminal (and does not
 * spend its CPU on logging): past `linesPerSecond` in one second, further requests are folded into one line per
 * second that counts them by status. DEBUG shows every request; WARN and above show none.
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

export interface RequestLogOptions {
  /** Summary lines per second before folding; default 20. */
  linesPerSecond?: number;
}

export class RequestLog {
  readonly #logger: Logger;
  readonly #linesPerSecond: number;
  readonly #timer: NodeJS.Timeout;
  #windowStart = 0;
  #lines = 0;
  #folded = 0;
  #foldedByStatus: Record<string, number> = {};

  constructor(logger: Logger, options: RequestLogOptions = {}) {
    this.#logger = logger;
    this.#linesPerSecond = options.linesPerSecond ?? 20;
    // The folded count of a burst's last second must not wait for the next request.
    this.#timer = setInterval(() => {
      if (Date.now() - this.#windowStart >= 1000) this.flush();
    }, 1000);
    this.#timer.unref();
  }

  record(summary: RequestSummary): void {
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
      this.#logger.info('request', { ...summary });
      return;
    }
    this.#folded += 1;
    this.#foldedByStatus[summary.status] = (this.#foldedByStatus[summary.status] ?? 0) + 1;
  }

  /** Writes the folded count, if any. */
  flush(): void {
    if (this.#folded === 0) return;
    this.#logger.info('requests folded under load', { requests: this.#folded, byStatus: this.#foldedByStatus });
    this.#folded = 0;
    this.#foldedByStatus = {};
  }

  close(): void {
    clearInterval(this.#timer);
    this.flush();
  }
}
