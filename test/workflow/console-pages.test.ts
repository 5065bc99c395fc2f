/**
 * The ops console's pages over real executions of the workflow (DynamoDB Local): a hostile body, rejected, is
 * recorded and shown as text on its execution page; an accepted order's page reads its items back from the table;
 * the history export is GetExecutionHistory's shape.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { HistoryEventType } from '@aws-sdk/client-sfn';
import { loadOrderIntakeDefinition } from '../../asl/order-intake.js';
import { createOpsConsole, type OpsConsole, type OpsConsoleOptions } from '../../local/console/console-routes.js';
import { ConsoleStore } from '../../local/console/console-store.js';
import { openEventsDatabase } from '../../local/eventbridge/events-database.js';
import { recordingWorkflow } from '../support/recording-workflow.js';
import { freshOrdersTable, testDynamoDbClient } from '../support/dynamodb.js';
import { validOrder, workflowInput } from '../support/order-samples.js';

const HOSTILE = '<script>alert(1)</script>';
const dynamodb = testDynamoDbClient();

let dir: string;
let store: ConsoleStore;
let events: DatabaseSync;
let opsConsole: OpsConsole;
let orderId: string;

const get = (path: string) => {
  const url = new URL(path, 'http://localhost:3000');
  return opsConsole.handle({
    method: 'GET',
    path: url.pathname,
    query: url.searchParams,
    headers: { Host: 'localhost:3000' },
    port: 3000,
  });
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'console-pages-'));
  store = new ConsoleStore(join(dir, 'console.sqlite'));
  events = openEventsDatabase(join(dir, 'events.sqlite'));
  const tableName = await freshOrdersTable(dynamodb);
  const { workflow, resources } = recordingWorkflow(tableName, store);
  const hostileBody = JSON.stringify({ customerId: HOSTILE, items: [{ sku: HOSTILE, quantity: 1 }] });
  await workflow.startSyncExecution(workflowInput(hostileBody, 'req-hostile'), 'req-hostile');
  await workflow.startSyncExecution(workflowInput(JSON.stringify(validOrder), 'req-accepted'), 'req-accepted');
  orderId = store.summary('req-accepted')?.orderId ?? '';
  opsConsole = createOpsConsole({
    store,
    events,
    dynamodb,
    tableName,
    archiveDir: join(dir, 'archive'),
    definition: loadOrderIntakeDefinition(resources) as OpsConsoleOptions['definition'],
    redriveDeadLetter: async () => ({ outcome: 'not-found', detail: '' }),
    ruleNames: ['archive'],
    hosts: 'loopback',
  });
});

afterAll(async () => {
  store.close();
  events.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the console over real executions', () => {
  it('shows a rejected hostile body as text on its execution page', async () => {
    const page = await get('/console/executions/req-hostile');
    expect(page.status).toBe(200);
    expect(page.body).toContain('rejected');
    expect(page.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page.body).not.toMatch(/<script>alert/);
    const list = await get('/console?outcome=rejected');
    expect(list.body).toContain('href="/console/executions/req-hostile"');
  });

  it('shows an accepted order with its path and both items, read from the table', async () => {
    const page = await get(`/console/orders/${orderId}`);
    expect(page.status).toBe(200);
    expect(page.body).toContain(`item ORDER#${orderId} stored`);
    expect(page.body).toMatch(/item IDEMPOTENCY#[0-9a-f]{64} stored; expires at/);
    expect(page.body).toMatch(/<li>Persist<\/li>\s*<li>IsFastPathOn<\/li>\s*<li>Publish<\/li>/);
  });

  it('exports the execution history with the Task resources of the definition', async () => {
    const answer = await get('/console/executions/req-accepted/history.json');
    const { events: history } = JSON.parse(answer.body) as { events: { type: string; id: number }[] };
    const known = new Set<string>(Object.values(HistoryEventType));
    expect(history.filter((event) => !known.has(event.type))).toEqual([]);
    expect(history[0]).toMatchObject({ type: 'ExecutionStarted', id: 1, previousEventId: 0 });
    expect(history.at(-1)).toMatchObject({ type: 'ExecutionSucceeded' });
    expect(history.filter((event) => event.type === 'TaskScheduled')).toHaveLength(3);
  });
});
