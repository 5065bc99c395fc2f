/**
 * The orders table, defined once: the CDK stack and the local runtime both build it from here, and the workflow's
 * Persist state writes the items built here (Validate hands them to it).
 *
 * One table, three item kinds:
 * - `ORDER#<orderId>`: the order, never overwritten, no TTL. `document` holds the OrderDocument as JSON; `clientKey`
 *   the client's Idempotency-Key when the request had one.
 * - `IDEMPOTENCY#<payload hash>`: the 15 s duplicate lock, {orderId, expiresAt}.
 * - `CLIENTKEY#<SHA-256 of caller scope and client key>`: the client's key, {clientKey, idempotencyKey (the payload
 *   hash, its fingerprint), orderId, acceptedAt, expiresAt}, kept for the key's retention. The hash keeps the key
 *   bounded whatever the client sends; the raw key is only an attribute.
 * `expiresAt` (epoch seconds) is the TTL attribute of the lock and the key item, but TTL deletion is lazy, so the
 * write conditions and the workflow's reads check expiry themselves.
 */
import { createHash } from 'node:crypto';

export const ORDERS_TABLE = {
  partitionKey: 'pk',
  timeToLiveAttribute: 'expiresAt',
  /** The outbox relay needs the new item only. */
  streamViewType: 'NEW_IMAGE',
  orderKeyPrefix: 'ORDER#',
  idempotencyKeyPrefix: 'IDEMPOTENCY#',
  clientKeyPrefix: 'CLIENTKEY#',
} as const;

export const orderKey = (orderId: string): string => `${ORDERS_TABLE.orderKeyPrefix}${orderId}`;
export const idempotencyLockKey = (idempotencyKey: string): string =>
  `${ORDERS_TABLE.idempotencyKeyPrefix}${idempotencyKey}`;
/** The scope cannot hold a line feed (an ARN, or empty), so scope and key cannot be confused with another pair. */
export const clientKeyItemKey = (scope: string, clientKey: string): string =>
  `${ORDERS_TABLE.clientKeyPrefix}${createHash('sha256').update(`${scope}\n${clientKey}`, 'utf8').digest('hex')}`;

/** DynamoDB's JSON for the attribute types these items use. */
export type AttributeValue = { S: string } | { N: string };
/** Every item has its partition key, a string. */
export type Item = { pk: { S: string } } & Record<string, AttributeValue>;

/** One Put of TransactWriteItems, as the Persist state sends it. */
export interface TransactPut {
  Put: {
    TableName: string;
    Item: Item;
    ConditionExpression: string;
    ExpressionAttributeValues?: Record<string, AttributeValue>;
  };
}

/** A lock or a key item may be written where there is none, or where the one there has expired. */
const FREE_OR_EXPIRED = 'attribute_not_exists(pk) OR expiresAt < :now';

export interface AcceptedOrder {
  orderId: string;
  /** The payload's hash. */
  idempotencyKey: string;
  acceptedAt: string;
  /** The OrderDocument, serialized. */
  document: string;
  nowEpochSeconds: number;
  lockExpiresAtEpochSeconds: number;
  /** The client's key, when the request had one. */
  client?: { itemKey: string; clientKey: string; expiresAtEpochSeconds: number };
}

/**
 * The transaction that accepts an order: the lock, the order (never overwritten) and, for a request with a client
 * key, the key item. All or nothing: a live lock or a live key cancels the whole.
 */
export function acceptOrderTransaction(tableName: string, order: AcceptedOrder): TransactPut[] {
  const now = { ':now': { N: String(order.nowEpochSeconds) } };
  const client = order.client;
  const orderItem: Item = {
    pk: { S: orderKey(order.orderId) },
    orderId: { S: order.orderId },
    idempotencyKey: { S: order.idempotencyKey },
    acceptedAt: { S: order.acceptedAt },
    document: { S: order.document },
    ...(client ? { clientKey: { S: client.clientKey } } : {}),
  };
  const items: TransactPut[] = [
    {
      Put: {
        TableName: tableName,
        Item: {
          pk: { S: idempotencyLockKey(order.idempotencyKey) },
          orderId: { S: order.orderId },
          expiresAt: { N: String(order.lockExpiresAtEpochSeconds) },
        },
        ConditionExpression: FREE_OR_EXPIRED,
        ExpressionAttributeValues: now,
      },
    },
    { Put: { TableName: tableName, Item: orderItem, ConditionExpression: 'attribute_not_exists(pk)' } },
  ];
  if (client) {
    items.push({
      Put: {
        TableName: tableName,
        Item: {
          pk: { S: client.itemKey },
          clientKey: { S: client.clientKey },
          idempotencyKey: { S: order.idempotencyKey },
          orderId: { S: order.orderId },
          acceptedAt: { S: order.acceptedAt },
          expiresAt: { N: String(client.expiresAtEpochSeconds) },
        },
        ConditionExpression: FREE_OR_EXPIRED,
        ExpressionAttributeValues: now,
      },
    });
  }
  return items;
}
