/**
 * The v1 order contract decided without the product's code, for tests that judge the product against it: the
 * JSON Schema file (ajv, draft 2020-12), unique SKUs (the one rule the schema cannot express), the 1 KB limit and
 * strict UTF-8. And fast-check generators of orders inside the contract.
 */
import { Buffer } from 'node:buffer';
import { Ajv2020 } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import orderSchema from '../../src/contract/order.schema.json' with { type: 'json' };

export const MAX_BODY_BYTES = 1024;
const schemaAccepts = new Ajv2020({ allErrors: true, strict: true }).compile(orderSchema);
// ignoreBOM: a byte-order mark is kept (and then refused by JSON.parse), as RFC 8259 says JSON text has none.
export const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export type ContractOutcome = 'VALID' | 400 | 413;

/** What the contract says of a raw body: accepted, 400 (not JSON, schema, rule) or 413 (over 1 KB). */
export function contractOutcome(bytes: Uint8Array): ContractOutcome {
  if (bytes.byteLength > MAX_BODY_BYTES) return 413;
  let value: unknown;
  try {
    value = JSON.parse(strictUtf8.decode(bytes));
  } catch {
    return 400;
  }
  if (!schemaAccepts(value)) return 400;
  const skus = (value as { items: { sku: string }[] }).items.map((line) => line.sku);
  return new Set(skus).size === skus.length ? 'VALID' : 400;
}

export const bodyInContract = (body: Uint8Array | undefined): boolean =>
  contractOutcome(body ?? Buffer.alloc(0)) === 'VALID';

export type OrderLine = { sku: string; quantity: number };
export type Order = { customerId: string; items: OrderLine[]; clientReference?: string };

const upperAlnum = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789');
export const code8 = fc.string({ unit: upperAlnum, minLength: 8, maxLength: 8 });
export const referenceChar = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-');

/** Orders inside the contract, from one line to twenty, with and without clientReference. */
export const validOrderArbitrary: fc.Arbitrary<Order> = fc.record(
  {
    customerId: code8.map((code) => `CUST-${code}`),
    items: fc.uniqueArray(
      fc.record({ sku: code8.map((code) => `SKU-${code}`), quantity: fc.integer({ min: 1, max: 100 }) }),
      { minLength: 1, maxLength: 20, selector: (line) => line.sku },
    ),
    clientReference: fc.string({ unit: referenceChar, minLength: 1, maxLength: 64 }),
  },
  { requiredKeys: ['customerId', 'items'] },
);

/** Member names JSON.parse makes own members of, where JavaScript code expects Object.prototype's. */
export const PROTOTYPE_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
] as const;

export const prototypeKey = fc.constantFrom(...PROTOTYPE_KEYS);

/** Numbers JSON can write but the contract does not want: huge, tiny, negative, fractional, beyond a double. */
export const hostileNumberText = fc.oneof(
  fc.double().map((n) => JSON.stringify(n)),
  fc.integer().map(String),
  fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }).map(String),
  fc.constantFrom('1e400', '-1e400', '1e-400', '0', '-0', '0.5', '100.5', '101', '1.5e2', '99.99', '-1', '1e2', '3.0'),
);

/**
 * The JSON text of an arbitrary value, often with nesting, huge numbers or prototype keys in it (written as text, so
 * never a prototype).
 */
export const hostileJsonText: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)),
    hostileNumberText,
    fc.array(tie('value'), { maxLength: 4 }).map((values) => `[${values.join(',')}]`),
    fc
      .array(fc.tuple(fc.oneof(prototypeKey, fc.string({ maxLength: 8 })), tie('value')), { maxLength: 4 })
      .map((entries) => `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(',')}}`),
  ),
})).value;
