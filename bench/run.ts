/**
 * `npm run bench`: load on the whole local service, started as `npm start` starts it (local/main.ts: the same
 * templates, ASL, handlers and DynamoDB Local on disk) in its own process, over HTTP from this one. It reports latency percentiles, throughput and status counts,
 * then checks that every 202 is a stored order and that identical concurrent requests store one order.
 *
 * Figures are for this machine and DynamoDB Local, not for AWS: they show the workflow's own cost and that the
 * contract holds under load, not the deployed stack's 5,000 requests/s (see docs/deploy.md for that).
 *
 * Phases: light load (10 connections: latency while the machine has headroom), saturation (50 connections: the
 * most this machine sustains, bounded by DynamoDB Local's writes), a burst of many requests at once, and 20
 * identical requests at the same instant.
 * Env: BENCH_DURATION (s per timed phase, default 20), BENCH_BURST (requests, default 2000),
 * BENCH_BURST_CONNECTIONS (default 500).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';

const duration = Number(process.env.BENCH_DURATION ?? 20);
const burstRequests = Number(process.env.BENCH_BURST ?? 2000);
const burstConnections = Number(process.env.BENCH_BURST_CONNECTIONS ?? 500);

interface PhaseResult {
  phase: string;
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  statuses: Record<string, number>;
  errors: number;
}

const percentile = (sorted: number[], p: number): number =>
  sorted.length === 0 ? NaN : (sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN);

const acceptedOrderIds: string[] = [];
let sequence = 0;
/** A distinct valid order per request, so that every request is a new order, not a duplicate. */
const uniqueOrder = (): string =>
  JSON.stringify({
    customerId: 'CUST-BENCH001',
    items: [{ sku: 'SKU-00012345', quantity: 1 + (sequence % 100) }],
    clientReference: `bench-${process.pid}-${++sequence}`,
  });

async function load(
  phase: string,
  url: string,
  options: { connections: number; duration?: number; amount?: number; body?: () => string },
): Promise<PhaseResult> {
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const body = options.body ?? uniqueOrder;
  const started = performance.now();
  const instance = autocannon({
    url: `${url}/orders`,
    connections: options.connections,
    ...(options.amount ? { amount: options.amount } : { duration: options.duration ?? 10 }),
    timeout: 30,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        setupRequest: (request) => ({ ...request, body: body() }),
        onResponse: (status, responseBody) => {
          if (status === 202) acceptedOrderIds.push((JSON.parse(responseBody) as { orderId: string }).orderId);
        },
      },
    ],
  });
  // autocannon's typings omit the client argument it emits first.
  (instance as unknown as NodeJS.EventEmitter).on(
    'response',
    (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
      latencies.push(responseTime);
      statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
    },
  );
  const result = await instance;
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    phase,
    requests: latencies.length,
    seconds: Number(seconds.toFixed(1)),
    requestsPerSecond: Math.round(latencies.length / seconds),
    p50: Math.round(percentile(latencies, 50)),
    p95: Math.round(percentile(latencies, 95)),
    p99: Math.round(percentile(latencies, 99)),
    max: Math.round(latencies.at(-1) ?? NaN),
    statuses,
    errors: result.errors + result.timeouts,
  };
}

/** Starts local/main.ts on a free port and resolves with the URL it prints. */
async function startLocalService(dataDir: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(join('node_modules', '.bin', 'tsx'), ['local/main.ts'], {
    env: { ...process.env, PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'ERROR' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit').then(() => {
    throw new Error('the local service exited before it listened');
  });
  const listening = (async () => {
    if (!child.stdout) throw new Error('no output from the local service');
    for await (const line of createInterface({ input: child.stdout })) {
      const match = /listening on (http:\/\/\S+)/.exec(line);
      if (match?.[1]) return match[1];
    }
    throw new Error('the local service closed its output before it listened');
  })();
  return { url: await Promise.race([listening, exited]), child };
}

const dataDir = mkdtempSync(join(tmpdir(), 'order-intake-bench-'));
const { url, child } = await startLocalService(dataDir);
const service = { url };
try {
  console.log(`bench: ${service.url}, data in ${dataDir}`);
  const results: PhaseResult[] = [];
  results.push(await load('warm-up', service.url, { connections: 10, amount: 200 }));
  for (const connections of [10, 50]) {
    results.push(await load(`${connections} connections ${duration}s`, service.url, { connections, duration }));
  }
  results.push(
    await load(`burst ${burstRequests} requests / ${burstConnections} connections`, service.url, {
      connections: burstConnections,
      amount: burstRequests,
    }),
  );
  const duplicate = uniqueOrder();
  results.push(await load('20 identical at once', service.url, { connections: 20, amount: 20, body: () => duplicate }));
  console.table(results.map(({ statuses, ...row }) => ({ ...row, statuses: JSON.stringify(statuses) })));

  const accepted = results.reduce((sum, result) => sum + (result.statuses['202'] ?? 0), 0);
  let retrievable = 0;
  for (const orderId of acceptedOrderIds) {
    const response = await fetch(`${service.url}/orders/${orderId}`);
    if (response.status === 200) retrievable += 1;
    await response.body?.cancel();
  }
  const identical = results.at(-1)?.statuses ?? {};
  const checks = {
    'every 202 is a stored order (GET answers 200)': acceptedOrderIds.length === accepted && retrievable === accepted,
    'no 5xx': results.every((result) => Object.keys(result.statuses).every((status) => !status.startsWith('5'))),
    '20 identical requests: one 202, nineteen 409': identical['202'] === 1 && identical['409'] === 19,
  };
  console.log(JSON.stringify({ accepted, retrievable, checks }, null, 2));
  process.exitCode = Object.values(checks).every(Boolean) ? 0 : 1;
} finally {
  const stopped = once(child, 'exit');
  child.kill('SIGTERM');
  await stopped;
  rmSync(dataDir, { recursive: true, force: true });
}
