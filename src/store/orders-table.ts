/**
 * The orders table, defined once: the CDK stack and the local runtime both build it from here, and the workflow's
 * items (asl/order-intake.asl.json) follow the same keys.
 *
 * One table, two item kinds:
 * - `ORDER#<orderId>`: the order, never overwritten, no TTL. `document` holds the OrderDocument as JSON.
 * - `IDEMPOTENCY#<key>`: the 15 s duplicate lock, {orderId, expiresAt}; `expiresAt` is also the TTL attribute, but
 *   TTL deletion is lazy, so the write condition checks expiry itself.
 */
export const ORDERS_TABLE = {
  partitionKey: 'pk',
  timeToLiveAttribute: 'expiresAt',
  /** The outbox relay needs the new item only. */
  streamViewType: 'NEW_IMAGE',
  orderKeyPrefix: 'ORDER#',
  idempotencyKeyPrefix: 'IDEMPOTENCY#',
} as const;

export const orderKey = (orderId: string): string => `${ORDERS_TABLE.orderKeyPrefix}${orderId}`;
export const idempotencyLockKey = (idempotencyKey: string): string =>
  `${ORDERS_TABLE.idempotencyKeyPrefix}${idempotencyKey}`;
