/** The v1 order contract as plain types. The JSON Schema beside this file is its published form. */

export const MAX_BODY_BYTES = 1024;
export const MAX_LINES = 20;
export const MIN_QUANTITY = 1;
export const MAX_QUANTITY = 100;
export const CUSTOMER_ID_PATTERN = /^CUST-[A-Z0-9]{8}$/;
export const SKU_PATTERN = /^SKU-[A-Z0-9]{8}$/;
export const CLIENT_REFERENCE_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export interface OrderLine {
  sku: string;
  quantity: number;
}

export interface OrderRequest {
  customerId: string;
  items: OrderLine[];
  clientReference?: string;
}

export const ORDER_STATUS_ACCEPTED = 'ACCEPTED';

/** What the client hears on 202. */
export interface OrderReceipt {
  orderId: string;
  status: typeof ORDER_STATUS_ACCEPTED;
  acceptedAt: string;
  idempotencyKey: string;
}

/** The stored order: what GET /orders/{orderId} returns and what OrderAccepted carries as detail. */
export type OrderDocument = OrderReceipt & OrderRequest;
