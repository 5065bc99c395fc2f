import { Logger } from '@aws-lambda-powertools/logger';
import { ulid } from 'ulid';
import { validateOrder, type ValidationOutcome } from '../../src/validation/validate-order.js';
import { SERVICE_NAME } from '../../src/service-name.js';

/** The workflow's input, as the API Gateway request template builds it. */
export interface ValidateEvent {
  requestId: string;
  /** The raw request body, base64 of its UTF-8 bytes, so that no character needs escaping on the way. */
  body: string;
}

const logger = new Logger({ serviceName: SERVICE_NAME });
// Each id draws 80 fresh random bits (Web Crypto), after its millisecond. Not monotonic: a monotonic factory makes the
// next id in the same millisecond the previous one plus one, so a caller who knows one order's id could read the
// next. Ids still sort by acceptance time, to the millisecond.
const newOrderId = (): string => ulid();

export const handler = async (event: ValidateEvent): Promise<ValidationOutcome> => {
  const outcome = validateOrder(Buffer.from(event.body ?? '', 'base64'), { now: new Date(), newOrderId });
  logger.debug('validated', { requestId: event.requestId, outcome: outcome.outcome });
  return outcome;
};
