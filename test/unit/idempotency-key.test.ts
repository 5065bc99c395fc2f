import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { idempotencyKeyOf } from '../../src/idempotency-key.js';

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** Rebuilds every object with its keys in reverse order: the same JSON value, written differently. */
const reverseKeys = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .reverse()
        .map(([k, v]) => [k, reverseKeys(v)]),
    );
  }
  return value;
};

describe('idempotencyKeyOf', () => {
  it('is the SHA-256 of the RFC 8785 canonical form', () => {
    expect(idempotencyKeyOf({ b: [1, 2.5, 'é'], a: { d: null, c: true } })).toBe(
      sha256('{"a":{"c":true,"d":null},"b":[1,2.5,"é"]}'),
    );
    // RFC 8785 number serialization: 1e21 is written in exponent form, -0 as 0.
    expect(idempotencyKeyOf({ n: 1e21, z: -0 })).toBe(sha256('{"n":1e+21,"z":0}'));
  });

  it('does not depend on key order', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(idempotencyKeyOf(reverseKeys(value))).toBe(idempotencyKeyOf(value));
      }),
    );
  });

  it('tells payloads apart that differ in one value', () => {
    const order = { customerId: 'CUST-7Q2K9M4X', items: [{ sku: 'SKU-00012345', quantity: 3 }] };
    const other = { ...order, items: [{ sku: 'SKU-00012345', quantity: 4 }] };
    expect(idempotencyKeyOf(other)).not.toBe(idempotencyKeyOf(order));
  });
});
