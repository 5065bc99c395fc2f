/**
 * The OrderAccepted event contract, imported by the producer (workflow substitutions, outbox relay), the consumer
 * (archive), the CDK rule and the local bus. Its published form is order-accepted.schema.json beside this file, with
 * the AsyncAPI document api/asyncapi.json over it. Consumers dedupe on detail.orderId: delivery is at least once.
 */
import type { OrderDocument } from '../contract/order.js';
import type { PutEventsEntry } from './event-publisher.js';

export const ORDER_EVENT_SOURCE = 'orders.intake';
export const ORDER_ACCEPTED_DETAIL_TYPE = 'OrderAccepted';

/**
 * MAJOR.MINOR of the detail's schema (docs/consumers.md): a minor version only adds optional members; anything a
 * consumer could trip on is a new major, published beside the old one. Each published version's schema is kept in
 * published/, and a test holds the current schema to it.
 */
export const ORDER_ACCEPTED_SCHEMA_VERSION = '1.0';

export type OrderAcceptedDetail = OrderDocument & { schemaVersion: string };

/** The detail both publication paths send for a stored order, so that their two events carry the same detail. */
export const orderAcceptedDetail = (order: OrderDocument): OrderAcceptedDetail => ({
  schemaVersion: ORDER_ACCEPTED_SCHEMA_VERSION,
  ...order,
});

/** Environment of a consumer built on the kit: the subscription construct sets it, the kit reads it. */
export const CONSUMER_ENVIRONMENT = { idempotencyTableName: 'IDEMPOTENCY_TABLE_NAME' } as const;

/** EventBridge rule pattern matching every OrderAccepted event. */
export const orderAcceptedPattern = {
  source: [ORDER_EVENT_SOURCE],
  'detail-type': [ORDER_ACCEPTED_DETAIL_TYPE],
} as const;

export const orderAcceptedEntry = (eventBusName: string, order: OrderDocument): PutEventsEntry => ({
  EventBusName: eventBusName,
  Source: ORDER_EVENT_SOURCE,
  DetailType: ORDER_ACCEPTED_DETAIL_TYPE,
  Detail: JSON.stringify(orderAcceptedDetail(order)),
});
