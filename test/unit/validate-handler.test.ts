import { describe, expect, it, jest } from '@jest/globals';
import { validateHandlerOn } from '../support/validate.js';

const handler = validateHandlerOn();
import { validOrder, workflowInput } from '../support/order-samples.js';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const crockford = (text: string): bigint =>
  [...text].reduce((value, char) => value * 32n + BigInt(CROCKFORD.indexOf(char)), 0n);

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

  it('issues orderIds that sort by acceptance millisecond, none guessable from another of the same millisecond', async () => {
    const issue = async (count: number): Promise<string[]> => {
      const outcomes = await Promise.all(
        Array.from({ length: count }, (_, i) =>
          handler(workflowInput(JSON.stringify({ ...validOrder, clientReference: `ref-${i}` }))),
        ),
      );
      return outcomes.map((outcome) => (outcome.outcome === 'VALID' ? outcome.orderId : ''));
    };
    jest.useFakeTimers({ now: Date.parse('2026-12-07T01:00:00.000Z') });
    try {
      const sameMillisecond = await issue(50);
      jest.setSystemTime(Date.parse('2026-12-07T01:00:00.001Z'));
      const next = await issue(1);

      expect(new Set(sameMillisecond).size).toBe(50);
      expect(new Set(sameMillisecond.map((id) => id.slice(0, 10))).size).toBe(1);
      expect(sameMillisecond.every((id) => (next[0] ?? '') > id)).toBe(true);
      // A monotonic factory would issue the previous id plus one: no two ids here may be neighbours.
      const randomParts = sameMillisecond.map((id) => crockford(id.slice(10))).sort((a, b) => (a < b ? -1 : 1));
      const gaps = randomParts.slice(1).map((part, i) => part - (randomParts[i] as bigint));
      expect(gaps.filter((gap) => gap <= 1n)).toEqual([]);
    } finally {
      jest.useRealTimers();
    }
  });
});
