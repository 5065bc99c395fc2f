import { afterEach, describe, expect, it } from '@jest/globals';
import { Logger } from '@aws-lambda-powertools/logger';
import { EventBridgeClient, EventBridgeServiceException, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { ulid } from 'ulid';
import { createPublishHandler } from '../../lambdas/publish/handler.js';
import { EventBridgePublisher } from '../../lambdas/publish/eventbridge-publisher.js';
import type { OrderDocument } from '../../src/contract/order.js';
import {
  ORDER_ACCEPTED_DETAIL_TYPE,
  ORDER_EVENT_SOURCE,
  orderAcceptedDetail,
} from '../../src/events/order-accepted.js';
import { clientKeyItemKey, idempotencyLockKey, orderKey } from '../../src/store/orders-table.js';
import { validOrder } from '../support/order-samples.js';

const BUS = 'order-intake-test';
const silent = new Logger({ serviceName: 'order-intake-test', logLevel: 'SILENT' });

let sequence = 100;
const streamRecord = (
  eventName: DynamoDBRecord['eventName'],
  item: Record<string, unknown> | undefined,
): DynamoDBRecord => {
  sequence += 1;
  return {
    eventID: `event-${sequence}`,
    eventName,
    eventSource: 'aws:dynamodb',
    awsRegion: 'eu-west-1',
    dynamodb: {
      SequenceNumber: String(sequence),
      StreamViewType: 'NEW_IMAGE',
      ...(item ? { NewImage: marshall(item) as NonNullable<DynamoDBRecord['dynamodb']>['NewImage'] } : {}),
    },
  };
};

const orderDocument = () => ({
  orderId: ulid(),
  status: 'ACCEPTED',
  acceptedAt: new Date().toISOString(),
  idempotencyKey: 'b'.repeat(64),
  ...validOrder,
});

/** An ORDER# item as the workflow's Persist state writes it. */
const orderItem = (document = orderDocument()) => ({
  pk: orderKey(document.orderId),
  orderId: document.orderId,
  idempotencyKey: document.idempotencyKey,
  acceptedAt: document.acceptedAt,
  document: JSON.stringify(document),
});

const orderInserts = (count: number): DynamoDBRecord[] =>
  Array.from({ length: count }, () => streamRecord('INSERT', orderItem()));
const streamEvent = (records: DynamoDBRecord[]): DynamoDBStreamEvent => ({ Records: records });
const sequenceOf = (record: DynamoDBRecord | undefined): string => String(record?.dynamodb?.SequenceNumber);
/** The detail the relay must publish for a record: the stored document with its event schema version. */
const detailOf = (record: DynamoDBRecord | undefined): string =>
  JSON.stringify(orderAcceptedDetail(JSON.parse(String(record?.dynamodb?.NewImage?.document?.S)) as OrderDocument));

const eventBridge = mockClient(EventBridgeClient);
/** PutEvents that accepts every entry. */
const acceptAll = (input: { Entries?: PutEventsRequestEntry[] }) => ({
  FailedEntryCount: 0,
  Entries: (input.Entries ?? []).map(() => ({ EventId: ulid() })),
});

function relay() {
  const pauses: number[] = [];
  const handle = createPublishHandler({
    eventBusName: BUS,
    publisher: new EventBridgePublisher(new EventBridgeClient({})),
    logger: silent,
    sleep: async (ms) => {
      pauses.push(ms);
    },
  });
  return { handle, pauses };
}

const sentEntries = (): PutEventsRequestEntry[][] =>
  eventBridge.commandCalls(PutEventsCommand).map((call) => call.args[0].input.Entries ?? []);

afterEach(() => {
  eventBridge.reset();
});

describe('the outbox relay', () => {
  it('publishes OrderAccepted for 25 new orders in 3 calls of at most 10, in stream order', async () => {
    eventBridge.on(PutEventsCommand).callsFake(acceptAll);
    const records = orderInserts(25);

    const response = await relay().handle(streamEvent(records));

    expect(response.batchItemFailures).toEqual([]);
    expect(sentEntries().map((entries) => entries.length)).toEqual([10, 10, 5]);
    const entries = sentEntries().flat();
    expect(entries.map((entry) => entry.Detail)).toEqual(records.map(detailOf));
    for (const entry of entries) {
      expect(entry).toMatchObject({
        EventBusName: BUS,
        Source: ORDER_EVENT_SOURCE,
        DetailType: ORDER_ACCEPTED_DETAIL_TYPE,
      });
    }
  });

  it('ignores updates, deletions, idempotency locks and client key items', async () => {
    eventBridge.on(PutEventsCommand).callsFake(acceptAll);
    const order = orderItem();
    const lock = { pk: idempotencyLockKey('c'.repeat(64)), orderId: order.orderId, expiresAt: 1_800_000_000 };
    const clientKey = {
      pk: clientKeyItemKey('', 'k-1'),
      clientKey: 'k-1',
      idempotencyKey: 'c'.repeat(64),
      orderId: order.orderId,
      acceptedAt: order.acceptedAt,
      expiresAt: 1_800_000_000,
    };

    const response = await relay().handle(
      streamEvent([
        streamRecord('INSERT', lock),
        streamRecord('INSERT', clientKey),
        streamRecord('MODIFY', order),
        streamRecord('REMOVE', undefined),
        streamRecord('REMOVE', lock),
      ]),
    );

    expect(response.batchItemFailures).toEqual([]);
    expect(eventBridge).not.toHaveReceivedCommand(PutEventsCommand);
  });

  it('retries only the entries that failed, after a short backoff', async () => {
    const records = orderInserts(3);
    eventBridge
      .on(PutEventsCommand)
      .resolvesOnce({
        FailedEntryCount: 1,
        Entries: [{ EventId: 'e-1' }, { ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }, { EventId: 'e-3' }],
      })
      .callsFake(acceptAll);
    const { handle, pauses } = relay();

    const response = await handle(streamEvent(records));

    expect(response.batchItemFailures).toEqual([]);
    expect(sentEntries().map((entries) => entries.map((entry) => entry.Detail))).toEqual([
      records.map(detailOf),
      [detailOf(records[1])],
    ]);
    expect(pauses).toEqual([100]);
  });

  it('reports entries that keep failing as batch item failures after a bounded number of attempts', async () => {
    const records = orderInserts(12);
    eventBridge.on(PutEventsCommand).callsFake((input: { Entries?: PutEventsRequestEntry[] }) => {
      const entries = input.Entries ?? [];
      const results = entries.map((entry) =>
        entry.Detail === detailOf(records[4]) || entry.Detail === detailOf(records[11])
          ? { ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' }
          : { EventId: ulid() },
      );
      return { FailedEntryCount: results.filter((result) => 'ErrorCode' in result).length, Entries: results };
    });
    const { handle, pauses } = relay();

    const response = await handle(streamEvent(records));

    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: sequenceOf(records[4]) },
      { itemIdentifier: sequenceOf(records[11]) },
    ]);
    // Two chunks (10 + 2), each tried three times; the retries carry only the failing entry.
    expect(sentEntries().map((entries) => entries.length)).toEqual([10, 1, 1, 2, 1, 1]);
    expect(pauses).toEqual([100, 200, 100, 200]);
  });

  it('retries a call that failed as a whole, then reports all of its records', async () => {
    eventBridge
      .on(PutEventsCommand)
      .rejects(new EventBridgeServiceException({ name: 'InternalException', $fault: 'server', $metadata: {} }));
    const records = orderInserts(2);

    const response = await relay().handle(streamEvent(records));

    expect(response.batchItemFailures).toEqual(records.map((record) => ({ itemIdentifier: sequenceOf(record) })));
    expect(eventBridge).toHaveReceivedCommandTimes(PutEventsCommand, 3);
  });

  it('does not retry an entry refused for good, and reports it', async () => {
    eventBridge.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' }],
    });
    const [record] = orderInserts(1);

    const response = await relay().handle(streamEvent([record as DynamoDBRecord]));

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: sequenceOf(record) }]);
    expect(eventBridge).toHaveReceivedCommandTimes(PutEventsCommand, 1);
  });

  it('reports an order item whose document is not an order, and publishes the others', async () => {
    eventBridge.on(PutEventsCommand).callsFake(acceptAll);
    const broken = streamRecord('INSERT', { ...orderItem(), document: '{"orderId": ' });
    const good = orderInserts(1);

    const response = await relay().handle(streamEvent([broken, ...good]));

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: sequenceOf(broken) }]);
    expect(
      sentEntries()
        .flat()
        .map((entry) => entry.Detail),
    ).toEqual(good.map(detailOf));
  });
});
