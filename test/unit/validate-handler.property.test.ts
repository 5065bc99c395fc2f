/**
 * Hostile input, property-based, at the Validate Lambda: whatever bytes arrive, the handler answers (never throws),
 * and answers either VALID or an RFC 9457 problem whose status is the rejection's statusCode. Whether it answers
 * VALID is decided independently here, from the JSON Schema (ajv, draft 2020-12) plus unique SKUs, the one rule the
 * schema cannot express: the handler must agree with that oracle on every generated body.
 */
import { Buffer } from 'node:buffer';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { validateHandlerOn } from '../support/validate.js';

const handler = validateHandlerOn();
import type { ValidationOutcome } from '../../src/validation/validate-order.js';
import {
  code8,
  referenceChar,
  contractOutcome,
  hostileJsonText,
  prototypeKey,
  strictUtf8,
  validOrderArbitrary,
} from '../support/order-contract.js';
import { validOrder } from '../support/order-samples.js';

const expectedOutcome = contractOutcome;

const eventOf = (bytes: Uint8Array) => ({ requestId: 'req-property', body: Buffer.from(bytes).toString('base64') });
const bytesOf = (text: string): Uint8Array => Buffer.from(text, 'utf8');

/** Shows the input of a failing run readably: text if it is UTF-8, base64 otherwise. */
const describeBytes = (bytes: Uint8Array): string => {
  try {
    return `text ${JSON.stringify(strictUtf8.decode(bytes))}`;
  } catch {
    return `base64 ${Buffer.from(bytes).toString('base64')}`;
  }
};

/** A rejection must be problem+json: type and title strings, status equal to the statusCode; 400 names its errors. */
function problemViolations(outcome: Extract<ValidationOutcome, { outcome: 'REJECTED' }>): string[] {
  let problem: unknown;
  try {
    problem = JSON.parse(outcome.problemBody);
  } catch {
    return [`problemBody is not JSON: ${outcome.problemBody}`];
  }
  if (typeof problem !== 'object' || problem === null || Array.isArray(problem)) return ['problemBody not an object'];
  const { type, title, status, errors } = problem as Record<string, unknown>;
  const violations: string[] = [];
  if (typeof type !== 'string' || type === '') violations.push('type missing');
  if (typeof title !== 'string' || title === '') violations.push('title missing');
  if (status !== outcome.statusCode) violations.push(`status ${String(status)} != statusCode ${outcome.statusCode}`);
  if (outcome.statusCode === 400) {
    const fieldErrors = Array.isArray(errors) ? (errors as unknown[]) : [];
    if (fieldErrors.length === 0) violations.push('400 without errors[]');
    for (const error of fieldErrors) {
      const { path, code, message } = (error ?? {}) as Record<string, unknown>;
      if (typeof path !== 'string' || typeof code !== 'string' || typeof message !== 'string') {
        violations.push(`malformed field error ${JSON.stringify(error)}`);
      }
    }
  }
  return violations;
}

/** Runs the handler on the bytes and checks its answer against the oracle; a thrown error fails the property. */
async function checkBody(bytes: Uint8Array): Promise<void> {
  const expected = expectedOutcome(bytes);
  const outcome = await handler(eventOf(bytes));
  const label = describeBytes(bytes);
  if (outcome.outcome === 'VALID') {
    expect({ input: label, outcome: 'VALID' }).toEqual({ input: label, outcome: expected });
    expect(outcome.order).toMatchObject(JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>);
    return;
  }
  expect({ input: label, outcome: outcome.statusCode }).toEqual({ input: label, outcome: expected });
  expect({ input: label, violations: problemViolations(outcome) }).toEqual({ input: label, violations: [] });
}

// ---- generators ----------------------------------------------------------------------------------------------------

const validOrderArb = validOrderArbitrary;

/** `[[[...1...]]]` or `{"a":{"a":...}}`, up to far deeper than any parser's comfort (and the 1 KB limit). */
const deepNesting = fc
  .tuple(fc.integer({ min: 1, max: 2000 }), fc.boolean(), fc.constantFrom('1', 'null', '"x"', '{}'))
  .map(([depth, arrays, leaf]) =>
    arrays ? `${'['.repeat(depth)}${leaf}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}${leaf}${'}'.repeat(depth)}`,
  );

/** Sets an own member by defineProperty, so that `__proto__` becomes a member, not the prototype. */
const withMember = (object: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> => {
  const copy = { ...object };
  Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
  return copy;
};

const without = (object: Record<string, unknown>, key: string): Record<string, unknown> =>
  Object.fromEntries(Object.entries(object).filter(([name]) => name !== key));

type Order = Record<string, unknown> & { items: Record<string, unknown>[] };

/** A further change needs an object with lines to change; after "replace the body" there may be none. */
const isOrderLike = (value: unknown): value is Order =>
  typeof value === 'object' &&
  value !== null &&
  !Array.isArray(value) &&
  Array.isArray((value as { items?: unknown }).items) &&
  (value as { items: unknown[] }).items.length > 0;

/** Strings that break (or only just keep) one of the contract's patterns. */
const patternBreakers = (prefix: 'CUST-' | 'SKU-'): fc.Arbitrary<string> =>
  fc.oneof(
    code8.map((code) => `${prefix}${code.toLowerCase()}`),
    code8.map((code) => `${prefix}${code}X`),
    code8.map((code) => `${prefix}${code.slice(1)}`),
    code8.map((code) => `${prefix}${code}\n`),
    code8.map((code) => ` ${prefix}${code}`),
    code8.map((code) => `${prefix.toLowerCase()}${code}`),
    code8.map((code) => `${prefix}${code.slice(0, 7)}\u0130`),
    code8.map((code) => `${prefix}${code.slice(0, 7)}\uff21`),
    code8.map((code) => `${prefix}${code}`),
    fc.string({ maxLength: 16 }),
  );

/** One change to a valid order; some keep it valid (the oracle decides), most do not. */
const mutation: fc.Arbitrary<(order: Order) => unknown> = fc.oneof(
  fc.constantFrom('customerId', 'items', 'clientReference').map((key) => (order: Order) => without(order, key)),
  fc.tuple(fc.oneof(prototypeKey, fc.string({ maxLength: 10 })), fc.jsonValue({ maxDepth: 2 })).map(
    ([key, value]) =>
      (order: Order) =>
        withMember(order, key, value),
  ),
  fc
    .tuple(fc.constantFrom('customerId', 'items', 'clientReference'), fc.jsonValue({ maxDepth: 2 }))
    .map(([key, value]) => (order: Order) => ({ ...order, [key]: value })),
  fc
    .tuple(fc.nat(), fc.oneof(fc.jsonValue({ maxDepth: 1 }), fc.double(), fc.integer({ min: -1000, max: 1000 })))
    .map(([at, quantity]) => (order: Order) => {
      const items = [...order.items];
      const index = at % items.length;
      items[index] = { ...items[index], quantity };
      return { ...order, items };
    }),
  fc.tuple(fc.nat(), patternBreakers('SKU-')).map(([at, sku]) => (order: Order) => {
    const items = [...order.items];
    const index = at % items.length;
    items[index] = { ...items[index], sku };
    return { ...order, items };
  }),
  patternBreakers('CUST-').map((customerId) => (order: Order) => ({ ...order, customerId })),
  fc
    .oneof(
      fc.string({ unit: referenceChar, minLength: 60, maxLength: 70 }),
      fc.string({ maxLength: 8 }),
      fc.constant(''),
    )
    .map((clientReference) => (order: Order) => ({ ...order, clientReference })),
  // a duplicate SKU: the business rule beyond the schema
  fc.nat().map((at) => (order: Order) => {
    const line = order.items[at % order.items.length];
    return { ...order, items: [...order.items, { ...line, quantity: 1 }] };
  }),
  // line count: none, or past twenty
  fc.constant((order: Order) => ({ ...order, items: [] })),
  fc.integer({ min: 21, max: 25 }).map((count) => (order: Order) => ({
    ...order,
    items: Array.from({ length: count }, (_, i) => ({ sku: `SKU-${String(i).padStart(8, '0')}`, quantity: 1 })),
  })),
  // a line member dropped, added (prototype names too), or the line replaced by a non-object
  fc.tuple(fc.nat(), fc.constantFrom('sku', 'quantity')).map(([at, key]) => (order: Order) => {
    const items = [...order.items];
    const index = at % items.length;
    items[index] = without(items[index] ?? {}, key);
    return { ...order, items };
  }),
  fc
    .tuple(fc.nat(), fc.oneof(prototypeKey, fc.string({ maxLength: 6 })), fc.jsonValue({ maxDepth: 1 }))
    .map(([at, key, value]) => (order: Order) => {
      const items = [...order.items];
      const index = at % items.length;
      items[index] = withMember(items[index] ?? {}, key, value);
      return { ...order, items };
    }),
  fc.tuple(fc.nat(), fc.jsonValue({ maxDepth: 1 })).map(([at, value]) => (order: Order) => {
    const items: unknown[] = [...order.items];
    items[at % items.length] = value;
    return { ...order, items };
  }),
  // the whole body replaced by another JSON value
  fc.jsonValue({ maxDepth: 2 }).map((value) => () => value),
);

/** How the mutated value is written: compact, pretty (which may pass 1 KB), or padded with JSON whitespace. */
const writing = fc.constantFrom(
  (value: unknown) => JSON.stringify(value),
  (value: unknown) => JSON.stringify(value, null, 2),
  (value: unknown) => `\n\t ${JSON.stringify(value)} \r\n`,
);

// ---- properties ----------------------------------------------------------------------------------------------------

describe('validate handler, hostile input (property-based)', () => {
  it('arbitrary bytes: never throws; VALID only as the contract says, else a 400 or 413 problem', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 1100 }),
          fc.uint8Array({ minLength: 1000, maxLength: 2048 }),
          // near-JSON: a valid order with some of its bytes overwritten (invalid UTF-8, stray syntax)
          fc
            .tuple(validOrderArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }))
            .map(([order, edits]) => {
              const bytes = bytesOf(JSON.stringify(order));
              for (const [at, byte] of edits) bytes[at % bytes.length] = byte;
              return bytes;
            }),
        ),
        (bytes) => checkBody(bytes),
      ),
      { numRuns: 600 },
    );
  });

  it('arbitrary JSON values (nesting, huge numbers, prototype keys): a 400 or 413 problem unless a valid order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(hostileJsonText, deepNesting), (text) => checkBody(bytesOf(text))),
      { numRuns: 600 },
    );
  });

  it('mutated valid orders: VALID exactly when the JSON Schema and unique SKUs accept the result', async () => {
    let validSeen = 0;
    let rejectedSeen = 0;
    await fc.assert(
      fc.asyncProperty(
        validOrderArb,
        fc.array(mutation, { minLength: 0, maxLength: 3 }),
        writing,
        (order, changes, write) => {
          const mutated = changes.reduce<unknown>(
            (value, change) => (isOrderLike(value) ? change(value) : value),
            order,
          );
          const bytes = bytesOf(write(mutated) ?? 'null');
          if (expectedOutcome(bytes) === 'VALID') validSeen += 1;
          else rejectedSeen += 1;
          return checkBody(bytes);
        },
      ),
      { numRuns: 800 },
    );
    // Both sides of the agreement were exercised, not just rejections.
    expect(validSeen).toBeGreaterThan(50);
    expect(rejectedSeen).toBeGreaterThan(300);
  });

  // Shapes the properties above found (fast-check shrank them to these), kept as named examples.
  it.each([
    ['an empty array as the only line', '{"customerId":"CUST-7Q2K9M4X","items":[[]]}'],
    [
      'an empty array beside a valid line',
      '{"customerId":"CUST-7Q2K9M4X","items":[{"sku":"SKU-00012345","quantity":1},[]]}',
    ],
    ['a member named constructor under an unknown member', '{"":{"constructor":" "}}'],
    [
      'a member named constructor in clientReference',
      '{"customerId":"CUST-7Q2K9M4X","items":[{"sku":"SKU-00012345","quantity":1}],"clientReference":{"constructor":"x"}}',
    ],
    [
      'a member named constructor in a sku',
      '{"customerId":"CUST-7Q2K9M4X","items":[{"sku":{"constructor":1},"quantity":1}]}',
    ],
  ])('agrees with the contract on %s', (_label, text) => checkBody(bytesOf(text)));

  it('keeps agreeing at the size limit: 1024 bytes of a valid order is VALID, 1025 is 413', async () => {
    const compact = JSON.stringify(validOrder);
    const padded = (size: number) => bytesOf(`${compact}${' '.repeat(size - Buffer.byteLength(compact))}`);
    await checkBody(padded(1024));
    await checkBody(padded(1025));
    expect(expectedOutcome(padded(1024))).toBe('VALID');
    expect(expectedOutcome(padded(1025))).toBe(413);
  });
});
