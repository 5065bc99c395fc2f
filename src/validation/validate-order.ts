import { MAX_BODY_BYTES, ORDER_STATUS_ACCEPTED, type OrderDocument, type OrderReceipt } from '../contract/order.js';
import {
  bodyTooLargeProblem,
  invalidClientKeyProblem,
  invalidJsonProblem,
  invalidOrderProblem,
  type ProblemDetails,
} from '../contract/problem.js';
import { orderAcceptedDetail, type OrderAcceptedDetail } from '../events/order-accepted.js';
import { idempotencyKeyOf } from '../idempotency-key.js';
import { IDEMPOTENCY_WINDOW_SECONDS } from '../deployed-settings.js';
import {
  acceptOrderTransaction,
  clientKeyItemKey,
  idempotencyLockKey,
  orderKey,
  type TransactPut,
} from '../store/orders-table.js';
import { callerScope, readClientKeyHeader, type Caller } from '../client-key.js';
import { checkOrderRequest } from './check-order-request.js';
import { errorMessage } from '../json-value.js';

/**
 * What the Validate state hands the workflow (asl/order-intake.asl.json reads these names).
 * Item keys come from here so that the key formats live in src/store/orders-table.ts only. Epoch seconds travel as
 * strings, the form of a DynamoDB N value, so the workflow never formats numbers itself.
 */
export type ValidationOutcome =
  | {
      outcome: 'REJECTED';
      statusCode: number;
      /**
       * The problem+json body, serialized here: the workflow passes it through as is. (Serializing it in the ASL
       * with States.JsonToString would be equivalent in AWS, but aws-local-stepfunctions 3.0 strips backslashes
       * from intrinsic results, which breaks the JSON of a message that quotes the client's input.)
       */
      problemBody: string;
    }
  | {
      outcome: 'VALID';
      orderId: string;
      idempotencyKey: string;
      orderKey: string;
      lockKey: string;
      nowEpochSeconds: string;
      /** The Persist state's TransactItems: the lock, the order and, with a client key, the key item. */
      transactItems: TransactPut[];
      /** With a client key only: the key item's key (ReadClientKey reads it) and the key itself, unquoted. */
      clientKeyItemKey?: string;
      clientKey?: string;
      receipt: OrderReceipt;
      /** What the order item stores and GET /orders/{orderId} answers. */
      order: OrderDocument;
      /** The Publish state's event detail: the order with its event schema version. */
      orderAccepted: OrderAcceptedDetail;
    };

export interface ValidationContext {
  now: Date;
  newOrderId: () => string;
  /** The table the transaction's items name. */
  tableName: string;
  clientKeyRetentionHours: number;
}

/** What of the request besides its body decides the outcome. */
export interface RequestExtras {
  /** The Idempotency-Key field value as received, when the request had the header. */
  clientKeyHeader?: string;
  /** Who sent it: the scope of its client key. */
  caller?: Partial<Caller>;
}

const rejected = (problem: ProblemDetails): ValidationOutcome => ({
  outcome: 'REJECTED',
  statusCode: problem.status,
  problemBody: JSON.stringify(problem),
});

const utf8 = new TextDecoder('utf-8', { fatal: true });

function parseJson(rawBody: Uint8Array): { ok: true; value: unknown } | { ok: false; reason: string } {
  try {
    return { ok: true, value: JSON.parse(utf8.decode(rawBody)) };
  } catch (error) {
    return { ok: false, reason: errorMessage(error) };
  }
}

/**
 * Turns a raw request body into the workflow's decision:
 * 0. the Idempotency-Key header, when there is one (400 naming the header);
 * 1. size in UTF-8 bytes, before any parsing (413);
 * 2. UTF-8 and JSON syntax (400);
 * 3. contract and business rules, every failing field named (400);
 * 4. for a valid order: idempotency key, time-sortable orderId, acceptance time and lock expiry.
 */
export function validateOrder(
  rawBody: Uint8Array,
  context: ValidationContext,
  extras: RequestExtras = {},
): ValidationOutcome {
  const client = extras.clientKeyHeader === undefined ? undefined : readClientKeyHeader(extras.clientKeyHeader);
  if (client && !client.ok) return rejected(invalidClientKeyProblem(client.code, client.message));

  if (rawBody.byteLength > MAX_BODY_BYTES) return rejected(bodyTooLargeProblem(MAX_BODY_BYTES));

  const parsed = parseJson(rawBody);
  if (!parsed.ok) return rejected(invalidJsonProblem(parsed.reason));

  const check = checkOrderRequest(parsed.value);
  if (!check.valid) return rejected(invalidOrderProblem(check.errors));

  const nowEpochSeconds = Math.floor(context.now.getTime() / 1000);
  const receipt: OrderReceipt = {
    orderId: context.newOrderId(),
    status: ORDER_STATUS_ACCEPTED,
    acceptedAt: context.now.toISOString(),
    idempotencyKey: idempotencyKeyOf(check.order),
  };
  const order: OrderDocument = { ...receipt, ...check.order };
  const clientKey = client?.ok ? client.clientKey : undefined;
  const keyItem =
    clientKey === undefined
      ? undefined
      : {
          itemKey: clientKeyItemKey(callerScope(extras.caller), clientKey),
          clientKey,
          expiresAtEpochSeconds: nowEpochSeconds + context.clientKeyRetentionHours * 3600,
        };
  return {
    outcome: 'VALID',
    orderId: receipt.orderId,
    idempotencyKey: receipt.idempotencyKey,
    orderKey: orderKey(receipt.orderId),
    lockKey: idempotencyLockKey(receipt.idempotencyKey),
    nowEpochSeconds: String(nowEpochSeconds),
    transactItems: acceptOrderTransaction(context.tableName, {
      orderId: receipt.orderId,
      idempotencyKey: receipt.idempotencyKey,
      acceptedAt: receipt.acceptedAt,
      document: JSON.stringify(order),
      nowEpochSeconds,
      lockExpiresAtEpochSeconds: nowEpochSeconds + IDEMPOTENCY_WINDOW_SECONDS,
      client: keyItem,
    }),
    ...(keyItem ? { clientKeyItemKey: keyItem.itemKey, clientKey: keyItem.clientKey } : {}),
    receipt,
    order,
    orderAccepted: orderAcceptedDetail(order),
  };
}
