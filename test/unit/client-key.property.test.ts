/**
 * Property: a keyed request and an unkeyed one never share a key item, while both still share the payload's lock.
 * Generated orders, keys (either form, any printable ASCII) and callers, through Validate as the workflow runs it.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { CLIENT_KEY_MAX_LENGTH } from '../../src/client-key.js';
import { ORDERS_TABLE } from '../../src/store/orders-table.js';
import type { ValidationOutcome } from '../../src/validation/validate-order.js';
import { validateHandlerOn } from '../support/validate.js';

const handler = validateHandlerOn('orders');

const order = fc.record(
  {
    customerId: fc.stringMatching(/^CUST-[A-Z0-9]{8}$/),
    items: fc.uniqueArray(
      fc.record({ sku: fc.stringMatching(/^SKU-[A-Z0-9]{8}$/), quantity: fc.integer({ min: 1, max: 100 }) }),
      { minLength: 1, maxLength: 3, selector: (line) => line.sku },
    ),
    clientReference: fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/),
  },
  { requiredKeys: ['customerId', 'items'] },
);
/** Any key the contract allows: 1 to 255 printable ASCII characters. */
const clientKey = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
  minLength: 1,
  maxLength: CLIENT_KEY_MAX_LENGTH,
});
/** Its field value: always as an sf-string, or bare where the key allows it. */
const asStructuredField = (key: string): string => `"${key.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
const caller = fc.record({
  accountId: fc.constantFrom('', '123456789012', '210987654321'),
  userArn: fc.constantFrom(
    '',
    'arn:aws:sts::123456789012:assumed-role/Checkout/s1',
    'arn:aws:sts::123456789012:assumed-role/Checkout/s2',
    'arn:aws:iam::123456789012:user/alice',
  ),
});

const valid = (outcome: ValidationOutcome) => {
  if (outcome.outcome !== 'VALID') throw new Error(`expected VALID: ${JSON.stringify(outcome)}`);
  return outcome;
};
const base64 = (text: string) => Buffer.from(text, 'latin1').toString('base64');
const run = async (body: object, header?: string, who?: { accountId: string; userArn: string }) =>
  valid(
    await handler({
      requestId: 'r',
      body: Buffer.from(JSON.stringify(body)).toString('base64'),
      ...(header === undefined ? {} : { clientKey: base64(header) }),
      ...(who === undefined ? {} : { caller: who }),
    }),
  );
const keysOf = (outcome: ReturnType<typeof valid>) => outcome.transactItems.map((item) => item.Put.Item.pk.S);
const clientKeyItems = (outcome: ReturnType<typeof valid>) =>
  keysOf(outcome).filter((pk) => pk.startsWith(ORDERS_TABLE.clientKeyPrefix));

describe('keyed and unkeyed requests', () => {
  it('never share a key item, and share the payload lock', async () => {
    await fc.assert(
      fc.asyncProperty(order, clientKey, caller, async (body, key, who) => {
        const keyed = await run(body, asStructuredField(key), who);
        const unkeyed = await run(body, undefined, who);

        expect(clientKeyItems(unkeyed)).toEqual([]);
        expect(clientKeyItems(keyed)).toEqual([keyed.clientKeyItemKey]);
        expect(keysOf(unkeyed)).not.toContain(keyed.clientKeyItemKey);
        // The payload rule applies to both: one lock, of the payload's hash.
        expect(keyed.lockKey).toBe(unkeyed.lockKey);
        expect(keysOf(keyed)[0]).toEqual(keysOf(unkeyed)[0]);
        // A key item is never a lock or an order.
        expect(new Set(keysOf(keyed)).size).toBe(3);
      }),
      { numRuns: 200 },
    );
  });

  it('find one key item per caller and key, whichever form carries it; another key or role is another item', async () => {
    const bare = fc.stringMatching(/^[A-Za-z0-9:/._~-]{1,64}$/);
    await fc.assert(
      fc.asyncProperty(order, bare, bare, async (body, key, otherKey) => {
        fc.pre(key !== otherKey);
        const role = { accountId: '123456789012', userArn: 'arn:aws:sts::123456789012:assumed-role/Checkout/s1' };
        const quoted = await run(body, asStructuredField(key), role);
        const plain = await run(body, key, { ...role, userArn: role.userArn.replace(/s1$/, 's2') });
        const other = await run(body, otherKey, role);
        const otherRole = await run(body, key, {
          ...role,
          userArn: 'arn:aws:sts::123456789012:assumed-role/Mobile/s1',
        });

        expect(plain.clientKeyItemKey).toBe(quoted.clientKeyItemKey);
        expect(other.clientKeyItemKey).not.toBe(quoted.clientKeyItemKey);
        expect(otherRole.clientKeyItemKey).not.toBe(quoted.clientKeyItemKey);
      }),
      { numRuns: 100 },
    );
  });
});
