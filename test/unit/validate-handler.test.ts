import { describe, expect, it } from '@jest/globals';
import { handler } from '../../lambdas/validate/handler.js';
import { validOrder, workflowInput } from '../support/order-samples.js';

describe('validate handler', () => {
  it('decodes the base64 body the request template sends and validates it', async () => {
    const outcome = await handler(workflowInput(JSON.stringify(validOrder)));
    expect(outcome).toMatchObject({ outcome: 'VALID', order: validOrder });
  });

  it('keeps the raw bytes: a body of U+2028, quotes and backslashes arrives unaltered', async () => {
    const tricky = JSON.stringify({ ...validOrder, clientReference: 'a\u2028"\\' });
    const outcome = await handler(workflowInput(tricky));
    expect(outcome.outcome).toBe('REJECTED');
    const problem = outcome.outcome === 'REJECTED' ? JSON.parse(outcome.problemBody) : undefined;
    expect(problem).toMatchObject({ errors: [{ path: '/clientReference', code: 'pattern' }] });
  });

  it('issues orderIds that sort in acceptance order, also within one millisecond', async () => {
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        handler(workflowInput(JSON.stringify({ ...validOrder, clientReference: `ref-${i}` }))),
      ),
    );
    const orderIds = outcomes.map((outcome) => (outcome.outcome === 'VALID' ? outcome.orderId : ''));
    expect(new Set(orderIds).size).toBe(50);
    expect([...orderIds].sort()).toEqual(orderIds);
  });
});
