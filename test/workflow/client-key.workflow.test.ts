/**
 * The client's Idempotency-Key, rule by rule, on the real ASL against DynamoDB Local. Validate's clock is a fake one:
 * the windows (the payload lock's 15 s, the key's retention) are the subject, and DynamoDB Local deletes nothing by
 * TTL, so the expiry checks in the conditions and reads are what decide.
 */
import { afterAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ScanCommand, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { createOrderWorkflow } from '../../local/stepfunctions/order-workflow.js';
import type { Caller } from '../../src/client-key.js';
import { CLIENT_KEY_RETENTION_HOURS } from '../../src/deployed-settings.js';
import { clientKeyItemKey } from '../../src/store/orders-table.js';
import { freshOrdersTable, testDynamoDbClient } from '../support/dynamodb.js';
import { deployedAuthorizers } from '../support/iam.js';
import { validOrder, workflowInput } from '../support/order-samples.js';
import { RecordingBus } from '../support/recording-bus.js';
import { validateHandlerOn } from '../support/validate.js';

const VALIDATE_ARN = 'arn:aws:lambda:local:000000000000:function:order-intake-validate';
const PROBLEMS = 'https://order-intake.example.com/problems/';
const KEY = '8e03978e-40d5-43e8-bc93-6894a57f9324';
const CALLER: Caller = {
  accountId: '123456789012',
  userArn: 'arn:aws:sts::123456789012:assumed-role/Checkout/session-1',
};
const START = Date.parse('2026-12-07T03:00:00.000Z');
const dynamodb = testDynamoDbClient();

interface Answer {
  statusCode: number;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

let tableName: string;
let now: number;
beforeEach(async () => {
  tableName = await freshOrdersTable(dynamodb);
  now = START;
});
afterAll(() => dynamodb.destroy());

/** A workflow whose Validate reads the fake clock; each call is one POST, with the header's value or without it. */
function service(client: DynamoDBClient = dynamodb, bus = new RecordingBus()) {
  const workflow = createOrderWorkflow({
    resources: { ValidateFunctionArn: VALIDATE_ARN, OrdersTableName: tableName, EventBusName: 'order-intake-test' },
    backends: {
      dynamodb: client,
      bus,
      functions: { [VALIDATE_ARN]: validateHandlerOn(tableName, { clock: () => new Date(now) }) },
      iam: deployedAuthorizers({ tableName, busName: 'order-intake-test', validateFunctionArn: VALIDATE_ARN }).workflow,
    },
    retryIntervalMs: 0,
  });
  let requests = 0;
  const post = async (body: object, header?: string, caller: Caller = CALLER): Promise<Answer> => {
    requests += 1;
    const requestId = `req-${requests}`;
    const input = {
      ...workflowInput(JSON.stringify(body), requestId),
      caller,
      ...(header === undefined ? {} : { clientKey: Buffer.from(header, 'latin1').toString('base64') }),
    };
    const execution = await workflow.startSyncExecution(input, requestId);
    expect(execution.status).toBe('SUCCEEDED');
    const output = JSON.parse(execution.output ?? 'null') as {
      statusCode: number;
      headers: Record<string, string>;
      body: string;
    };
    return { ...output, body: JSON.parse(output.body) as Record<string, unknown> };
  };
  return { post, bus };
}

async function items(prefix: string): Promise<Record<string, unknown>[]> {
  const { Items = [] } = await dynamodb.send(new ScanCommand({ TableName: tableName, ConsistentRead: true }));
  return Items.map((item) => unmarshall(item)).filter((item) => String(item.pk).startsWith(prefix));
}

const otherOrder = { ...validOrder, clientReference: 'another-basket' };
const seconds = (count: number): number => count * 1000;

describe('the same key and payload', () => {
  it('stores the key beside the lock and the order, then replays the first 202 within 15 s: same body, Location, Idempotent-Replayed', async () => {
    const { post, bus } = service();
    const first = await post(validOrder, `"${KEY}"`);
    expect(first.statusCode).toBe(202);
    expect(first.headers).not.toHaveProperty('Idempotent-Replayed');
    const orderId = String(first.body.orderId);

    const [keyItem] = await items('CLIENTKEY#');
    expect(keyItem).toEqual({
      pk: clientKeyItemKey('arn:aws:sts::123456789012:assumed-role/Checkout', KEY),
      clientKey: KEY,
      idempotencyKey: first.body.idempotencyKey,
      orderId,
      acceptedAt: first.body.acceptedAt,
      expiresAt: Math.floor(START / 1000) + CLIENT_KEY_RETENTION_HOURS.default * 3600,
    });
    expect((await items('ORDER#'))[0]).toMatchObject({ orderId, clientKey: KEY });

    now += seconds(3);
    const replay = await post(validOrder, KEY);
    expect(replay).toEqual({
      statusCode: 202,
      headers: { 'Content-Type': 'application/json', Location: `/orders/${orderId}`, 'Idempotent-Replayed': 'true' },
      body: first.body,
    });
    expect(await items('ORDER#')).toHaveLength(1);
    expect(bus.accepted).toHaveLength(1);
  });

  it('replays after the 15 s payload window too, from another session of the same role', async () => {
    const { post, bus } = service();
    const first = await post(validOrder, KEY);
    now += seconds(20);
    const replay = await post(validOrder, KEY, {
      ...CALLER,
      userArn: `${CALLER.userArn.replace(/session-1$/, '')}session-2`,
    });
    expect(replay.statusCode).toBe(202);
    expect(replay.headers['Idempotent-Replayed']).toBe('true');
    expect(replay.body).toEqual(first.body);
    expect(await items('ORDER#')).toHaveLength(1);
    expect(bus.accepted).toHaveLength(1);
  });

  it('is a new order after the key’s retention, as documented', async () => {
    const { post } = service();
    const first = await post(validOrder, KEY);
    now += seconds(CLIENT_KEY_RETENTION_HOURS.default * 3600 + 1);
    const later = await post(validOrder, KEY);
    expect(later.statusCode).toBe(202);
    expect(later.headers).not.toHaveProperty('Idempotent-Replayed');
    expect(later.body.orderId).not.toBe(first.body.orderId);
    expect(await items('ORDER#')).toHaveLength(2);
    expect((await items('CLIENTKEY#')).map((item) => item.orderId)).toEqual([later.body.orderId]);
  });

  it('is the caller’s own: another role’s same key is its own order', async () => {
    const { post } = service();
    const first = await post(validOrder, KEY);
    now += seconds(20);
    const other = await post(validOrder, KEY, {
      ...CALLER,
      userArn: 'arn:aws:sts::123456789012:assumed-role/Mobile/s',
    });
    expect(other.statusCode).toBe(202);
    expect(other.headers).not.toHaveProperty('Idempotent-Replayed');
    expect(other.body.orderId).not.toBe(first.body.orderId);
  });
});

describe('the same key with another payload', () => {
  it('is refused 422 idempotency-key-reused, within the payload window and after it, storing nothing', async () => {
    const { post } = service();
    await post(validOrder, KEY);
    for (const after of [1, 30]) {
      now = START + seconds(after);
      const reused = await post(otherOrder, KEY);
      expect(reused.statusCode).toBe(422);
      expect(reused.headers).toEqual({ 'Content-Type': 'application/problem+json' });
      expect(reused.body).toMatchObject({ type: `${PROBLEMS}idempotency-key-reused`, status: 422 });
      expect(reused.body).not.toHaveProperty('orderId');
    }
    expect(await items('ORDER#')).toHaveLength(1);
  });
});

describe('the payload rule still holds', () => {
  it('a different key with the same payload within 15 s is a duplicate: 409 with the original orderId', async () => {
    const { post } = service();
    const first = await post(validOrder, KEY);
    now += seconds(2);
    const copy = await post(validOrder, 'another-key');
    expect(copy.statusCode).toBe(409);
    expect(copy.body).toMatchObject({ type: `${PROBLEMS}duplicate-order`, orderId: first.body.orderId });
    expect(await items('CLIENTKEY#')).toHaveLength(1);
  });

  it('without the header nothing changes: no key item, and a copy within 15 s is a 409', async () => {
    const { post } = service();
    const first = await post(validOrder);
    const copy = await post(validOrder);
    expect(copy).toMatchObject({ statusCode: 409, body: { orderId: first.body.orderId } });
    expect(copy.headers).not.toHaveProperty('Idempotent-Replayed');
    expect(await items('CLIENTKEY#')).toEqual([]);
  });
});

/** DynamoDB Local runs transactions one at a time; AWS cancels one that conflicts with another in flight. */
const conflict = () =>
  Object.assign(new TransactionCanceledException({ message: 'Transaction cancelled', $metadata: {} }), {
    CancellationReasons: [{ Code: 'TransactionConflict' }, { Code: 'None' }, { Code: 'None' }],
  });

/** The first `times` TransactWriteItems fail as AWS fails a transaction that conflicts with one in flight. */
function conflictingFirst(client: DynamoDBClient, times: number): { calls: number } {
  const counter = { calls: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'TransactWriteItemsCommand') return next(args);
      counter.calls += 1;
      if (counter.calls <= times) throw conflict();
      return next(args);
    },
    { step: 'initialize', name: 'conflictingFirst' },
  );
  return counter;
}

describe('a copy while the first is still running', () => {
  it('answers 409 request-in-progress with Retry-After and no orderId once its attempts are used up; the retry is accepted', async () => {
    const client = testDynamoDbClient();
    const conflicts = conflictingFirst(client, 3);
    const { post } = service(client);
    const busy = await post(validOrder, KEY);
    expect(conflicts.calls).toBe(3);
    expect(busy).toEqual({
      statusCode: 409,
      headers: { 'Content-Type': 'application/problem+json', 'Retry-After': '1' },
      body: expect.objectContaining({ type: `${PROBLEMS}request-in-progress`, status: 409, requestId: 'req-1' }),
    });
    expect(busy.body).not.toHaveProperty('orderId');
    expect(await items('')).toEqual([]);

    const retry = await post(validOrder, KEY);
    expect(retry.statusCode).toBe(202);
    expect(await items('ORDER#')).toHaveLength(1);
    client.destroy();
  });

  it('without a key the same cancellations are still a 503', async () => {
    const client = testDynamoDbClient();
    conflictingFirst(client, 3);
    const answer = await service(client).post(validOrder);
    expect(answer.statusCode).toBe(503);
    expect(answer.body).toMatchObject({ type: `${PROBLEMS}service-unavailable` });
    client.destroy();
  });

  it('50 concurrent POSTs of one key and payload, conflicting as in AWS, store exactly one order; every answer names it', async () => {
    const client = testDynamoDbClient();
    // Every first and second attempt, and some third ones, conflict, as transactions in flight together do in AWS.
    conflictingFirst(client, 120);
    const { post, bus } = service(client);
    const answers = await Promise.all(Array.from({ length: 50 }, () => post(validOrder, KEY)));

    const orders = await items('ORDER#');
    expect(orders).toHaveLength(1);
    const orderId = orders[0]?.orderId;
    const statuses = answers.map((answer) => answer.statusCode);
    expect(statuses.every((status) => [202, 409, 503].includes(status))).toBe(true);
    for (const answer of answers) {
      if (answer.body.orderId !== undefined) expect(answer.body.orderId).toBe(orderId);
      if (answer.statusCode === 202) expect(answer.headers.Location).toBe(`/orders/${String(orderId)}`);
    }
    const replays = answers.filter((answer) => answer.headers['Idempotent-Replayed'] === 'true');
    const inProgress = answers.filter((answer) => answer.body.type === `${PROBLEMS}request-in-progress`);
    // The key is read after the lock, so a copy never answers with the lock's 409 for its own key's order.
    const kinds = answers.map((answer) =>
      answer.statusCode === 202 ? '202' : `${answer.statusCode} ${String(answer.body.type).replace(PROBLEMS, '')}`,
    );
    expect(
      kinds.filter((kind) => !['202', '409 request-in-progress', '503 service-unavailable'].includes(kind)),
    ).toEqual([]);
    expect(replays.length).toBeGreaterThan(0);
    // How many use up their attempts depends on when the one commit lands; the single-request test above holds the 409.
    expect(inProgress.every((answer) => answer.headers['Retry-After'] === '1')).toBe(true);
    expect(bus.accepted).toHaveLength(1);
    client.destroy();
  });
});
