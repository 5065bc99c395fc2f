import { Logger } from '@aws-lambda-powertools/logger';
import { monotonicFactory } from 'ulid';
import { validateOrder, type ValidationOutcome } from '../../src/validation/validate-order.js';
import { SERVICE_NAME } from '../../src/service-name.js';

/** The workflow's input, as the API Gateway request template builds it. */
export interface ValidateEvent {
  requestId: string;
  /** The raw request body, base64 of its UTF-8 bytes, so that no character needs escaping on the way. */
  body: string;
}

const logger = new Logger({ serviceName: SERVICE_NAME });
// Monotonic within a container, so orders accepted in the same millisecond still sort in arrival order.
const newOrderId = monotonicFactory();

export const handler = async (event: ValidateEvent): Promise<ValidationOutcome> => {
  const outcome = validateOrder(Buffer.from(event.body ?? '', 'base64'), { now: new Date(), newOrderId });
  logger.debug('validated', { requestId: event.requestId, outcome: outcome.outcome });
  return outcome;
};
