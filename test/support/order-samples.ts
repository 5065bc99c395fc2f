import { Buffer } from 'node:buffer';
import type { OrderDocument } from '../../src/contract/order.js';

export const validOrder = {
  customerId: 'CUST-7Q2K9M4X',
  items: [{ sku: 'SKU-00012345', quantity: 3 }],
  clientReference: 'web-checkout-42',
};

/** The workflow's input for a raw body, as the API Gateway request template builds it. */
export const workflowInput = (rawBody: string, requestId = 'req-1'): { requestId: string; body: string } => ({
  requestId,
  body: Buffer.from(rawBody, 'utf8').toString('base64'),
});

/** A stored order as the relay and the bus see it, with a made-up id: for tests of what carries orders. */
export const storedOrder = (orderId: string, customerId = 'CUST-7Q2K9M4X'): OrderDocument => ({
  orderId,
  status: 'ACCEPTED',
  acceptedAt: '2026-11-25T10:00:00.000Z',
  idempotencyKey: 'd'.repeat(64),
  customerId,
  items: [{ sku: 'SKU-00012345', quantity: 1 }],
});

/** The states an accepted order passes, in order. */
export const ACCEPTED_STATE_PATH = [
  'Validate',
  'IsValid',
  'StartPersistAttempts',
  'Persist',
  'IsFastPathOn',
  'Publish',
  'RespondAccepted',
];
