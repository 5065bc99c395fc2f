/**
 * The console's live list (/console/live, Server-Sent Events) shown with a filter: it streams exactly the executions
 * the list page would show with the same filter, so a filtered page never gains a row that does not belong in it.
 */
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, get, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { consoleRoutes, LIVE_LIMITS, type LiveLimits } from '../../local/console/console-http.js';
import { matchesFilter, type OpsConsole } from '../../local/console/console-routes.js';
import { ConsoleStore, OUTCOMES, type ExecutionFilter } from '../../local/console/console-store.js';
import { openEventsDatabase } from '../../local/eventbridge/events-database.js';
import type { LocalRoutes } from '../../local/apigateway/server.js';
import type { RecordedExecution } from '../../local/stepfunctions/execution-history.js';
import { eventually } from '../support/eventually.js';
import { testOpsConsole } from '../support/ops-console.js';

const STATUSES = ['SUCCEEDED', 'FAILED', 'TIMED_OUT'] as const;
/** Few values, so that searches often hit an orderId, a name or an idempotency key of another execution. */
const IDS = ['A', 'B', 'C'];

/** An execution as the workflow records it, answered with `statusCode` (ignored unless it SUCCEEDED). */
const execution = (
  name: string,
  status: RecordedExecution['status'],
  statusCode: number,
  ids: { orderId?: string; idempotencyKey?: string } = {},
): RecordedExecution => {
  const startedAt = Date.now();
  const output = { statusCode, body: JSON.stringify(ids) };
  return {
    name,
    arn: `arn:aws:states:local:000000000000:express:order-intake:${name}`,
    stateMachineArn: 'arn:aws:states:local:000000000000:stateMachine:order-intake',
    status,
    startedAt,
    stoppedAt: startedAt + 20,
    events: [
      { type: 'ExecutionStarted', timestamp: startedAt, input: {} },
      ...(status === 'SUCCEEDED' ? [{ type: 'ExecutionSucceeded' as const, timestamp: startedAt + 20, output }] : []),
    ],
  };
};

describe('the live list’s filter', () => {
  it('lets through exactly what the list page shows with the same filter', () => {
    const executions = fc.array(
      fc.record({
        status: fc.constantFrom(...STATUSES),
        statusCode: fc.constantFrom(202, 409, 400, 413, 503),
        orderId: fc.option(fc.constantFrom(...IDS), { nil: undefined }),
        idempotencyKey: fc.option(fc.constantFrom(...IDS), { nil: undefined }),
      }),
      { maxLength: 12 },
    );
    const filters = fc.record(
      {
        status: fc.constantFrom(...STATUSES),
        outcome: fc.constantFrom(...OUTCOMES),
        search: fc.constantFrom(...IDS, 'run-0', 'run-1', 'absent'),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(executions, filters, (recorded, filter: ExecutionFilter) => {
        const store = new ConsoleStore(':memory:');
        try {
          recorded.forEach(({ status, statusCode, ...ids }, index) =>
            store.recordExecution(execution(`run-${index}`, status, statusCode, ids)),
          );
          const listed = new Set(store.executions({ ...filter, limit: 1_000 }).map((summary) => summary.name));
          for (const summary of store.executions({ limit: 1_000 })) {
            expect([summary.name, matchesFilter(summary, filter)]).toEqual([summary.name, listed.has(summary.name)]);
          }
        } finally {
          store.close();
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('the live list over HTTP', () => {
  let folder: string;
  let store: ConsoleStore;
  let events: DatabaseSync;
  let routes: LocalRoutes;
  let opsConsole: OpsConsole;
  /** The routes again, with other limits. */
  const withLimits = (limits: LiveLimits): void => {
    routes.close();
    routes = consoleRoutes(opsConsole, limits);
  };
  let server: Server;
  let port: number;
  const streams: IncomingMessage[] = [];

  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), 'console-live-'));
    store = new ConsoleStore(':memory:');
    events = openEventsDatabase(':memory:');
    opsConsole = testOpsConsole(store, events, { archiveDir: join(folder, 'archive') });
    routes = consoleRoutes(opsConsole);
    server = createServer((request, response) => {
      if (!routes.serve(request, response)) response.writeHead(404).end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  afterEach(async () => {
    for (const stream of streams.splice(0)) stream.destroy();
    routes.close();
    server.closeAllConnections();
    server.close();
    store.close();
    events.close();
    await rm(folder, { recursive: true, force: true });
  });

  /** Opens the live list; `names()` are the executions streamed to it so far, in order. */
  const openLive = async (query: string, host = `localhost:${port}`) => {
    const request = get({ host: '127.0.0.1', port, path: `/console/live${query}`, headers: { host } });
    const [response] = (await once(request, 'response')) as [IncomingMessage];
    streams.push(response);
    let text = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => (text += chunk));
    await eventually('the stream is open', () => response.statusCode !== 200 || text.includes(': live'));
    const names = (): string[] =>
      [...text.matchAll(/^data: (.*)$/gm)].map((match) => (JSON.parse(match[1] ?? '{}') as { name: string }).name);
    return { status: response.statusCode, contentType: response.headers['content-type'], names, text: () => text };
  };

  it('streams only the executions its filter selects, and an unfiltered list all of them', async () => {
    const duplicates = await openLive('?outcome=duplicate');
    const ofOrderA = await openLive('?q=A');
    const all = await openLive('');

    store.recordExecution(execution('accepted-A', 'SUCCEEDED', 202, { orderId: 'A' }));
    store.recordExecution(execution('duplicate-B', 'SUCCEEDED', 409, { idempotencyKey: 'B' }));
    store.recordExecution(execution('failed', 'FAILED', 0));
    store.recordExecution(execution('duplicate-A', 'SUCCEEDED', 409, { idempotencyKey: 'A' }));
    // Everything recorded before it is streamed before it.
    await eventually('every stream has the last execution', () =>
      [duplicates, ofOrderA, all].every((stream) => stream.names().includes('duplicate-A')),
    );

    expect(duplicates.contentType).toBe('text/event-stream; charset=utf-8');
    expect(duplicates.names()).toEqual(['duplicate-B', 'duplicate-A']);
    expect(ofOrderA.names()).toEqual(['accepted-A', 'duplicate-A']);
    expect(all.names()).toEqual(['accepted-A', 'duplicate-B', 'failed', 'duplicate-A']);
  });

  it('opens no stream for a page on another host', async () => {
    const foreign = await openLive('', 'attacker.example:80');
    store.recordExecution(execution('accepted-A', 'SUCCEEDED', 202, { orderId: 'A' }));

    expect(foreign.status).toBe(403);
    expect(foreign.contentType).not.toMatch(/event-stream/);
  });

  it('refuses a stream past the cap with 503 and Retry-After, and takes one again once a stream closes', async () => {
    expect(LIVE_LIMITS.maxStreams).toBeGreaterThanOrEqual(8);
    withLimits({ ...LIVE_LIMITS, maxStreams: 2 });
    await openLive('');
    await openLive('?q=A');
    const refused = await openLive('?q=B');
    expect(refused.status).toBe(503);

    streams[0]?.destroy();
    await eventually('a stream is open again', async () => (await openLive('')).status === 200);
  });

  it('drops a stream whose reader does not keep up, and keeps the others', async () => {
    withLimits({ ...LIVE_LIMITS, maxBufferedBytes: 64 * 1024 });
    const slow = await openLive('');
    const reading = await openLive('');
    // The slow reader stops reading: the kernel's socket buffers fill (a few MB), then the server's own.
    streams[0]?.pause();
    const padding = 'x'.repeat(32 * 1024);
    const recorded = 400;
    for (let i = 0; i < recorded; i += 1) {
      store.recordExecution(execution(`run-${i}-${padding}`, 'SUCCEEDED', 202, { orderId: 'A' }));
      // A turn of the event loop after each, so that the stream that reads keeps up (its reader is this process too).
      await new Promise((wake) => setImmediate(wake));
    }
    await eventually('the reading stream has them all', () => reading.names().length === recorded, {
      timeoutMs: 30_000,
    });
    // A paused reader sees its stream's end only once it reads again.
    let ended = false;
    streams[0]?.once('close', () => (ended = true)).resume();
    await eventually('the slow reader was dropped', () => ended);
    // Cut off mid-event: what it got whole is less than what was recorded.
    expect(slow.text().match(/^data: .*\n\n/gm)?.length ?? 0).toBeLessThan(recorded);
    store.recordExecution(execution('after', 'SUCCEEDED', 202, { orderId: 'A' }));
    await eventually('the reading stream still gets new ones', () => reading.names().includes('after'));
  }, 60_000);
});
