import { Logger } from '@aws-lambda-powertools/logger';
import { ulid } from 'ulid';
import { validateOrder, type ValidationOutcome } from '../../src/validation/validate-order.js';
import { validateSettingsFrom, type ValidateSettings } from '../../src/validation/validate-settings.js';
import type { Caller } from '../../src/client-key.js';
import { SERVICE_NAME } from '../../src/service-name.js';

/** The workflow's input, as the API Gateway request template builds it. */
export interface ValidateEvent {
  requestId: string;
  /** The raw request body, base64 of its UTF-8 bytes, so that no character needs escaping on the way. */
  body: string;
  /** The Idempotency-Key header's value, base64 as the body; absent when the request had no such header. */
  clientKey?: string;
  /** `$context.identity`'s accountId and userArn: empty strings where API Gateway knows no caller. */
  caller?: Partial<Caller>;
}

export type ValidateHandler = (event: ValidateEvent) => Promise<ValidationOutcome>;

const logger = new Logger({ serviceName: SERVICE_NAME });
// Each id draws 80 fresh random bits (Web Crypto), after its millisecond. Not monotonic: a monotonic factory makes the
// next id in the same millisecond the previous one plus one, so a caller who knows one order's id could read the
// next. Ids still sort by acceptance time, to the millisecond.
const newOrderId = (): string => ulid();

const fromBase64 = (value: string): string => Buffer.from(value, 'base64').toString('latin1');

/**
 * Validate for one deployment's settings. `clock` is for tests whose subject is a window (the lock's 15 s, a key's
 * retention).
 */
export function validateHandlerFor(settings: ValidateSettings, clock: () => Date = () => new Date()): ValidateHandler {
  return async (event) => {
    const outcome = validateOrder(
      Buffer.from(event.body ?? '', 'base64'),
      { now: clock(), newOrderId, ...settings },
      {
        // Bytes as received: a byte over 0x7E stays one character, which the header's check refuses.
        clientKeyHeader: event.clientKey === undefined ? undefined : fromBase64(event.clientKey),
        caller: event.caller,
      },
    );
    logger.debug('validated', { requestId: event.requestId, outcome: outcome.outcome });
    return outcome;
  };
}

let deployed: ValidateHandler | undefined;

/** The deployed entry point: the settings the stack put in the function's environment, read on first use. */
export const handler: ValidateHandler = (event) => {
  deployed ??= validateHandlerFor(validateSettingsFrom(process.env));
  return deployed(event);
};
