/**
 * The transactional outbox: every ORDER# item the table stores becomes one OrderAccepted on the bus. The table's
 * stream is the outbox; this module decides what to publish and publishes it with bounded retries. What still
 * fails goes back to the stream's event source mapping as batch item failures (bisect, retry, DLQ).
 */
import type { OrderDocument } from '../contract/order.js';
import { orderAcceptedEntry } from '../events/order-accepted.js';
import {
  isEntryFailure,
  PUT_EVENTS_MAX_ENTRIES,
  type EventPublisher,
  type PutEventsEntry,
} from '../events/event-publisher.js';
import { ORDERS_TABLE } from '../store/orders-table.js';
import { MalformedOrderItemError } from './errors.js';
import { describeError, isObject } from '../json-value.js';

/** Environment of the outbox relay. */
export const OUTBOX_ENVIRONMENT = { eventBusName: 'EVENT_BUS_NAME' } as const;

/** Per-entry error codes EventBridge documents as retryable; the others fail the same way every time. */
const RETRYABLE_ERROR_CODES = new Set(['InternalFailure', 'ThrottlingException']);

/** One stream record, with its new image already unmarshalled. */
export interface OutboxRecord {
  /** The stream record's sequence number: the batch item identifier. */
  id: string;
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE' | undefined;
  newImage: Record<string, unknown> | undefined;
}

export interface RelayOptions {
  eventBusName: string;
  /** Calls per chunk, the first included. */
  maxAttempts?: number;
  /** First pause between attempts; it doubles each time. */
  backoffMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

export interface RelayFailure {
  id: string;
  reason: string;
}

export interface RelayResult {
  published: number;
  ignored: number;
  failed: RelayFailure[];
}

const wait = (ms: number): Promise<void> => new Promise((wake) => setTimeout(wake, ms));

/** The order of a new ORDER# item, or undefined for anything the outbox does not publish. */
export function orderOfInsert(record: OutboxRecord): OrderDocument | undefined {
  const pk = record.newImage?.[ORDERS_TABLE.partitionKey];
  if (record.eventName !== 'INSERT' || typeof pk !== 'string' || !pk.startsWith(ORDERS_TABLE.orderKeyPrefix)) {
    return undefined;
  }
  const document = record.newImage?.document;
  let order: unknown;
  try {
    order = typeof document === 'string' ? JSON.parse(document) : undefined;
  } catch (error) {
    throw new MalformedOrderItemError(`${pk}: document is not JSON`, { cause: error });
  }
  if (!isObject(order) || typeof order.orderId !== 'string') {
    throw new MalformedOrderItemError(`${pk}: document is not an order`);
  }
  return order as unknown as OrderDocument;
}

/** Publishes one chunk (<= 10 entries), retrying what failed retryably; returns the entries that never made it. */
async function publishChunk(
  chunk: { id: string; entry: PutEventsEntry }[],
  publisher: EventPublisher,
  { maxAttempts, backoffMs, sleep }: Required<Omit<RelayOptions, 'eventBusName'>>,
): Promise<RelayFailure[]> {
  let pending = chunk;
  const final: RelayFailure[] = [];
  for (let attempt = 1; pending.length > 0; attempt += 1) {
    const retry: { id: string; entry: PutEventsEntry; reason: string }[] = [];
    try {
      const { Entries } = await publisher.putEvents(pending.map((item) => item.entry));
      pending.forEach((item, index) => {
        const result = Entries[index];
        if (result && !isEntryFailure(result)) return;
        const reason = result ? `${result.ErrorCode}: ${result.ErrorMessage}` : 'no result entry';
        if (result && !RETRYABLE_ERROR_CODES.has(result.ErrorCode)) final.push({ id: item.id, reason });
        else retry.push({ ...item, reason });
      });
    } catch (error) {
      // The whole call failed (throttled, service fault, bus unreachable): every entry may be retried.
      retry.push(...pending.map((item) => ({ ...item, reason: describeError(error) })));
    }
    if (retry.length === 0 || attempt >= maxAttempts) {
      final.push(...retry.map(({ id, reason }) => ({ id, reason })));
      break;
    }
    await sleep(backoffMs * 2 ** (attempt - 1));
    pending = retry;
  }
  return final;
}

/**
 * Relays a batch of stream records:
 * 1. keep INSERTs of ORDER# items (locks, updates and deletions are not events); a malformed one fails alone;
 * 2. publish their OrderAccepted in stream order, in calls of at most 10 entries;
 * 3. retry failed entries a bounded number of times with exponential backoff;
 * 4. return the records that still failed, so that the event source mapping retries them.
 */
export async function relayOrderEvents(
  records: OutboxRecord[],
  publisher: EventPublisher,
  { eventBusName, maxAttempts = 3, backoffMs = 100, sleep = wait }: RelayOptions,
): Promise<RelayResult> {
  const malformed: RelayFailure[] = [];
  const toPublish: { id: string; entry: PutEventsEntry }[] = [];
  for (const record of records) {
    try {
      const order = orderOfInsert(record);
      if (order) toPublish.push({ id: record.id, entry: orderAcceptedEntry(eventBusName, order) });
    } catch (error) {
      malformed.push({ id: record.id, reason: describeError(error) });
    }
  }
  const unpublished: RelayFailure[] = [];
  for (let start = 0; start < toPublish.length; start += PUT_EVENTS_MAX_ENTRIES) {
    const chunk = toPublish.slice(start, start + PUT_EVENTS_MAX_ENTRIES);
    unpublished.push(...(await publishChunk(chunk, publisher, { maxAttempts, backoffMs, sleep })));
  }
  return {
    published: toPublish.length - unpublished.length,
    ignored: records.length - toPublish.length - malformed.length,
    failed: [...malformed, ...unpublished],
  };
}
