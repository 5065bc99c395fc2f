/**
 * The local runtime's logs as a person reads them in a terminal: one line per entry, `time LEVEL message key=value`,
 * instead of a JSON document. The entries are the same (Powertools Logger builds them); only the printing differs,
 * through Logger's documented extension point (a subclass). Pipes and files keep getting JSON.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { ConstructorOptions } from '@aws-lambda-powertools/logger/types';

type LogItem = Parameters<Logger['printLog']>[1];

/** Keys every line carries, said once at the front instead. */
const FRONT = new Set(['level', 'message', 'timestamp', 'service', 'sampling_rate']);

const valueText = (value: unknown): string =>
  typeof value === 'string' && /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);

export function readableLine(attributes: Record<string, unknown>): string {
  const time = typeof attributes.timestamp === 'string' ? attributes.timestamp.slice(11, 23) : '';
  const level = String(attributes.level ?? '').padEnd(5);
  const rest = Object.entries(attributes)
    .filter(([key, value]) => !FRONT.has(key) && value !== undefined)
    .map(([key, value]) => `${key}=${valueText(value)}`);
  return [time, level, String(attributes.message ?? ''), ...rest].filter((part) => part !== '').join(' ');
}

export class TerminalLogger extends Logger {
  protected override printLog(logLevel: number, log: LogItem): void {
    const line = readableLine(log.getAttributes() as Record<string, unknown>);
    // Powertools' own thresholds: WARN is 16, ERROR 20.
    (logLevel >= 16 ? process.stderr : process.stdout).write(`${line}\n`);
  }

  protected override createLogger(options?: ConstructorOptions): Logger {
    return new TerminalLogger(options);
  }
}
