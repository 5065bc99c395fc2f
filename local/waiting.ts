/** Waits of the local loops: all of them end early when the loop is stopped, so stop() never waits out a pause. */
import type { Logger } from '@aws-lambda-powertools/logger';

/** Resolves after `ms`, or at once when `signal` aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** A pause that `notify()` also ends, so a loop polls slowly yet reacts to new work at once. */
export class Wakeup {
  private pending = false;
  private wake: (() => void) | undefined;

  notify(): void {
    this.pending = true;
    this.wake?.();
  }

  async wait(ms: number, signal: AbortSignal): Promise<void> {
    if (!this.pending) {
      const controller = new AbortController();
      this.wake = () => controller.abort();
      const onStop = (): void => controller.abort();
      signal.addEventListener('abort', onStop, { once: true });
      await pause(ms, controller.signal);
      signal.removeEventListener('abort', onStop);
      this.wake = undefined;
    }
    this.pending = false;
  }
}

/** Exponential backoff: `base`, doubled per consecutive failure, capped. */
export const backoff = (failures: number, baseMs: number, maxMs: number): number =>
  Math.min(maxMs, baseMs * 2 ** Math.max(0, failures - 1));

/** The structured log sink of the local runtime; quiet unless something needs attention. */
export type LogSink = (line: object) => void;

/** A LogSink onto a Powertools Logger: a line's `level` picks the method, its `message` the message. */
export const logSinkOnto =
  (logger: Pick<Logger, 'error' | 'warn' | 'info'>): LogSink =>
  ({ level, message, ...details }: { level?: string; message?: string }) => {
    const write = level === 'error' ? logger.error : level === 'warn' ? logger.warn : logger.info;
    write.call(logger, String(message ?? 'local events'), details);
  };
