/**
 * `npm run bench`: the local service measured beside this machine's two ceilings, in one run.
 * 1. A bare Node HTTP server (what this machine's HTTP stack and the load generator can do at all).
 * 2. DynamoDB Local on disk running the workflow's own transaction (the lock and the order, conditional, with the
 *    commit barrier the local runtime uses, so "stored before acknowledged" holds): the store's ceiling.
 * 3. The service as `npm start` runs it (local/main.ts in its own process), over HTTP:
 *    closed model (a fixed number of connections, each sending its next request when answered), then open model
 *    (a constant arrival rate, 80 % of the measured capacity, each latency measured from the moment its request was
 *    due, so coordinated omission cannot hide a stall), a burst, and 20 identical requests at the same instant; then
 *    on fresh starts with the console's recording off and on, alternately, the start with recording on offered the
 *    open model again at 80 % of its own capacity. The store's ceiling is measured again at the end: this machine's
 *    disk and CPU vary by tens of percent over minutes, so each side counts its better run.
 * Every 202 is read back (GET must answer 200). Results print as a table with ratios and are written as JSON under
 * bench/results/ (git-ignored).
 *
 * 0. Before all of it, start-up: `npm start` from spawn to its first answer, against DynamoDB Local alone started by
 *    the same launcher, three times each, alternately (BENCH_ONLY=startup measures this alone).
 * Figures are for this machine and DynamoDB Local, not for AWS (docs/capacity.md covers the deployed stack).
 * Env: BENCH_DURATION (s per timed phase, default 10), BENCH_BURST (requests, default 2000),
 * BENCH_BURST_CONNECTIONS (default 500), BENCH_OPEN_LOAD (fraction of capacity offered open-model, default 0.8),
 * BENCH_PROFILE (a folder: each start of the service writes a V8 CPU profile there; `npm run cpu-profile -- <file>`
 * says where its time went).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { randomUUID } from 'node:crypto';
import { ListTablesCommand, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import autocannon from 'autocannon';
import { startDynamoDbLocal } from '../local/dynamodb/dynamodb-local.js';
import { killGroup, launchService, stopGracefully } from '../local/service-process.js';
import { ensureOrdersTable } from '../local/dynamodb/orders-table.js';
import { IDEMPOTENCY_WINDOW_SECONDS } from '../src/deployed-settings.js';
import { idempotencyLockKey, orderKey } from '../src/store/orders-table.js';
import { cliArguments } from '../tools/cli-arguments.js';
import { uniqueOrders } from './unique-orders.js';
import { latencyFigures, readBack, runOpenLoad, tableRow, type LoadFigures } from '../tools/open-load.js';

cliArguments(
  `usage: npm run bench
  Measures the local service beside this machine's ceilings (see bench/run.ts). Settings by environment:
  BENCH_DURATION (s per timed phase, 10), BENCH_BURST (requests, 2000), BENCH_BURST_CONNECTIONS (500),
  BENCH_OPEN_LOAD (fraction of capacity, 0.8), BENCH_PROFILE (folder for CPU profiles), BENCH_ONLY=startup.`,
  { options: {} },
);
const duration = Number(process.env.BENCH_DURATION ?? 10);
const burstRequests = Number(process.env.BENCH_BURST ?? 2000);
const burstConnections = Number(process.env.BENCH_BURST_CONNECTIONS ?? 500);
const openLoad = Number(process.env.BENCH_OPEN_LOAD ?? 0.8);
const STARTUP_ROUNDS = 3;

interface PhaseResult extends LoadFigures {
  phase: string;
  model: 'closed' | 'open';
  errors: number;
}

const acceptedOrderIds: string[] = [];
/** Every 202 the service answered, warm-ups included: each must have given an orderId that reads back. */
let serviceAccepted = 0;
/** The problem body of every 5xx but 503: it names the request, whose execution the console shows. */
const failures: string[] = [];
const uniqueOrder = uniqueOrders('bench');

interface LoadOptions {
  connections: number;
  duration?: number;
  amount?: number;
  body?: () => string;
  /** Whether the 202s are orders to read back (not for the bare server's canned answers). */
  orders?: boolean;
  path?: string;
  method?: 'GET' | 'POST';
}

async function load(phase: string, url: string, options: LoadOptions): Promise<PhaseResult> {
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const body = options.body ?? uniqueOrder;
  const method = options.method ?? 'POST';
  const started = performance.now();
  const instance = autocannon({
    url: `${url}${options.path ?? '/orders'}`,
    connections: options.connections,
    ...(options.amount ? { amount: options.amount } : { duration: options.duration ?? duration }),
    timeout: 30,
    requests: [
      method === 'POST'
        ? {
            method,
            headers: { 'content-type': 'application/json' },
            setupRequest: (request) => ({ ...request, body: body() }),
            onResponse: (status, responseBody) => {
              if (status === 202 && options.orders !== false) {
                acceptedOrderIds.push((JSON.parse(responseBody) as { orderId: string }).orderId);
              }
              if (status >= 500 && status !== 503) failures.push(responseBody);
            },
          }
        : { method },
    ],
  });
  // autocannon's typings omit the client argument it emits first.
  (instance as unknown as NodeJS.EventEmitter).on(
    'response',
    (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
      latencies.push(responseTime);
      statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
      if (statusCode === 202 && options.orders !== false) serviceAccepted += 1;
    },
  );
  let lastCount = 0;
  (instance as unknown as NodeJS.EventEmitter).on('tick', () => {
    process.stderr.write(`  ${phase}: ${latencies.length - lastCount}/s\n`);
    lastCount = latencies.length;
  });
  const result = await instance;
  return closedPhase(phase, latencies, started, statuses, result.errors + result.timeouts);
}

/** A closed-model phase's figures: its latencies (ms) and answers since `started` (performance.now()). */
function closedPhase(
  phase: string,
  latencies: number[],
  started: number,
  statuses: Record<string, number>,
  errors: number,
): PhaseResult {
  const seconds = (performance.now() - started) / 1000;
  return {
    phase,
    model: 'closed',
    achieved: Math.round(latencies.length / seconds),
    requests: latencies.length,
    seconds: Number(seconds.toFixed(1)),
    ...latencyFigures(latencies),
    statuses,
    errors,
  };
}

/**
 * Open model: new orders at a constant arrival rate, one every 1/rate s whatever the answers do, each latency
 * measured from the moment its request was due. autocannon's rate mode is not this: it gives each connection a
 * budget per second and releases it at once at every second's tick, so the "rate" arrives as one burst a second.
 */
async function openModel(phase: string, url: string, rate: number): Promise<PhaseResult> {
  const result = await runOpenLoad({
    api: (path, init) => fetch(`${url}${path}`, init),
    rate,
    durationSeconds: duration,
    body: () => uniqueOrder(),
    progress: (line) =>
      process.stderr.write(`  ${phase}: ${JSON.stringify(line.statuses)}, ${line.inFlight} in flight\n`),
  });
  const { accepted, problems, ...figures } = result;
  acceptedOrderIds.push(...accepted);
  serviceAccepted += accepted.length;
  failures.push(...problems);
  const errors = Object.entries(figures.statuses).reduce(
    (sum, [status, count]) => sum + (/^\d+$/.test(status) ? 0 : count),
    0,
  );
  return { phase, model: 'open', ...figures, errors };
}

/** Ceiling 1: a Node HTTP server that answers every request with a small 202, in its own process. */
async function bareHttpCeiling(): Promise<PhaseResult> {
  const child = spawn(process.execPath, [
    '-e',
    `require('node:http').createServer((q, s) => { q.resume(); q.on('end', () => { s.writeHead(202, { 'content-type': 'application/json' }); s.end('{"orderId":"x"}'); }); }).listen(0, '127.0.0.1', function () { console.log(this.address().port); });`,
  ]);
  try {
    const [port] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
    return await load('ceiling: bare Node HTTP server, 50 connections', `http://127.0.0.1:${port}`, {
      connections: 50,
      body: () => '{}',
      orders: false,
    });
  } finally {
    child.kill();
  }
}

/** Ceiling 2: the workflow's own transaction, straight at DynamoDB Local on disk, 50 at a time. */
async function storeCeiling(dir: string, folder: string, when = ''): Promise<PhaseResult> {
  // The service's own launcher, loopback shim included, so that the baseline runs the JVM as the service does.
  const dynamodb = await startDynamoDbLocal({ dataDir: join(dir, folder) });
  if (dynamodb.exposure) process.stderr.write(`  WARNING: ${dynamodb.exposure}\n`);
  const client = dynamodb.client();
  const tableName = 'bench-store-ceiling';
  try {
    await ensureOrdersTable(client, tableName);
    let latencies: number[] = [];
    let statuses: Record<string, number> = {};
    let deadline = performance.now() + 5_000;
    const worker = async (): Promise<void> => {
      while (performance.now() < deadline) {
        const orderId = randomUUID();
        const now = Math.floor(Date.now() / 1000);
        const sent = performance.now();
        try {
          await client.send(
            new TransactWriteItemsCommand({
              ClientRequestToken: `${orderId}-1`.slice(0, 36),
              TransactItems: [
                {
                  Put: {
                    TableName: tableName,
                    Item: {
                      pk: { S: idempotencyLockKey(orderId) },
                      orderId: { S: orderId },
                      expiresAt: { N: String(now + IDEMPOTENCY_WINDOW_SECONDS) },
                    },
                    ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
                    ExpressionAttributeValues: { ':now': { N: String(now) } },
                  },
                },
                {
                  Put: {
                    TableName: tableName,
                    Item: {
                      pk: { S: orderKey(orderId) },
                      orderId: { S: orderId },
                      document: { S: uniqueOrder() },
                    },
                    ConditionExpression: 'attribute_not_exists(pk)',
                  },
                },
              ],
            }),
          );
          statuses['200'] = (statuses['200'] ?? 0) + 1;
        } catch (error) {
          const name = error instanceof Error ? error.name : 'Error';
          statuses[name] = (statuses[name] ?? 0) + 1;
        }
        latencies.push(performance.now() - sent);
      }
    };
    // A fresh JVM compiles as it goes: 5 s of the same work first, as the service gets before its figures.
    await Promise.all(Array.from({ length: 50 }, worker));
    latencies = [];
    statuses = {};
    const started = performance.now();
    deadline = started + duration * 1000;
    await Promise.all(Array.from({ length: 50 }, worker));
    const errors = Object.entries(statuses).reduce((sum, [status, count]) => sum + (status === '200' ? 0 : count), 0);
    return closedPhase(
      `ceiling: DynamoDB Local, the workflow transaction, 50 at a time${when}`,
      latencies,
      started,
      statuses,
      errors,
    );
  } finally {
    client.destroy();
    await dynamodb.stop();
  }
}

/** Starts the service as `npm start` runs it, on a free port, with the launcher the tests use. */
async function startLocalService(dataDir: string, env: Record<string, string> = {}) {
  const profiling: Record<string, string> = process.env.BENCH_PROFILE
    ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${resolve(process.env.BENCH_PROFILE)}` }
    : {};
  return launchService({ dataDir, env: { ...profiling, ...env } });
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

/**
 * From spawn to first answer, side by side: `npm start` (the answer is a GET that reads the store), against DynamoDB
 * Local alone started by the same launcher the service uses (its answer is ListTables); alternately, three each.
 */
async function startupComparison(dir: string): Promise<{ serviceMs: number; dynamodbMs: number; ratio: number }> {
  const service: number[] = [];
  const dynamodb: number[] = [];
  for (let round = 1; round <= STARTUP_ROUNDS; round += 1) {
    let started = performance.now();
    const store = await startDynamoDbLocal({ dataDir: join(dir, `startup-dynamodb-${round}`) });
    const client = store.client();
    try {
      await client.send(new ListTablesCommand({}));
      dynamodb.push(performance.now() - started);
    } finally {
      client.destroy();
      await store.stop();
    }
    started = performance.now();
    const running = await launchService({ dataDir: join(dir, `startup-service-${round}`), via: 'npm-start' });
    try {
      const answer = await fetch(`${running.url}/orders/01KBXQ7C0000000000000000AA`);
      await answer.arrayBuffer();
      if (answer.status !== 404) throw new Error(`the first answer was ${answer.status}, not 404`);
      service.push(performance.now() - started);
    } finally {
      await stopGracefully(running);
      await killGroup(running);
    }
    console.log(
      `start-up round ${round}: npm start answered after ${Math.round(service.at(-1) ?? 0)} ms, ` +
        `DynamoDB Local alone after ${Math.round(dynamodb.at(-1) ?? 0)} ms`,
    );
  }
  const serviceMs = Math.round(median(service));
  const dynamodbMs = Math.round(median(dynamodb));
  return { serviceMs, dynamodbMs, ratio: Number((serviceMs / dynamodbMs).toFixed(2)) };
}

const dir = mkdtempSync(join(tmpdir(), 'order-intake-bench-'));
const results: PhaseResult[] = [];
try {
  console.log(`bench: data in ${dir}; ${duration} s per timed phase`);
  const startup = await startupComparison(dir);
  console.log(
    `start-up, median of ${STARTUP_ROUNDS}: npm start ${startup.serviceMs} ms, DynamoDB Local alone ` +
      `${startup.dynamodbMs} ms (ratio ${startup.ratio})`,
  );
  if (process.env.BENCH_ONLY === 'startup') process.exit(0);
  const bare = await bareHttpCeiling();
  results.push(bare);
  const firstStore = await storeCeiling(dir, 'store-ceiling');
  results.push(firstStore);

  const first = await startLocalService(join(dir, 'service'));
  const { url } = first;
  let capacity: PhaseResult;
  let open: PhaseResult;
  try {
    results.push(await load('service: warm-up', url, { connections: 10, amount: 200 }));
    results.push(await load('service: 10 connections', url, { connections: 10 }));
    capacity = await load('service: 50 connections (capacity)', url, { connections: 50 });
    results.push(capacity);
    const rate = Math.max(1, Math.round(capacity.achieved * openLoad));
    open = await openModel(`service: open model, ${rate}/s (${Math.round(openLoad * 100)} % of capacity)`, url, rate);
    results.push(open);
    results.push(
      await load(`service: burst ${burstRequests} requests / ${burstConnections} connections`, url, {
        connections: burstConnections,
        amount: burstRequests,
      }),
    );
    const duplicate = uniqueOrder();
    results.push(
      await load('service: 20 identical at once', url, { connections: 20, amount: 20, body: () => duplicate }),
    );
  } finally {
    await stopGracefully(first);
  }

  // Recording on against off: this machine's disk makes runs vary by tens of percent, so each is measured twice,
  // alternately, on a fresh start warmed as the first run was, and the better of its two runs counts.
  // The run with recording on (as npm start runs) is also offered the open model again, at 80 % of its own
  // capacity: the first start's capacity is often the lowest of a bench, which makes 80 % of it an easy load.
  const opens: PhaseResult[] = [open];
  const recordingRun = async (recording: boolean): Promise<PhaseResult> => {
    const service = await startLocalService(join(dir, 'service'), { ORDER_INTAKE_CONSOLE: recording ? 'on' : 'off' });
    try {
      await load('service: warm-up', service.url, { connections: 10, amount: 200 });
      await load('service: warm-up', service.url, { connections: 10, duration });
      const run = await load(`service: 50 connections, console recording ${recording ? 'on' : 'off'}`, service.url, {
        connections: 50,
      });
      if (recording) {
        const rate = Math.max(1, Math.round(run.achieved * openLoad));
        const share = `${Math.round(openLoad * 100)} % of this start's capacity`;
        opens.push(await openModel(`service: open model, ${rate}/s (${share})`, service.url, rate));
      }
      return run;
    } finally {
      await stopGracefully(service);
    }
  };
  const runs: PhaseResult[] = [];
  for (const recording of [false, true, false]) runs.push(await recordingRun(recording));
  results.push(...runs, ...opens.slice(1));
  const lastStore = await storeCeiling(dir, 'store-ceiling-again', ', again at the end');
  results.push(lastStore);
  const store = lastStore.achieved > firstStore.achieved ? lastStore : firstStore;
  const best = (recording: boolean): PhaseResult =>
    [capacity, ...runs]
      .filter(
        (run) => run.phase.includes(recording ? 'recording on' : 'recording off') || (recording && run === capacity),
      )
      .reduce((a, b) => (b.achieved > a.achieved ? b : a));
  const recordingOn = best(true);
  const recordingOff = best(false);

  console.table(
    results.map((result) => ({ phase: result.phase, model: result.model, ...tableRow(result), errors: result.errors })),
  );

  // Read back every 202, against the service on the same data (both runs wrote there).
  const reader = await startLocalService(join(dir, 'service'));
  let retrievable = 0;
  try {
    const missing = await readBack((path, init) => fetch(`${reader.url}${path}`, init), acceptedOrderIds);
    retrievable = acceptedOrderIds.length - missing.length;
  } finally {
    await stopGracefully(reader);
  }

  const serviceResults = results.filter((result) => result.phase.startsWith('service'));
  const accepted = serviceAccepted;
  const identical = serviceResults.find((result) => result.phase.includes('identical'))?.statuses ?? {};
  // The service as npm start runs it (recording on) against each ceiling, each side by its better run.
  const ratios = {
    'service / bare HTTP server': Number((recordingOn.achieved / bare.achieved).toFixed(3)),
    'service / DynamoDB Local transaction': Number((recordingOn.achieved / store.achieved).toFixed(3)),
    'console recording on / off': Number((recordingOn.achieved / recordingOff.achieved).toFixed(3)),
    'start-up: npm start / DynamoDB Local alone (median)': startup.ratio,
  };
  const checks = {
    'every 202 is a stored order (GET answers 200)': acceptedOrderIds.length === accepted && retrievable === accepted,
    // 503 (with Retry-After) is the contract's answer to more load than the store takes; any other 5xx is a defect.
    'no 5xx but 503': serviceResults.every((result) =>
      Object.keys(result.statuses).every((status) => !status.startsWith('5') || status === '503'),
    ),
    '20 identical requests: one 202, nineteen 409': identical['202'] === 1 && identical['409'] === 19,
  };
  const targets = {
    'service >= 80 % of the store (end to end)': ratios['service / DynamoDB Local transaction'] >= 0.8,
    'open model at 80 % of capacity: p95 <= 300 ms (each start offered it)': opens.every((run) => run.p95 <= 300),
    'console recording costs <= 10 % of throughput': ratios['console recording on / off'] >= 0.9,
    'npm start answers within 1.5 x the time DynamoDB Local alone takes': startup.ratio <= 1.5,
  };
  const summary = { accepted, retrievable, startup, ratios, checks, targets, failures };
  console.log(JSON.stringify(summary, null, 2));
  const resultsDir = join('bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ date: new Date().toISOString(), duration, results, ...summary }, null, 2)}\n`,
  );
  console.log(`results: ${file}`);
  if (process.env.BENCH_PROFILE) console.log(`CPU profiles of the service: ${resolve(process.env.BENCH_PROFILE)}`);
  process.exitCode = Object.values(checks).every(Boolean) ? 0 : 1;
} finally {
  // Kept when something failed, so that its executions can be read in the console (npm start with this DATA_DIR).
  if (failures.length > 0) console.log(`kept for inspection: DATA_DIR=${join(dir, 'service')}`);
  else rmSync(dir, { recursive: true, force: true });
}
