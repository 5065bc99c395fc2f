import { describe, expect, it } from '@jest/globals';
import { validateOrder, type ValidationOutcome } from '../../src/validation/validate-order.js';
import type { FieldError, ProblemDetails } from '../../src/contract/problem.js';
import { ORDER_ACCEPTED_SCHEMA_VERSION } from '../../src/events/order-accepted.js';
import { idempotencyKeyOf } from '../../src/idempotency-key.js';
import { validOrder } from '../support/order-samples.js';
import { validationContextAt } from '../support/validate.js';

const NOW = new Date('2026-11-25T10:00:00.250Z');
const context = validationContextAt(NOW);
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const validate = (body: string | Uint8Array): ValidationOutcome =>
  validateOrder(typeof body === 'string' ? bytes(body) : body, context);

function rejection(outcome: ValidationOutcome): { statusCode: number; problem: ProblemDetails } {
  if (outcome.outcome !== 'REJECTED') throw new Error(`expected a rejection, got ${JSON.stringify(outcome)}`);
  return { statusCode: outcome.statusCode, problem: JSON.parse(outcome.problemBody) as ProblemDetails };
}
const fieldErrors = (body: unknown) =>
  (rejection(validate(JSON.stringify(body))).problem.errors as FieldError[] | undefined)?.map(({ path, code }) => ({
    path,
    code,
  }));

describe('validateOrder', () => {
  it('accepts a valid order with its key, orderId, acceptance time, and the lock and order items to write', () => {
    const outcome = validate(JSON.stringify(validOrder));

    const receipt = {
      orderId: '01KMZ7Q5Y3V8R2T6W9X4C1B0NA',
      status: 'ACCEPTED',
      acceptedAt: '2026-11-25T10:00:00.250Z',
      idempotencyKey: idempotencyKeyOf(validOrder),
    };
    expect(outcome).toEqual({
      outcome: 'VALID',
      orderId: receipt.orderId,
      idempotencyKey: receipt.idempotencyKey,
      orderKey: `ORDER#${receipt.orderId}`,
      lockKey: `IDEMPOTENCY#${receipt.idempotencyKey}`,
      nowEpochSeconds: '1795600800',
      transactItems: [
        {
          Put: {
            TableName: 'orders',
            Item: {
              pk: { S: `IDEMPOTENCY#${receipt.idempotencyKey}` },
              orderId: { S: receipt.orderId },
              expiresAt: { N: '1795600815' },
            },
            ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
            ExpressionAttributeValues: { ':now': { N: '1795600800' } },
          },
        },
        {
          Put: {
            TableName: 'orders',
            Item: {
              pk: { S: `ORDER#${receipt.orderId}` },
              orderId: { S: receipt.orderId },
              idempotencyKey: { S: receipt.idempotencyKey },
              acceptedAt: { S: receipt.acceptedAt },
              document: { S: JSON.stringify({ ...receipt, ...validOrder }) },
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
      ],
      receipt,
      order: { ...receipt, ...validOrder },
      orderAccepted: { schemaVersion: ORDER_ACCEPTED_SCHEMA_VERSION, ...receipt, ...validOrder },
    });
  });

  it('gives the same key for the same payload written differently', () => {
    const compact = validate(JSON.stringify(validOrder));
    const reordered = validate(
      '{ "clientReference":"web-checkout-42",\n "items":[{"quantity":3,"sku":"SKU-00012345"}], "customerId":"CUST-7Q2K9M4X" }',
    );
    expect(reordered.outcome === 'VALID' && reordered.idempotencyKey).toBe(
      compact.outcome === 'VALID' && compact.idempotencyKey,
    );
  });

  describe('body size, counted in UTF-8 bytes before parsing', () => {
    const padTo = (byteLength: number, filler: string): string => {
      const base = JSON.stringify({ ...validOrder, clientReference: '' });
      const fillerBytes = bytes(filler).byteLength;
      const count = Math.floor((byteLength - bytes(base).byteLength) / fillerBytes);
      return base.replace('"clientReference":""', `"clientReference":"${filler.repeat(count)}"`);
    };

    it('answers 413 for 1025 bytes even when the body is not JSON', () => {
      const outcome = rejection(validate('{'.repeat(1025)));
      expect(outcome.statusCode).toBe(413);
      expect(outcome.problem).toMatchObject({ status: 413, title: 'Request body too large' });
    });

    it('counts bytes, not characters: 400 characters of é are 800 bytes, 600 are 1200', () => {
      const small = padTo(1000, 'é');
      expect(small.length).toBeLessThan(700);
      expect(rejection(validate(small)).statusCode).toBe(400); // é is not allowed in clientReference
      expect(rejection(validate(padTo(1200, 'é'))).statusCode).toBe(413);
    });

    it('takes exactly 1024 bytes', () => {
      const body = `${JSON.stringify(validOrder)}${' '.repeat(1024 - bytes(JSON.stringify(validOrder)).byteLength)}`;
      expect(bytes(body).byteLength).toBe(1024);
      expect(validate(body).outcome).toBe('VALID');
      expect(rejection(validate(`${body} `)).statusCode).toBe(413);
    });
  });

  it.each([
    ['truncated JSON', '{"customerId": '],
    ['empty body', ''],
    ['not JSON at all', 'customerId=CUST-7Q2K9M4X'],
    ['a byte sequence that is not UTF-8', new Uint8Array([0x7b, 0xff, 0x7d])],
  ])('answers 400 invalid-json for %s', (_label, body) => {
    const outcome = rejection(validate(body));
    expect(outcome.statusCode).toBe(400);
    expect(outcome.problem).toMatchObject({ type: expect.stringMatching(/invalid-json$/), status: 400 });
    expect(outcome.problem.errors).toEqual([{ path: '', code: 'invalid_json', message: expect.any(String) }]);
  });

  it('names every failing field at once', () => {
    expect(
      fieldErrors({
        customerId: 'cust-1',
        items: [
          { sku: 'SKU-00012345', quantity: 0 },
          { sku: 'SKU-00012346', quantity: 101 },
          { sku: 'SKU-00012347', quantity: 1.5 },
          { sku: 'SKU-00012348', quantity: '3' },
          { sku: 'bad', quantity: 1 },
        ],
        clientReference: 'has space',
        extra: true,
      }),
    ).toEqual([
      { path: '/extra', code: 'unknown_property' },
      { path: '/customerId', code: 'pattern' },
      { path: '/items/0/quantity', code: 'minimum' },
      { path: '/items/1/quantity', code: 'maximum' },
      { path: '/items/2/quantity', code: 'integer' },
      { path: '/items/3/quantity', code: 'integer' },
      { path: '/items/4/sku', code: 'pattern' },
      { path: '/clientReference', code: 'pattern' },
    ]);
  });

  it('names members that shadow Object.prototype as unknown, at the top and in lines', () => {
    const body =
      '{"customerId":"CUST-7Q2K9M4X","constructor":1,"items":[{"sku":"SKU-00012345","quantity":1,"__proto__":{}}]}';
    expect(
      (rejection(validate(body)).problem.errors as FieldError[] | undefined)?.map(({ path, code }) => ({ path, code })),
    ).toEqual([
      { path: '/constructor', code: 'unknown_property' },
      { path: '/items/0/__proto__', code: 'unknown_property' },
    ]);
  });

  it('names missing fields and wrong types', () => {
    expect(fieldErrors({ items: 'none' })).toEqual([
      { path: '/customerId', code: 'required' },
      { path: '/items', code: 'type' },
    ]);
  });

  it('rejects duplicate SKUs and 21 lines', () => {
    const line = { sku: 'SKU-00012345', quantity: 1 };
    expect(fieldErrors({ ...validOrder, items: [line, { ...line, quantity: 2 }] })).toEqual([
      { path: '/items', code: 'duplicate' },
    ]);
    const many = Array.from({ length: 21 }, (_, i) => ({ sku: `SKU-${String(i).padStart(8, '0')}`, quantity: 1 }));
    expect(fieldErrors({ ...validOrder, items: many })).toEqual([{ path: '/items', code: 'max_items' }]);
  });

  it('answers with an RFC 9457 problem for contract failures', () => {
    const { problem, statusCode } = rejection(validate('{}'));
    expect(statusCode).toBe(400);
    expect(problem).toEqual({
      type: 'https://order-intake.example.com/problems/invalid-order',
      title: 'Order failed validation',
      status: 400,
      detail: expect.any(String),
      errors: [
        { path: '/customerId', code: 'required', message: expect.any(String) },
        { path: '/items', code: 'required', message: expect.any(String) },
      ],
    });
  });
});
