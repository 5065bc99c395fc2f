/**
 * The archive of accepted orders: one JSON object per order under `orders/<yyyy>/<mm>/<dd>/<orderId>.json`, written
 * once. OrderAccepted arrives at least once (normally twice: workflow and outbox relay), so the write is a create
 * that treats "already there" as success.
 */
import { isOrderId } from '../contract/order.js';
import type { OrderAcceptedDetail } from '../events/order-accepted.js';
import { MalformedOrderEventError } from './errors.js';
import { isObject } from '../json-value.js';

/** Environment of the deployed archive consumer. (Locally the bus injects a folder store instead.) */
export const ARCHIVE_ENVIRONMENT = {
  bucketName: 'ARCHIVE_BUCKET_NAME',
} as const;

/** Every archived object lives under this prefix; the bucket's lifecycle rule targets it. */
export const ARCHIVE_KEY_PREFIX = 'orders/';

export type ArchiveOutcome = 'created' | 'exists';

/** Where archived orders are kept. `createIfAbsent` never overwrites and never leaves a partial object. */
export interface ArchiveStore {
  createIfAbsent(key: string, body: string): Promise<ArchiveOutcome>;
}

/** The day is the order's acceptance day in UTC, so a key never depends on where or when it is archived. */
export function archiveKeyOf(detail: Pick<OrderAcceptedDetail, 'orderId' | 'acceptedAt'>): string {
  const [yyyy, mm, dd] = new Date(detail.acceptedAt).toISOString().slice(0, 10).split('-');
  return `${ARCHIVE_KEY_PREFIX}${yyyy}/${mm}/${dd}/${detail.orderId}.json`;
}

/**
 * Checks only what the archive relies on: the orderId names the file (a ULID cannot escape its folder) and
 * acceptedAt dates it. The rest of the order is archived as published.
 */
export function orderAcceptedDetailOf(event: unknown): OrderAcceptedDetail {
  if (!isObject(event) || !isObject(event.detail)) throw new MalformedOrderEventError('event has no detail object');
  const { orderId, acceptedAt } = event.detail;
  if (!isOrderId(orderId)) {
    throw new MalformedOrderEventError(`detail.orderId is not a ULID: ${JSON.stringify(orderId)}`);
  }
  if (typeof acceptedAt !== 'string' || Number.isNaN(Date.parse(acceptedAt))) {
    throw new MalformedOrderEventError(`detail.acceptedAt is not a date: ${JSON.stringify(acceptedAt)}`);
  }
  return event.detail as unknown as OrderAcceptedDetail;
}

/**
 * Archives one OrderAccepted event (the EventBridge envelope):
 * 1. take the detail and check orderId and acceptedAt;
 * 2. derive the key from them;
 * 3. create the object unless it exists; a redelivery answers 'exists'.
 */
export async function archiveOrderAccepted(
  event: unknown,
  store: ArchiveStore,
): Promise<{ orderId: string; key: string; outcome: ArchiveOutcome }> {
  const detail = orderAcceptedDetailOf(event);
  const key = archiveKeyOf(detail);
  const outcome = await store.createIfAbsent(key, JSON.stringify(detail));
  return { orderId: detail.orderId, key, outcome };
}
