import { afterAll, afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import {
  DynamoDBClient,
  GetItemCommand,
  ScanCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { ProvisionedThroughputExceededException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { validateHandlerOn } from '../support/validate.js';
import { createOrderWorkflow, type SyncExecutionResult } from '../../local/stepfunctions/order-workflow.js';
import type { EventPublisher } from '../../src/events/event-publisher.js';
import { ORDER_ID_PATTERN, type OrderDocument } from '../../src/contract/order.js';
import {
  ORDER_ACCEPTED_DETAIL_TYPE,
  ORDER_EVENT_SOURCE,
  orderAcceptedDetail,
} from '../../src/events/order-accepted.js';
import {
  afterLosingAnswers,
  freshOrdersTable,
  testDynamoDbClient,
  unreachableDynamoDbClient,
} from '../support/dynamodb.js';
import { validOrder, workflowInput } from '../support/order-samples.js';
import { deployedAuthorizers } from '../support/iam.js';
import { RecordingBus } from '../support/recording-bus.js';

const iamFor = (tableName: string) =>
  deployedAuthorizers({ tableName, busName: 'order-intake-test', validateFunctionArn: VALIDATE_ARN }).workflow;

const VALIDATE_ARN = 'arn:aws:lambda:local:000000000000:function:order-intake-validate';
const dynamodb = testDynamoDbClient();

interface Response {
  statusCode: number;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

function workflowOn(tableName: string, bus: EventPublisher, client: DynamoDBClient = dynamodb) {
  const workflow = createOrderWorkflow({
    resources: { ValidateFunctionArn: VALIDATE_ARN, OrdersTableName: tableName, EventBusName: 'order-intake-test' },
    backends: {
      dynamodb: client,
      bus,
      functions: { [VALIDATE_ARN]: validateHandlerOn(tableName) },
      iam: iamFor(tableName),
    },
    retryIntervalMs: 0,
  });
  let executions = 0;
  return async (rawBody: string): Promise<Response & { execution: SyncExecutionResult }> => {
    executions += 1;
    const execution = await workflow.startSyncExecution(
      workflowInput(rawBody, `req-${executions}`),
      `req-${executions}`,
    );
    expect(execution.status).toBe('SUCCEEDED');
    const output = JSON.parse(execution.output ?? 'null') as {
      statusCode: number;
      headers: Record<string, string>;
      body: string;
    };
    return { ...output, body: JSON.parse(output.body) as Record<string, unknown>, execution };
  };
}

/** The first `times` calls of the command fail with `error()` before reaching DynamoDB Local. */
function failingFirst(client: DynamoDBClient, commandName: string, times: number, error: () => Error) {
  const counter = { calls: 0, tokens: [] as unknown[] };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== commandName) return next(args);
      counter.calls += 1;
      counter.tokens.push((args.input as { ClientRequestToken?: string }).ClientRequestToken);
      if (counter.calls <= times) throw error();
      return next(args);
    },
    { step: 'initialize', name: 'failFirst' },
  );
  return counter;
}

async function storedItems(tableName: string): Promise<Record<string, unknown>[]> {
  const { Items = [] } = await dynamodb.send(new ScanCommand({ TableName: tableName, ConsistentRead: true }));
  return Items.map((item) => Object.fromEntries(Object.entries(item).map(([k, v]) => [k, v.S ?? v.N])));
}

const orderItems = async (tableName: string) =>
  (await storedItems(tableName)).filter((item) => String(item.pk).startsWith('ORDER#'));

let tableName: string;
beforeEach(async () => {
  tableName = await freshOrdersTable(dynamodb);
});
afterEach(() => {
  jest.useRealTimers();
});
afterAll(() => {
  dynamodb.destroy();
});

describe('an accepted order', () => {
  it('answers 202 with the receipt, stores lock and order in one go, and publishes OrderAccepted', async () => {
    const bus = new RecordingBus();
    const response = await workflowOn(tableName, bus)(JSON.stringify(validOrder));

    expect(response.statusCode).toBe(202);
    const orderId = String(response.body.orderId);
    expect(response.headers).toEqual({ 'Content-Type': 'application/json', Location: `/orders/${orderId}` });
    expect(response.body).toEqual({
      orderId: expect.stringMatching(ORDER_ID_PATTERN),
      status: 'ACCEPTED',
      acceptedAt: expect.any(String),
      idempotencyKey: expect.stringMatching(/^[0-9a-f]{64}$/),
    });

    const items = await storedItems(tableName);
    const order = items.find((item) => item.pk === `ORDER#${orderId}`);
    const lock = items.find((item) => item.pk === `IDEMPOTENCY#${String(response.body.idempotencyKey)}`);
    expect(JSON.parse(String(order?.document))).toEqual({ ...response.body, ...validOrder });
    expect(lock).toMatchObject({ orderId });
    // Whole epoch seconds, for DynamoDB TTL: a copy is a duplicate for at least 15 s after acceptance.
    const acceptedAtSecond = Math.floor(Date.parse(String(response.body.acceptedAt)) / 1000);
    expect(Number(lock?.expiresAt) - acceptedAtSecond).toBe(15);

    expect(bus.accepted).toHaveLength(1);
    expect(bus.accepted[0]).toMatchObject({
      EventBusName: 'order-intake-test',
      Source: ORDER_EVENT_SOURCE,
      DetailType: ORDER_ACCEPTED_DETAIL_TYPE,
    });
    const stored = { ...response.body, ...validOrder } as unknown as OrderDocument;
    expect(JSON.parse(bus.accepted[0]?.Detail ?? '')).toEqual(orderAcceptedDetail(stored));
  });
});

describe('a rejected order', () => {
  // One case per way Validate rejects (not JSON, contract, size); which fields it names is test/unit/validate-order's.
  const cases: [label: string, body: string, status: number, paths: string[]][] = [
    ['invalid JSON', '{"customerId": ', 400, ['']],
    ['missing fields', '{}', 400, ['/customerId', '/items']],
    ['a body over 1 KB', JSON.stringify({ ...validOrder, clientReference: 'x'.repeat(1100) }), 413, []],
  ];

  it.each(cases.map(([label, body, status, paths]) => ({ label, body, status, paths })))(
    '$label: answers $status, stores nothing, publishes nothing',
    async ({ body, status, paths }) => {
      const bus = new RecordingBus();
      const response = await workflowOn(tableName, bus)(body);

      expect(response.statusCode).toBe(status);
      expect(response.headers['Content-Type']).toBe('application/problem+json');
      expect(response.body.status).toBe(status);
      const errors = (response.body.errors ?? []) as { path: string }[];
      expect(errors.map((error) => error.path)).toEqual(paths);
      expect(await storedItems(tableName)).toEqual([]);
      expect(bus.calls).toBe(0);
    },
  );
});

describe('idempotency', () => {
  it('answers a copy within 15 s with 409 and the original orderId, and stores it once', async () => {
    const execute = workflowOn(tableName, new RecordingBus());
    const first = await execute(JSON.stringify(validOrder));
    // Same payload, other key order and whitespace.
    const copy = await execute(
      JSON.stringify(
        { items: validOrder.items, clientReference: 'web-checkout-42', customerId: 'CUST-7Q2K9M4X' },
        null,
        2,
      ),
    );

    expect(copy.statusCode).toBe(409);
    expect(copy.headers['Content-Type']).toBe('application/problem+json');
    expect(copy.body).toMatchObject({
      status: 409,
      orderId: first.body.orderId,
      idempotencyKey: first.body.idempotencyKey,
    });
    expect(await orderItems(tableName)).toHaveLength(1);
  });

  it('accepts the same payload again once the window has passed, keeping both orders', async () => {
    jest.useFakeTimers({
      doNotFake: [
        'nextTick',
        'setImmediate',
        'clearImmediate',
        'setTimeout',
        'clearTimeout',
        'setInterval',
        'clearInterval',
        'queueMicrotask',
        'hrtime',
        'performance',
      ],
      now: new Date('2026-11-25T10:00:00Z'),
    });
    const execute = workflowOn(tableName, new RecordingBus());
    const first = await execute(JSON.stringify(validOrder));
    jest.setSystemTime(new Date('2026-11-25T10:00:16Z'));
    const second = await execute(JSON.stringify(validOrder));

    expect([first.statusCode, second.statusCode]).toEqual([202, 202]);
    expect(second.body.orderId).not.toBe(first.body.orderId);
    expect(second.body.idempotencyKey).toBe(first.body.idempotencyKey);
    const orders = await orderItems(tableName);
    expect(orders.map((order) => order.orderId).sort()).toEqual([first.body.orderId, second.body.orderId].sort());
  });

  it('accepts exactly one of 20 identical concurrent requests; the others get 409 with its orderId', async () => {
    const bus = new RecordingBus();
    const execute = workflowOn(tableName, bus);
    const responses = await Promise.all(Array.from({ length: 20 }, () => execute(JSON.stringify(validOrder))));

    const accepted = responses.filter((response) => response.statusCode === 202);
    const duplicates = responses.filter((response) => response.statusCode === 409);
    expect(accepted).toHaveLength(1);
    expect(duplicates).toHaveLength(19);
    expect(new Set(duplicates.map((response) => response.body.orderId))).toEqual(new Set([accepted[0]?.body.orderId]));
    expect(await orderItems(tableName)).toHaveLength(1);
    expect(bus.accepted).toHaveLength(1);
  });
});

describe('failures', () => {
  it.each(['throws', 'failed-entries'] as const)(
    'PutEvents failing on every attempt (%s) still answers 202 with the order stored',
    async (failure) => {
      const bus = new RecordingBus(failure);
      const response = await workflowOn(tableName, bus)(JSON.stringify(validOrder));

      expect(response.statusCode).toBe(202);
      expect(bus.calls).toBe(2); // one brief retry
      expect((await orderItems(tableName)).map((order) => order.orderId)).toEqual([response.body.orderId]);
    },
  );

  it('with the fast path OFF, the workflow answers 202 and leaves publishing to the stream relay', async () => {
    const bus = new RecordingBus();
    const workflow = createOrderWorkflow({
      resources: { ValidateFunctionArn: VALIDATE_ARN, OrdersTableName: tableName, EventBusName: 'order-intake-test' },
      settings: { PublishFastPath: 'OFF' },
      backends: { dynamodb, bus, functions: { [VALIDATE_ARN]: validateHandlerOn(tableName) }, iam: iamFor(tableName) },
    });
    const execution = await workflow.startSyncExecution(workflowInput(JSON.stringify(validOrder)), 'req-off');
    const output = JSON.parse(execution.output ?? '{}') as { statusCode: number; body: string };

    expect(output.statusCode).toBe(202);
    expect(bus.calls).toBe(0);
    expect((await orderItems(tableName)).map((order) => order.orderId)).toEqual([JSON.parse(output.body).orderId]);
  });

  it('a store that cannot be reached answers 503 with Retry-After and stores nothing', async () => {
    const unreachable = unreachableDynamoDbClient();
    const bus = new RecordingBus();
    const response = await workflowOn(tableName, bus, unreachable)(JSON.stringify(validOrder));

    expect(response.statusCode).toBe(503);
    expect(response.headers).toEqual({ 'Content-Type': 'application/problem+json', 'Retry-After': '1' });
    expect(response.body).toMatchObject({ status: 503, title: 'Service unavailable' });
    expect(await storedItems(tableName)).toEqual([]);
    expect(bus.calls).toBe(0);
    unreachable.destroy();
  });

  it('a write that committed but whose answer was lost is accepted once, not refused', async () => {
    const client = testDynamoDbClient();
    afterLosingAnswers(client, 'TransactWriteItemsCommand', Infinity);
    const bus = new RecordingBus();
    const response = await workflowOn(tableName, bus, client)(JSON.stringify(validOrder));

    expect(response.statusCode).toBe(202);
    expect((await orderItems(tableName)).map((order) => order.orderId)).toEqual([response.body.orderId]);
    expect(bus.accepted).toHaveLength(1);
    client.destroy();
  });

  const conflict = () =>
    Object.assign(new TransactionCanceledException({ message: 'conflict', $metadata: {} }), {
      CancellationReasons: [{ Code: 'TransactionConflict' }, { Code: 'None' }],
    });

  it('a transaction cancelled by a conflict is tried again with a new token, then accepted', async () => {
    const client = testDynamoDbClient();
    const conflicts = failingFirst(client, 'TransactWriteItemsCommand', 1, conflict);
    const response = await workflowOn(tableName, new RecordingBus(), client)(JSON.stringify(validOrder));

    expect(response.statusCode).toBe(202);
    const orderId = String(response.body.orderId);
    expect(conflicts.tokens).toEqual([`${orderId}-1`, `${orderId}-2`]);
    expect(await orderItems(tableName)).toHaveLength(1);
    client.destroy();
  });

  it('a transaction cancelled on every attempt gives up after 3 and answers 503, storing nothing', async () => {
    const client = testDynamoDbClient();
    const conflicts = failingFirst(client, 'TransactWriteItemsCommand', Infinity, conflict);
    const response = await workflowOn(tableName, new RecordingBus(), client)(JSON.stringify(validOrder));

    expect(response.statusCode).toBe(503);
    expect(conflicts.calls).toBe(3);
    expect(await storedItems(tableName)).toEqual([]);
    client.destroy();
  });

  it('a cancelled transaction facing an expired lock of another order tries again and takes the lock', async () => {
    const execute = workflowOn(tableName, new RecordingBus());
    const first = await execute(JSON.stringify(validOrder));
    await dynamodb.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { pk: { S: `IDEMPOTENCY#${String(first.body.idempotencyKey)}` } },
        UpdateExpression: 'SET expiresAt = :past',
        ExpressionAttributeValues: { ':past': { N: '1' } },
      }),
    );
    const client = testDynamoDbClient();
    const conflicts = failingFirst(client, 'TransactWriteItemsCommand', 1, conflict);
    const second = await workflowOn(tableName, new RecordingBus(), client)(JSON.stringify(validOrder));

    expect(second.statusCode).toBe(202);
    expect(conflicts.calls).toBe(2);
    expect(second.body.orderId).not.toBe(first.body.orderId);
    expect(await orderItems(tableName)).toHaveLength(2);
    client.destroy();
  });

  it('a store that is misconfigured (no such table) fails the execution with the error, never a retryable 503', async () => {
    const workflow = createOrderWorkflow({
      resources: {
        ValidateFunctionArn: VALIDATE_ARN,
        OrdersTableName: 'no-such-table',
        EventBusName: 'order-intake-test',
      },
      backends: {
        dynamodb,
        bus: new RecordingBus(),
        functions: { [VALIDATE_ARN]: validateHandlerOn('no-such-table') },
        iam: iamFor('no-such-table'),
      },
      retryIntervalMs: 0,
    });
    const execution = await workflow.startSyncExecution(workflowInput(JSON.stringify(validOrder), 'req-1'), 'req-1');

    // The API's response template answers a FAILED execution 500 with the request id (test/workflow/vtl-api-templates).
    expect(execution).toMatchObject({ status: 'FAILED', error: 'DynamoDb.ResourceNotFoundException' });
    expect(execution.output).toBeUndefined();
  });

  it('a throttled store is retried, then answers 503', async () => {
    const throttled = new DynamoDBClient({ region: 'local' });
    const mock = mockClient(throttled);
    mock
      .on(TransactWriteItemsCommand)
      .rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }));
    mock.on(GetItemCommand).resolves({});

    const response = await workflowOn(tableName, new RecordingBus(), throttled)(JSON.stringify(validOrder));

    expect(response.statusCode).toBe(503);
    expect(mock).toHaveReceivedCommandTimes(TransactWriteItemsCommand, 3);
    // Whether it committed is unknown: the order item is read (absent), then the lock (absent): not accepted.
    expect(mock).toHaveReceivedCommandTimes(GetItemCommand, 2);
  });

  it('a throttled Validate function answers 503 with Retry-After', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'Lambda.TooManyRequestsException' });
    const workflow = createOrderWorkflow({
      resources: { ValidateFunctionArn: VALIDATE_ARN, OrdersTableName: tableName, EventBusName: 'order-intake-test' },
      backends: {
        dynamodb,
        bus: new RecordingBus(),
        functions: { [VALIDATE_ARN]: () => Promise.reject(throttled) },
        iam: iamFor(tableName),
      },
      retryIntervalMs: 0,
    });
    const execution = await workflow.startSyncExecution(
      workflowInput(JSON.stringify(validOrder), 'req-503'),
      'req-503',
    );
    const output = JSON.parse(execution.output ?? '{}') as { statusCode: number; headers: object; body: string };

    expect(output.statusCode).toBe(503);
    expect(output.headers).toEqual({ 'Content-Type': 'application/problem+json', 'Retry-After': '1' });
    expect(await storedItems(tableName)).toEqual([]);
  });

  it('a failing Validate function fails the execution with its error, never 202', async () => {
    const workflow = createOrderWorkflow({
      resources: { ValidateFunctionArn: VALIDATE_ARN, OrdersTableName: tableName, EventBusName: 'order-intake-test' },
      backends: {
        dynamodb,
        bus: new RecordingBus(),
        functions: {
          [VALIDATE_ARN]: async () => {
            throw new TypeError('boom');
          },
        },
        iam: iamFor(tableName),
      },
      retryIntervalMs: 0,
    });
    const execution = await workflow.startSyncExecution(
      workflowInput(JSON.stringify(validOrder), 'req-500'),
      'req-500',
    );

    expect(execution).toMatchObject({ status: 'FAILED', error: 'TypeError' });
    expect(await storedItems(tableName)).toEqual([]);
  });
});
