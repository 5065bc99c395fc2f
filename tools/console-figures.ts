/**
 * `npx tsx tools/console-figures.ts [executions]`: the ops console's own costs, measured on a console.sqlite filled
 * with that many executions (default 100,000, the retention count), in a temporary folder:
 * - recording: the time ConsoleStore takes per execution (summary, compressed record, indexes, per-minute count),
 *   writes committed in groups as the service does;
 * - the list: each query the list page makes (the page, its total, the stats), by filter, median of 20 runs, with
 *   SQLite's plan (EXPLAIN QUERY PLAN) to show they read indexes, not the table; then GET /console whole (route,
 *   queries, stats and HTML) for a few filters.
 * The executions have the accepted path's shape and size (12 states, inputs as the workflow builds them); one in
 * ten is a rejection, one in a hundred a failure; they are spread over the last 24 hours. Figures are for this
 * machine; it prints them, it asserts nothing (a loaded machine would make a timed test lie).
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createOpsConsole, type OpsConsoleOptions } from '../local/console/console-routes.js';
import { ConsoleStore, type ExecutionFilter } from '../local/console/console-store.js';
import { openEventsDatabase } from '../local/eventbridge/events-database.js';
import type { RecordedExecution } from '../local/stepfunctions/execution-history.js';

const COUNT = Number(process.argv[2] ?? 100_000);
const DAY_MS = 24 * 60 * 60 * 1000;
const now = Date.now();

const ulidLike = (n: number): string => `01M9${n.toString(32).toUpperCase().padStart(22, '0')}`;

function execution(n: number): RecordedExecution {
  const name = `${n.toString(16).padStart(8, '0')}-4c1e-4b5a-9d3f-${(n * 7919).toString(16).padStart(12, '0')}`;
  const startedAt = now - DAY_MS + Math.floor((n / COUNT) * DAY_MS);
  const body = {
    customerId: `CUST-${(n % 5000).toString(36).toUpperCase().padStart(8, '0')}`,
    items: [{ sku: 'SKU-00012345', quantity: 3 }],
    clientReference: `web-checkout-${n}`,
  };
  const rejected = n % 10 === 9;
  const failed = n % 100 === 42;
  const orderId = ulidLike(n);
  const idempotencyKey = (n * 2654435761).toString(16).padStart(64, 'f');
  let input: Record<string, unknown> = {
    requestId: name,
    body: Buffer.from(JSON.stringify(body)).toString('base64'),
  };
  const events: RecordedExecution['events'] = [{ type: 'ExecutionStarted', timestamp: startedAt, input: json(input) }];
  const path = rejected
    ? ['Validate', 'IsValid', 'RespondRejected']
    : ['Validate', 'IsValid', 'StartPersistAttempts', 'Persist', 'IsFastPathOn', 'Publish', 'RespondAccepted'];
  let at = startedAt;
  for (const state of path) {
    const output = {
      ...input,
      ...(state === 'Validate'
        ? {
            validation: {
              Payload: rejected ? { valid: false } : { valid: true, idempotencyKey, orderId, order: body },
            },
          }
        : {}),
      ...(state === 'Persist' ? { persisted: { ok: true } } : {}),
    };
    events.push({ type: 'StateEntered', timestamp: at, state: { name: state, type: 'Task', input: json(input) } });
    at += 2;
    events.push({
      type: 'StateExited',
      timestamp: at,
      state: { name: state, type: 'Task', input: json(input), output: json(output) },
    });
    input = output;
  }
  const answer = rejected
    ? { statusCode: 400, body: JSON.stringify({ title: 'Invalid order' }) }
    : { statusCode: 202, body: JSON.stringify({ orderId, idempotencyKey, status: 'ACCEPTED' }) };
  events.push(
    failed
      ? { type: 'ExecutionFailed', timestamp: at, Error: 'Error', Cause: 'Error: Validate failed' }
      : { type: 'ExecutionSucceeded', timestamp: at, output: answer },
  );
  return {
    name,
    arn: `arn:aws:states:local:000000000000:express:order-intake:${name}`,
    stateMachineArn: 'arn:aws:states:local:000000000000:stateMachine:order-intake',
    status: failed ? 'FAILED' : 'SUCCEEDED',
    startedAt,
    stoppedAt: at + (n % 37),
    events,
  };
}

/** The JSON type of the package's event log (not exported by name). */
type Json = Extract<RecordedExecution['events'][number], { type: 'ExecutionStarted' }>['input'];
const json = (value: Record<string, unknown>): Json => value as Json;

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

const dir = mkdtempSync(join(tmpdir(), 'console-figures-'));
try {
  const path = join(dir, 'console.sqlite');
  const store = new ConsoleStore(path, { maxExecutions: COUNT });
  // Recording, in groups of 50 per flush (the service commits what one turn of the event loop recorded).
  let recordingMs = 0;
  const samples = Array.from({ length: 200 }, (_, i) => execution(i));
  for (let n = 0; n < COUNT; n += 1) {
    const recorded = n < samples.length ? (samples[n] as RecordedExecution) : execution(n);
    const start = performance.now();
    store.recordExecution(recorded);
    if (n % 50 === 49) store.flush();
    recordingMs += performance.now() - start;
  }
  store.flush();
  console.log(
    `recorded ${COUNT} executions: ${((recordingMs * 1000) / COUNT).toFixed(0)} µs each on average ` +
      `(console.sqlite ${(statSync(path).size / 1e6).toFixed(0)} MB)`,
  );

  const sample = execution(Math.floor(COUNT / 2));
  const summary = store.summary(sample.name);
  const filters: [string, ExecutionFilter][] = [
    ['newest page, no filter', {}],
    ['outcome=failed', { outcome: 'failed' }],
    ['status=SUCCEEDED', { status: 'SUCCEEDED' }],
    ['prefix of an orderId (12 chars)', { search: summary?.orderId?.slice(0, 12) ?? '' }],
    ['prefix of a requestId (6 chars)', { search: sample.name.slice(0, 6) }],
    ['customerId (20 executions)', { search: summary?.customerId ?? '' }],
    ['clientReference', { search: summary?.clientReference ?? '' }],
    ['last hour', { from: now - 3_600_000 }],
    ['last hour, outcome=rejected', { from: now - 3_600_000, outcome: 'rejected' }],
  ];
  const olderCursor = store.page({ limit: 100 }).next;
  if (olderCursor !== undefined) filters.push(['an older page (before=)', { before: olderCursor }]);
  console.log('\nlist page queries (page of 100 + total), median of 20 runs:');
  for (const [label, filter] of filters) {
    const times: number[] = [];
    let total = 0;
    for (let run = 0; run < 20; run += 1) {
      const start = performance.now();
      total = store.page({ ...filter, limit: 100 }).total;
      times.push(performance.now() - start);
    }
    const plans = [...new Set(store.queryPlans(filter))].join('; ');
    console.log(`  ${median(times).toFixed(2).padStart(7)} ms  ${label} (${total} match)\n             plan: ${plans}`);
  }
  const statsTimes: number[] = [];
  for (let run = 0; run < 20; run += 1) {
    const start = performance.now();
    store.stats();
    statsTimes.push(performance.now() - start);
  }
  console.log(
    `  ${median(statsTimes).toFixed(2).padStart(7)} ms  stats (15 min / hour / day, the last hour by minute)`,
  );

  // The whole answer, as a browser gets it: the route, its queries, the stats and the page's HTML.
  const events = openEventsDatabase(':memory:');
  const dynamodb = new DynamoDBClient({ region: 'local', endpoint: 'http://127.0.0.1:9' });
  const opsConsole = createOpsConsole({
    store,
    events,
    dynamodb,
    tableName: 'unused',
    archiveDir: dir,
    definition: JSON.parse(readFileSync('asl/order-intake.asl.json', 'utf8')) as OpsConsoleOptions['definition'],
    redriveDeadLetter: async () => ({ outcome: 'not-found', detail: '' }),
    ruleNames: [],
    hosts: 'loopback',
  });
  console.log('\nGET /console, the whole answer (route, queries, stats, HTML), median of 20 runs:');
  for (const query of ['', `?q=${summary?.customerId ?? ''}`, '?outcome=failed', `?before=${olderCursor ?? ''}`]) {
    const times: number[] = [];
    let bytes = 0;
    for (let run = 0; run < 20; run += 1) {
      const start = performance.now();
      const answer = await opsConsole.handle({
        method: 'GET',
        path: '/console',
        query: new URLSearchParams(query),
        headers: { host: 'localhost:3000' },
        port: 3000,
      });
      times.push(performance.now() - start);
      bytes = answer.body.length;
    }
    console.log(`  ${median(times).toFixed(2).padStart(7)} ms  /console${query} (${(bytes / 1000).toFixed(0)} kB)`);
  }
  dynamodb.destroy();
  events.close();
  store.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
