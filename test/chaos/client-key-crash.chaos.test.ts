/**
 * A client that sends an Idempotency-Key gets its one order back whatever crashed in between. Against the service as
 * `npm start` runs it, with data on disk: a burst of keyed orders (a key and a body of its own each) on 30
 * connections, kill -9 at request 300, start again, then every key sent is sent again with its body, as a client
 * that lost its answer retries (a 503 or a request still in progress is retried too), and:
 * - every retry is answered 202, and names the order its first attempt was answered with, if it heard one;
 * - the table holds at most one order per key (the order item carries its key), and exactly the one each retry
 *   names; one key item per order with a key, naming it.
 * CHAOS_RUNS runs (3 by default), the crash taking turns: the whole service, Node alone, DynamoDB Local alone.
 */
import { describe, expect, it } from '@jest/globals';
import {
  CHAOS_RUNS,
  CRASHES,
  crashThenRestart,
  setChaosRunTimeout,
  storedClientKeys,
  type Crash,
} from './support/service-process.js';

/** At most `total` keyed orders from `connections` clients; the kill comes at the `killAt`-th. */
const BURST = { total: 600, connections: 30, killAt: 300 } as const;
setChaosRunTimeout();

interface Heard {
  status: number | 'unanswered';
  orderId?: string;
  problem?: string;
  replayed: boolean;
}

async function post(url: string, clientKey: string): Promise<Heard> {
  try {
    const response = await fetch(`${url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': clientKey },
      body: JSON.stringify({
        customerId: 'CUST-KEYCRASH',
        items: [{ sku: 'SKU-00012345', quantity: 1 + (clientKey.length % 100) }],
        // The body is the key's own: another key never shares it (no duplicate by the payload rule).
        clientReference: clientKey,
      }),
    });
    const answer = (await response.json()) as { orderId?: string; type?: string };
    return {
      status: response.status,
      orderId: answer.orderId,
      problem: answer.type?.split('/').at(-1),
      replayed: response.headers.get('idempotent-replayed') === 'true',
    };
  } catch {
    return { status: 'unanswered', replayed: false };
  }
}

/** The burst: BURST.connections clients, each sending its next key as soon as it has an answer, until the crash. */
async function burst(url: string, run: number, crash: () => Promise<void>): Promise<Map<string, Heard>> {
  const heard = new Map<string, Heard>();
  let sent = 0;
  let crashed = false;
  const client = async (): Promise<void> => {
    while (!crashed && sent < BURST.total) {
      const n = (sent += 1);
      if (n === BURST.killAt) {
        crashed = true;
        await crash();
        return;
      }
      const clientKey = `keycrash-${process.pid}-${run}-${n}`;
      heard.set(clientKey, { status: 'unanswered', replayed: false });
      heard.set(clientKey, await post(url, clientKey));
    }
  };
  await Promise.all(Array.from({ length: BURST.connections }, client));
  return heard;
}

/** A retry as the contract asks: the same key and body; a 503 or a request in progress again after a pause. */
async function retry(url: string, clientKey: string): Promise<Heard> {
  for (let attempt = 1; ; attempt += 1) {
    const answer = await post(url, clientKey);
    const undecided = answer.status === 503 || answer.problem === 'request-in-progress';
    if (!undecided || attempt === 30) return answer;
    await new Promise((wake) => setTimeout(wake, 1_000));
  }
}

async function retryAll(url: string, keys: readonly string[]): Promise<Map<string, Heard>> {
  const answers = new Map<string, Heard>();
  let next = 0;
  const client = async (): Promise<void> => {
    while (next < keys.length) {
      const clientKey = keys[next++] as string;
      answers.set(clientKey, await retry(url, clientKey));
    }
  };
  await Promise.all(Array.from({ length: BURST.connections }, client));
  return answers;
}

const countBy = (values: string[]): Record<string, number> =>
  values.reduce<Record<string, number>>((counts, value) => ({ ...counts, [value]: (counts[value] ?? 0) + 1 }), {});
const kind = ({ status, problem, replayed }: Heard): string =>
  `${status}${problem ? ` ${problem}` : ''}${replayed ? ' replayed' : ''}`;

const CRASH_KINDS = Object.keys(CRASHES) as Crash[];

describe(`kill -9 at request ${BURST.killAt} of a burst of keyed orders, then every key again`, () => {
  it(`gives every retry its original order, and never a second order per key, in ${CHAOS_RUNS} runs`, async () => {
    for (let run = 1; run <= CHAOS_RUNS; run += 1) {
      const crashName = CRASH_KINDS[(run - 1) % CRASH_KINDS.length] ?? 'the whole service (process group)';
      const started = performance.now();
      await crashThenRestart(
        crashName,
        (url, kill) => burst(url, run, kill),
        async (restarted, heard) => {
          const keys = [...heard.keys()];
          const retried = await retryAll(restarted.url, keys);
          const { ordersByClientKey, keyItems } = await storedClientKeys(restarted);
          const seconds = Math.round((performance.now() - started) / 100) / 10;
          process.stdout.write(
            `keyed crash run ${run} (${crashName}): first answers ${JSON.stringify(countBy([...heard.values()].map(kind)))};` +
              ` retries ${JSON.stringify(countBy([...retried.values()].map(kind)))}; ${seconds} s\n`,
          );

          // Every retry is decided, and accepted: the key's first order, or the order the first attempt never made.
          expect([...retried].filter(([, answer]) => answer.status !== 202)).toEqual([]);
          // The order a client heard of is the one its retry gets.
          const heardOther = keys.filter((clientKey) => {
            const firstOrder = heard.get(clientKey)?.orderId;
            return firstOrder !== undefined && retried.get(clientKey)?.orderId !== firstOrder;
          });
          expect(heardOther).toEqual([]);
          // A retry of an answered 202 is a replay.
          const notReplayed = keys.filter(
            (clientKey) => heard.get(clientKey)?.status === 202 && retried.get(clientKey)?.replayed !== true,
          );
          expect(notReplayed).toEqual([]);
          // One order per key, the one its retry names; one key item per order with a key.
          const storedOther = keys.filter(
            (clientKey) =>
              JSON.stringify(ordersByClientKey.get(clientKey)) !== JSON.stringify([retried.get(clientKey)?.orderId]),
          );
          expect(storedOther).toEqual([]);
          expect([...ordersByClientKey.values()].filter((orderIds) => orderIds.length > 1)).toEqual([]);
          expect(
            keyItems.filter((item) => JSON.stringify(ordersByClientKey.get(item.clientKey)) !== `["${item.orderId}"]`),
          ).toEqual([]);
          expect(keyItems).toHaveLength(ordersByClientKey.size);
          // A run in which nothing was accepted before the crash would not have tested a replay.
          expect([...heard.values()].some((answer) => answer.status === 202)).toBe(true);
        },
      );
    }
  });
});
