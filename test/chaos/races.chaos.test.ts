/**
 * Races, over HTTP against the local service with the ASL's own timing:
 * - 50 identical POSTs at the same instant: one order; one 202 and 49 409s naming it (a 503 retried as the contract
 *   says hears 409);
 * - 1,000 distinct POSTs at once: never two records for one body (a client retries a 503 with the same body within
 *   the idempotency window, as the contract tells it to; a copy that was stored meanwhile answers 409 with its own
 *   orderId), and one record for every body answered 202 or 409;
 * The same payload after the window is a new order: the workflow project proves it with a fake clock
 * (test/workflow/order-intake.workflow.test.ts), not with a 17 s sleep here.
 *
 * With an Idempotency-Key (README, "Idempotency-Key"), on the same service:
 * - 50 POSTs with one key and one payload at the same instant: one order; every answer 202 (the original, or it
 *   replayed), 409 (a duplicate naming it, or the request still in progress) or 503, and every orderId named is it;
 * - a retry after the key's retention is a new order. The retention is whole hours (one at least), so the test does
 *   not wait for it: it sets the key item's and the lock's `expiresAt` to the past, which is what the table holds
 *   after the retention until TTL deletes them (lazily), and what the write's condition and the replay's read check.
 */
import { describe, expect, it, jest } from '@jest/globals';
import { IDEMPOTENCY_WINDOW_SECONDS } from '../../src/deployed-settings.js';
import { serviceForFile } from '../e2e/support/local-service.js';
import { idempotencyLockKey } from '../../src/store/orders-table.js';
import { expireItems, storedClientKeys, storedOrders } from './support/service-process.js';

jest.setTimeout(300_000);

const local = serviceForFile({ timing: 'asl' });

const order = (clientReference: string) =>
  JSON.stringify({ customerId: 'CUST-RACES000', items: [{ sku: 'SKU-00012345', quantity: 2 }], clientReference });

interface Answer {
  status: number;
  orderId?: string;
  /** The problem type's slug, for a problem. */
  problem?: string;
  replayed: boolean;
  /** The payload's hash, in a 202. */
  idempotencyKey?: string;
}

async function post(body: string, clientKey?: string): Promise<Answer> {
  const response = await fetch(`${local.service.url}/orders`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(clientKey === undefined ? {} : { 'idempotency-key': clientKey }),
    },
    body,
  });
  const answer = (await response.json()) as { orderId?: string; type?: string; idempotencyKey?: string };
  return {
    status: response.status,
    orderId: answer.orderId,
    problem: answer.type?.split('/').at(-1),
    replayed: response.headers.get('idempotent-replayed') === 'true',
    idempotencyKey: answer.idempotencyKey,
  };
}

/**
 * A client as the contract asks: a 503 is retried with the same body after Retry-After, while the idempotency window
 * still covers it. A 503 does not say that nothing was stored (a write may commit after its timeout); a retry after
 * the window would be a new order by design, so a careful client gives up, with margin, instead.
 */
const RETRY_WITHIN_MS = (IDEMPOTENCY_WINDOW_SECONDS - 5) * 1000;
async function postUntilAnswered(body: string): Promise<{ status: number; orderId?: string; attempts: number }> {
  const firstSent = Date.now();
  for (let attempts = 1; ; attempts += 1) {
    const answer = await post(body);
    if (answer.status !== 503 || Date.now() + 1_000 - firstSent > RETRY_WITHIN_MS) return { ...answer, attempts };
    await new Promise((wake) => setTimeout(wake, 1_000));
  }
}

describe('races', () => {
  it('50 identical POSTs at the same instant: one order, and every answer names it', async () => {
    const body = order('race-identical');
    const answers = await Promise.all(Array.from({ length: 50 }, () => postUntilAnswered(body)));

    const stored = [...(await storedOrders(local)).entries()].filter(
      ([, document]) => document.clientReference === 'race-identical',
    );
    expect(stored).toHaveLength(1);
    const [orderId] = stored[0] ?? [];
    // A copy refused 503 under load is sent again and hears 409. So may the winner: its write committed after its
    // timeout, and then all 50 answers are 409. Otherwise one 202 and 49 409s, the usual outcome.
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 202).length).toBeLessThanOrEqual(1);
    expect(statuses.filter((status) => status !== 202 && status !== 409)).toEqual([]);
    expect(new Set(answers.map((answer) => answer.orderId))).toEqual(new Set([orderId]));
  });

  it('1,000 distinct POSTs at once: never two records for one body, and one for each body answered 202 or 409', async () => {
    const references = Array.from({ length: 1_000 }, (_, index) => `race-distinct-${index}`);
    const started = performance.now();
    const answers = await Promise.all(references.map((reference) => postUntilAnswered(order(reference))));
    const seconds = (performance.now() - started) / 1000;

    const stored = [...(await storedOrders(local)).entries()].filter(([, document]) =>
      String(document.clientReference).startsWith('race-distinct-'),
    );
    process.stdout.write(
      `races: 1,000 distinct in ${seconds.toFixed(1)} s; first answers ${JSON.stringify(
        answers.reduce<Record<string, number>>((counts, { status, attempts }) => {
          const key = attempts > 1 ? `${status} after ${attempts} attempts` : String(status);
          return { ...counts, [key]: (counts[key] ?? 0) + 1 };
        }, {}),
      )}\n`,
    );
    expect(answers.filter((answer) => ![202, 409, 503].includes(answer.status))).toEqual([]);
    // Never two orders for one body within the window.
    const storedReferences = stored.map(([, document]) => document.clientReference);
    expect(storedReferences.filter((reference, index) => storedReferences.indexOf(reference) !== index)).toEqual([]);
    // Each body answered 202 or 409 is stored once, and its answer names that order.
    const orderIdByReference = new Map(stored.map(([orderId, document]) => [document.clientReference, orderId]));
    const answered = answers.flatMap((answer, index) =>
      answer.status === 503 ? [] : [[answer, references[index]] as const],
    );
    for (const [answer, reference] of answered)
      expect([reference, answer.orderId]).toEqual([reference, orderIdByReference.get(reference)]);
    // How many are answered within the window is the machine's speed (all of them on a quiet one), printed above;
    // a run in which none was would have checked nothing.
    expect(answered.length).toBeGreaterThan(0);
  });
});

describe('races and retention with an Idempotency-Key', () => {
  /** A client with a key retries a 503 or a request still in progress with the same key and body, at any time. */
  async function postKeyedUntilDecided(body: string, clientKey: string): Promise<Answer> {
    for (;;) {
      const answer = await post(body, clientKey);
      if (answer.status !== 503 && answer.problem !== 'request-in-progress') return answer;
      await new Promise((wake) => setTimeout(wake, 1_000));
    }
  }

  it('50 POSTs with one key and one payload at the same instant: one order, and every orderId named is it', async () => {
    const clientKey = `race-key-${Date.now()}`;
    const body = order('race-keyed');
    const answers = await Promise.all(Array.from({ length: 50 }, () => post(body, clientKey)));
    // Then the retry a client makes of anything not yet decided: it must hear the one order too.
    const retry = await postKeyedUntilDecided(body, clientKey);

    const kinds = answers.reduce<Record<string, number>>((counts, { status, problem, replayed }) => {
      const kind = `${status}${problem ? ` ${problem}` : ''}${replayed ? ' replayed' : ''}`;
      return { ...counts, [kind]: (counts[kind] ?? 0) + 1 };
    }, {});
    process.stdout.write(`races: 50 keyed copies answered ${JSON.stringify(kinds)}; the retry ${retry.status}\n`);
    const stored = [...(await storedOrders(local)).entries()].filter(
      ([, document]) => document.clientReference === 'race-keyed',
    );
    expect(stored).toHaveLength(1);
    const [orderId] = stored[0] ?? [];
    const unexpected = answers.filter(
      ({ status, problem }) =>
        !(
          status === 202 ||
          status === 503 ||
          (status === 409 && (problem === 'duplicate-order' || problem === 'request-in-progress'))
        ),
    );
    expect(unexpected).toEqual([]);
    // One original acceptance at most (none when the winner's answer was a 503 after its write committed).
    expect(answers.filter(({ status, replayed }) => status === 202 && !replayed).length).toBeLessThanOrEqual(1);
    expect(answers.filter(({ status, replayed }) => status !== 202 && replayed)).toEqual([]);
    const named = answers.flatMap((answer) => (answer.orderId === undefined ? [] : [answer.orderId]));
    expect(new Set([...named, retry.orderId])).toEqual(new Set([orderId]));
    // A replay, unless no copy's write had committed (all 503s): then the retry is the original.
    expect(retry.status).toBe(202);
    const { ordersByClientKey, keyItems } = await storedClientKeys(local);
    expect(ordersByClientKey.get(clientKey)).toEqual([orderId]);
    expect(keyItems.filter((item) => item.clientKey === clientKey).map((item) => item.orderId)).toEqual([orderId]);
  });

  it('a retry after the key’s retention is a new order, and the key then replays the new one', async () => {
    const clientKey = `retention-key-${Date.now()}`;
    const body = order('retention-keyed');
    const first = await postKeyedUntilDecided(body, clientKey);
    expect([first.status, first.replayed]).toEqual([202, false]);
    const within = await post(body, clientKey);
    expect([within.status, within.replayed, within.orderId]).toEqual([202, true, first.orderId]);

    // The retention (and the 15 s lock, long gone by then) have passed: both items are expired, not yet deleted.
    const keyItem = (await storedClientKeys(local)).keyItems.find((item) => item.clientKey === clientKey);
    expect(keyItem?.orderId).toBe(first.orderId);
    await expireItems(local, [keyItem?.pk ?? '', idempotencyLockKey(first.idempotencyKey ?? '')]);

    const after = await postKeyedUntilDecided(body, clientKey);
    expect([after.status, after.replayed]).toEqual([202, false]);
    expect(after.orderId).not.toBe(first.orderId);
    const again = await post(body, clientKey);
    expect([again.status, again.replayed, again.orderId]).toEqual([202, true, after.orderId]);
    const { ordersByClientKey, keyItems } = await storedClientKeys(local);
    expect(new Set(ordersByClientKey.get(clientKey))).toEqual(new Set([first.orderId, after.orderId]));
    expect(keyItems.filter((item) => item.clientKey === clientKey).map((item) => item.orderId)).toEqual([
      after.orderId,
    ]);
  });
});
