import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { validateHandlerOn } from '../support/validate.js';
import { createOrderWorkflow } from '../../local/stepfunctions/order-workflow.js';
import { archiveKeyOf } from '../../src/archive/archive-order.js';
import type { OrderDocument } from '../../src/contract/order.js';
import {
  ORDER_ACCEPTED_DETAIL_TYPE,
  ORDER_EVENT_SOURCE,
  orderAcceptedDetail,
} from '../../src/events/order-accepted.js';
import { freshOrdersTable, testDynamoDbClient } from '../support/dynamodb.js';
import { eventually } from '../support/eventually.js';
import { validOrder, workflowInput } from '../support/order-samples.js';
import { deployedAuthorizers } from '../support/iam.js';
import { startLocalEvents, type LocalEvents } from '../../local/eventbridge/local-events.js';
import { LOCAL_RESOURCES } from '../../local/local-account.js';

const VALIDATE_ARN = 'arn:aws:lambda:local:000000000000:function:order-intake-validate';
const BUS = 'order-intake-test';
const dynamodb = testDynamoDbClient();
const endpoint = (): string => String(process.env.DYNAMODB_LOCAL_ENDPOINT);

let dataDir: string;
let tableName: string;
let logs: Record<string, unknown>[];
let events: LocalEvents | undefined;
const iamFor = () => {
  const names = { ...LOCAL_RESOURCES, tableName, busName: BUS, validateFunctionArn: VALIDATE_ARN };
  return { names, authorizers: deployedAuthorizers(names) };
};

const start = async (): Promise<LocalEvents> => {
  events = await startLocalEvents({
    dataDir,
    busName: BUS,
    tableName,
    dynamodbEndpoint: endpoint(),
    archiveBucketName: iamFor().names.archiveBucketName,
    iam: iamFor().authorizers,
    log: (line) => logs.push(line as Record<string, unknown>),
  });
  return events;
};

async function placeOrder(local: LocalEvents, clientReference: string): Promise<OrderDocument> {
  const workflow = createOrderWorkflow({
    resources: { ValidateFunctionArn: VALIDATE_ARN, OrdersTableName: tableName, EventBusName: BUS },
    backends: {
      dynamodb,
      bus: local.bus,
      functions: { [VALIDATE_ARN]: validateHandlerOn(tableName) },
      iam: iamFor().authorizers.workflow,
    },
    retryIntervalMs: 0,
  });
  const execution = await workflow.startSyncExecution(
    workflowInput(JSON.stringify({ ...validOrder, clientReference }), clientReference),
    clientReference,
  );
  const output = JSON.parse(execution.output ?? '{}') as { statusCode: number; body: string };
  expect(output.statusCode).toBe(202);
  return { ...(JSON.parse(output.body) as OrderDocument), ...validOrder, clientReference };
}

const eventsOf = (local: LocalEvents, orderId: string) =>
  local.bus.storedEvents().filter((event) => event.envelope.detail.orderId === orderId);

async function archivedFiles(local: LocalEvents): Promise<string[]> {
  const entries = await readdir(local.archiveDir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(local.archiveDir.length + 1));
}

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'events-outbox-'));
  tableName = await freshOrdersTable(dynamodb);
  logs = [];
});
afterEach(async () => {
  await events?.stop();
  events = undefined;
  await rm(dataDir, { recursive: true, force: true });
});
afterAll(() => {
  dynamodb.destroy();
});

describe('OrderAccepted', () => {
  it('reaches the bus from the workflow and from the stream relay, and is archived exactly once', async () => {
    const local = await start();
    const order = await placeOrder(local, 'both-paths');

    // The workflow's own PutEvents has stored it before the execution answered.
    expect(eventsOf(local, order.orderId).length).toBeGreaterThanOrEqual(1);
    await eventually('the relay publishes it too', () => eventsOf(local, order.orderId).length === 2);
    await eventually('the archive rule delivers both', () => local.archiveBacklog() === 0);

    for (const { envelope } of eventsOf(local, order.orderId)) {
      expect(envelope).toMatchObject({ source: ORDER_EVENT_SOURCE, 'detail-type': ORDER_ACCEPTED_DETAIL_TYPE });
      expect(envelope.detail).toEqual(orderAcceptedDetail(order));
    }
    const key = archiveKeyOf(order);
    expect(await archivedFiles(local)).toEqual([key]);
    expect(JSON.parse(await readFile(join(local.archiveDir, key), 'utf8'))).toEqual(orderAcceptedDetail(order));
    expect(logs).toEqual([]);
  });

  it('still arrives through the relay when the bus was down during the request', async () => {
    const local = await start();
    local.setBusAvailable(false);

    const order = await placeOrder(local, 'bus-down');
    expect(eventsOf(local, order.orderId)).toEqual([]);
    await eventually('the relay has tried and failed', () =>
      logs.some((line) => line.message === 'stream relay failing, retrying'),
    );
    expect(eventsOf(local, order.orderId)).toEqual([]);

    local.setBusAvailable(true);
    await eventually('the relay publishes it', () => eventsOf(local, order.orderId).length === 1);
    await eventually('the archive rule delivers it', () => local.archiveBacklog() === 0);
    expect(await archivedFiles(local)).toEqual([archiveKeyOf(order)]);
    // The relay logs its recovery after its checkpoint's sync; a stop waits for that turn of its loop.
    await local.stop();
    expect(logs.map((line) => line.message)).toEqual(['stream relay failing, retrying', 'stream relay recovered']);
  });

  it('is not relayed again after a restart, and orders placed after it are', async () => {
    let local = await start();
    const before = await placeOrder(local, 'before-restart');
    await eventually('both paths publish it', () => eventsOf(local, before.orderId).length === 2);
    await local.stop();

    local = await start();
    const after = await placeOrder(local, 'after-restart');
    // The relay reads the stream in order: once the later order is relayed, a replay would already show.
    await eventually('both paths publish the later order', () => eventsOf(local, after.orderId).length === 2);
    expect(eventsOf(local, before.orderId)).toHaveLength(2);
    await eventually('the archive rule catches up', () => local.archiveBacklog() === 0);
    expect((await archivedFiles(local)).sort()).toEqual([archiveKeyOf(before), archiveKeyOf(after)].sort());
  });
});
