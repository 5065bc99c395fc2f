/**
 * An OrderAccepted event as a consumer receives it, checked against the published schema
 * (order-accepted.schema.json): a consumer acts on an event it has checked, never on whatever arrived.
 */
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import schema from './order-accepted.schema.json' with { type: 'json' };
import type { OrderAcceptedDetail } from './order-accepted.js';

/** The EventBridge envelope of OrderAccepted; `replay-name` is set on events an archive replays. */
export interface OrderAcceptedEvent {
  version: '0';
  id: string;
  'detail-type': 'OrderAccepted';
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  'replay-name'?: string;
  detail: OrderAcceptedDetail;
}

/** The event breaks the contract: redelivering it cannot help, a human must look at it. */
export class MalformedOrderAcceptedEventError extends Error {
  constructor(readonly problems: string[]) {
    super(`not an OrderAccepted event: ${problems.join('; ')}`);
    this.name = 'MalformedOrderAcceptedEventError';
  }
}

const ajv = new Ajv({ allErrors: true });
addFormats.default(ajv, ['date-time']);
// Compiled once per container, at first import.
const validate = ajv.compile<OrderAcceptedEvent>(schema);

export function parseOrderAcceptedEvent(event: unknown): OrderAcceptedEvent {
  if (validate(event)) return event;
  throw new MalformedOrderAcceptedEventError(
    (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message ?? 'is invalid'}`),
  );
}
