import { Buffer } from 'node:buffer';

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
