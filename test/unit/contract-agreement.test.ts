import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { checkOrderRequest } from '../../src/validation/check-order-request.js';

const schema = JSON.parse(readFileSync(new URL('../../src/contract/order.schema.json', import.meta.url), 'utf8'));
const schemaAccepts = new Ajv2020({ allErrors: true, strict: true }).compile(schema);

const line = (sku = 'SKU-00012345', quantity: unknown = 1) => ({ sku, quantity });
const order = (overrides: Record<string, unknown> = {}) => ({
  customerId: 'CUST-7Q2K9M4X',
  items: [line()],
  ...overrides,
});
const lines = (count: number) =>
  Array.from({ length: count }, (_, i) => line(`SKU-${String(i).padStart(8, '0')}`, (i % 100) + 1));
const without = (key: string): Record<string, unknown> =>
  Object.fromEntries(Object.entries(order({ clientReference: 'ref' })).filter(([name]) => name !== key));

/** [case, body, valid?] — each case is checked by both the JSON Schema and the DTOs. */
const cases: [string, unknown, boolean][] = [
  ['minimal order', order(), true],
  ['with clientReference', order({ clientReference: 'web-checkout-42' }), true],
  ['clientReference of 64 characters', order({ clientReference: 'a'.repeat(64) }), true],
  ['clientReference with _ and -', order({ clientReference: 'A_b-9' }), true],
  ['20 lines', order({ items: lines(20) }), true],
  ['quantity 1', order({ items: [line(undefined, 1)] }), true],
  ['quantity 100', order({ items: [line(undefined, 100)] }), true],
  [
    'quantity written 3.0',
    JSON.parse('{"customerId":"CUST-7Q2K9M4X","items":[{"sku":"SKU-00012345","quantity":3.0}]}'),
    true,
  ],
  ['digits-only ids', order({ customerId: 'CUST-12345678', items: [line('SKU-87654321')] }), true],
  ['letters-only ids', order({ customerId: 'CUST-ABCDEFGH', items: [line('SKU-ZZZZZZZZ')] }), true],
  ['two distinct lines', order({ items: [line('SKU-AAAAAAAA'), line('SKU-BBBBBBBB', 7)] }), true],
  ['empty object', {}, false],
  ['array body', [], false],
  ['string body', 'order', false],
  ['number body', 42, false],
  ['null body', null, false],
  ['missing customerId', without('customerId'), false],
  ['missing items', without('items'), false],
  ['extra top-level field', order({ coupon: 'FREE' }), false],
  ['extra line field', order({ items: [{ ...line(), price: 3 }] }), false],
  [
    'extra field named __proto__',
    JSON.parse('{"customerId":"CUST-7Q2K9M4X","items":[{"sku":"SKU-00012345","quantity":1}],"__proto__":{"x":1}}'),
    false,
  ],
  ['extra field named constructor', order({ constructor: 'x' }), false],
  ['extra field named toString', order({ toString: 'x' }), false],
  ['extra line field named hasOwnProperty', order({ items: [{ ...line(), hasOwnProperty: 1 }] }), false],
  [
    'extra line field named __proto__',
    JSON.parse('{"customerId":"CUST-7Q2K9M4X","items":[{"sku":"SKU-00012345","quantity":1,"__proto__":{}}]}'),
    false,
  ],
  ['customerId a number', order({ customerId: 12345678 }), false],
  ['customerId null', order({ customerId: null }), false],
  ['customerId lower case', order({ customerId: 'cust-7q2k9m4x' }), false],
  ['customerId too short', order({ customerId: 'CUST-7Q2K9M4' }), false],
  ['customerId too long', order({ customerId: 'CUST-7Q2K9M4XX' }), false],
  ['customerId with trailing newline', order({ customerId: 'CUST-7Q2K9M4X\n' }), false],
  ['customerId with wrong prefix', order({ customerId: 'CUS-7Q2K9M4XY' }), false],
  ['items not an array', order({ items: { sku: 'SKU-00012345', quantity: 1 } }), false],
  ['items empty', order({ items: [] }), false],
  ['21 lines', order({ items: lines(21) }), false],
  ['line not an object', order({ items: [5] }), false],
  ['line null', order({ items: [null] }), false],
  ['line missing sku', order({ items: [{ quantity: 1 }] }), false],
  ['line missing quantity', order({ items: [{ sku: 'SKU-00012345' }] }), false],
  ['sku lower case', order({ items: [line('sku-00012345')] }), false],
  ['sku too short', order({ items: [line('SKU-0001234')] }), false],
  ['sku with a symbol', order({ items: [line('SKU-0001234!')] }), false],
  ['sku a number', order({ items: [line(12345678 as unknown as string)] }), false],
  ['quantity 0', order({ items: [line(undefined, 0)] }), false],
  ['quantity 101', order({ items: [line(undefined, 101)] }), false],
  ['quantity 1.5', order({ items: [line(undefined, 1.5)] }), false],
  ['quantity "3"', order({ items: [line(undefined, '3')] }), false],
  ['quantity negative', order({ items: [line(undefined, -1)] }), false],
  ['quantity null', order({ items: [line(undefined, null)] }), false],
  ['quantity true', order({ items: [line(undefined, true)] }), false],
  ['clientReference empty', order({ clientReference: '' }), false],
  ['clientReference of 65 characters', order({ clientReference: 'a'.repeat(65) }), false],
  ['clientReference with a space', order({ clientReference: 'web checkout' }), false],
  ['clientReference a number', order({ clientReference: 42 }), false],
  ['clientReference null', order({ clientReference: null }), false],
];

describe('the JSON Schema and the DTOs agree', () => {
  it.each(cases.map(([name, body, valid]) => ({ name, body, valid })))('$name -> valid: $valid', ({ body, valid }) => {
    expect(schemaAccepts(body)).toBe(valid);
    expect(checkOrderRequest(body).valid).toBe(valid);
  });

  it('duplicate SKUs: a business rule JSON Schema cannot express, so only the DTOs reject them', () => {
    const body = order({ items: [line('SKU-AAAAAAAA', 1), line('SKU-AAAAAAAA', 2)] });
    expect(schemaAccepts(body)).toBe(true);
    expect(checkOrderRequest(body)).toEqual({
      valid: false,
      errors: [{ path: '/items', code: 'duplicate', message: expect.any(String) }],
    });
  });
});
