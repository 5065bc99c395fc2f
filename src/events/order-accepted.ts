/**
 * The OrderAccepted event contract, imported by the producer (workflow substitutions, outbox relay), the consumer
 * (archive), the CDK rule and the local bus. Consumers dedupe on detail.orderId: delivery is at least once.
 */
import type { OrderDocument } from '../contract/order.js';
import type { PutEventsEntry } from './event-publisher.js';

export const ORDER_EVENT_SOURCE = 'orders.intake';
export const ORDER_ACCEPTED_DETAIL_TYPE = 'OrderAccepted';

export type OrderAcceptedDetail = OrderDocument;

/** EventBridge rule pattern matching every OrderAccepted event. */
export const orderAcceptedPattern = {
  source: [ORDER_EVENT_SOURCE],
  'detail-type': [ORDER_ACCEPTED_DETAIL_TYPE],
} as const;

export const orderAcceptedEntry = (eventBusName: string, detail: OrderAcceptedDetail): PutEventsEntry => ({
  EventBusName: eventBusName,
  Source: ORDER_EVENT_SOURCE,
  DetailType: ORDER_ACCEPTED_DETAIL_TYPE,
  Detail: JSON.stringify(detail),
});
