/**
 * One source of deployed settings (src/deployed-settings.ts): each value is read back from the synthesized template,
 * and the local runtime is run against it, so that what happens locally is what the deployed stack would do — the
 * archive dead-letters on the receive its queue would, the relay gives up a record after the retries and at the age
 * its event source mapping would.
 */
import type { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { Template } from 'aws-cdk-lib/assertions';
import { mockClient } from 'aws-sdk-client-mock';
import type { OrderIntakeStack } from '../../cdk/lib/order-intake-stack.js';
import { DynamoDbStreamSource } from '../../local/event-sources/dynamodb-stream.js';
import { listDeadLetters, openEventsDatabase } from '../../local/eventbridge/events-database.js';
import { LocalEventBus } from '../../local/eventbridge/local-event-bus.js';
import { RuleDelivery } from '../../local/eventbridge/rule-delivery.js';
import { archiveRule } from '../../local/eventbridge/local-events.js';
import {
  ARCHIVE_CONSUMER,
  OUTBOX_RELAY,
  VISIBILITY_TIMEOUTS_PER_FUNCTION_TIMEOUT,
  validateFunctionTimeoutSeconds,
} from '../../src/deployed-settings.js';
import { orderAcceptedEntry } from '../../src/events/order-accepted.js';
import { eventually } from '../support/eventually.js';
import { FakeStream, seq, serveFakeStream } from '../support/fake-stream.js';
import { logicalIdOf, propertiesOf, synthOrderIntake, type Json } from './synth-order-intake.js';

let stack: OrderIntakeStack;
let template: Template;
beforeAll(() => {
  ({ stack, template } = synthOrderIntake());
});

/** The event source mapping that feeds a function. */
function mappingOf(functionConstruct: Parameters<typeof logicalIdOf>[0]): Json {
  const functionId = logicalIdOf(functionConstruct);
  const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')) as {
    Properties: Json;
  }[];
  const found = mappings.filter(({ Properties }) =>
    JSON.stringify(Properties.FunctionName).includes(`"${functionId}"`),
  );
  expect(found).toHaveLength(1);
  return found[0]?.Properties ?? {};
}

describe('the deployed settings, read back from the template', () => {
  it('the archive consumer: function timeout, queue visibility and redrive, batch size', () => {
    const consumer = stack.archive.consumer.function;
    expect(propertiesOf(template, consumer).Timeout).toBe(ARCHIVE_CONSUMER.timeoutSeconds);
    expect(propertiesOf(template, stack.archive.queue)).toMatchObject({
      VisibilityTimeout: ARCHIVE_CONSUMER.timeoutSeconds * VISIBILITY_TIMEOUTS_PER_FUNCTION_TIMEOUT,
      RedrivePolicy: { maxReceiveCount: ARCHIVE_CONSUMER.maxReceiveCount },
    });
    expect(mappingOf(consumer).BatchSize).toBe(ARCHIVE_CONSUMER.batchSize);
  });

  it('the outbox relay: function timeout, and the stream mapping’s batch, retries, record age and bisection', () => {
    const relay = stack.relay.relay.function;
    expect(propertiesOf(template, relay).Timeout).toBe(OUTBOX_RELAY.timeoutSeconds);
    expect(mappingOf(relay)).toMatchObject({
      BatchSize: OUTBOX_RELAY.batchSize,
      MaximumRetryAttempts: OUTBOX_RELAY.retryAttempts,
      MaximumRecordAgeInSeconds: OUTBOX_RELAY.maxRecordAgeSeconds,
      BisectBatchOnFunctionError: true,
    });
  });

  it('the Validate function: one second past the workflow’s Validate task timeout', () => {
    expect(propertiesOf(template, stack.workflow.validate.function).Timeout).toBe(validateFunctionTimeoutSeconds());
  });
});

describe('the local runtime behaves as the template says', () => {
  let db: DatabaseSync;
  beforeEach(() => {
    db = openEventsDatabase(':memory:');
  });
  afterEach(() => db.close());

  it('dead-letters an archive event on exactly the receive its queue’s redrive policy would', async () => {
    const { RedrivePolicy } = propertiesOf(template, stack.archive.queue) as {
      RedrivePolicy: { maxReceiveCount: number };
    };
    const bus = new LocalEventBus(db, { busName: 'order-intake-test' });
    let receives = 0;
    const delivery = new RuleDelivery(
      db,
      bus,
      [
        archiveRule(() => {
          receives += 1;
          return Promise.reject(new Error('archive down'));
        }),
      ],
      { pollMs: 5, backoffMs: 1, maxBackoffMs: 2 },
    );
    delivery.start();
    try {
      await bus.putEvents([
        orderAcceptedEntry('order-intake-test', {
          orderId: '01KBXQ7C0000000000000000AA',
          status: 'ACCEPTED',
          acceptedAt: '2026-12-07T10:00:00.000Z',
          idempotencyKey: 'e'.repeat(64),
          customerId: 'CUST-7Q2K9M4X',
          items: [{ sku: 'SKU-00012345', quantity: 1 }],
        }),
      ]);
      await eventually('the event is dead-lettered', () => listDeadLetters(db).length === 1);
    } finally {
      await delivery.stop();
    }
    expect(receives).toBe(RedrivePolicy.maxReceiveCount);
  });

  describe('the stream relay', () => {
    const dynamodbMock = mockClient(DynamoDBClient);
    const streamsMock = mockClient(DynamoDBStreamsClient);
    let stream: FakeStream;
    let relay: DynamoDbStreamSource | undefined;
    beforeEach(() => {
      stream = new FakeStream();
      serveFakeStream(stream, dynamodbMock, streamsMock);
    });
    afterEach(async () => {
      await relay?.stop();
      dynamodbMock.reset();
      streamsMock.reset();
    });

    /** The relay with the local runtime's defaults, its pace aside; counts the handler's calls per record. */
    function relayFailingOn(failing: string): Map<string, number> {
      const calls = new Map<string, number>();
      relay = new DynamoDbStreamSource(db, {
        dynamodb: new DynamoDBClient({}),
        streams: new DynamoDBStreamsClient({}),
        tableName: 'orders',
        pollMs: 5,
        backoffMs: 1,
        maxBackoffMs: 2,
        handler: async ({ Records }) => {
          const numbers = Records.map((record) => String(record.dynamodb?.SequenceNumber));
          for (const n of numbers) calls.set(n, (calls.get(n) ?? 0) + 1);
          return {
            batchItemFailures: numbers.filter((n) => n === failing).map((itemIdentifier) => ({ itemIdentifier })),
          };
        },
      });
      relay.start();
      return calls;
    }

    it('gives a failing record up after the first invocation and MaximumRetryAttempts retries', async () => {
      const { MaximumRetryAttempts } = mappingOf(stack.relay.relay.function) as { MaximumRetryAttempts: number };
      stream.addShard('only', [1, 2]);
      const calls = relayFailingOn(seq(1));

      await eventually('the record is dead-lettered', () => listDeadLetters(db).length === 1);
      expect(calls.get(seq(1))).toBe(MaximumRetryAttempts + 1);
      expect(listDeadLetters(db).map((letter) => letter.reference)).toEqual([seq(1)]);
    });

    it('gives a failing record up at once when it is older than MaximumRecordAgeInSeconds', async () => {
      const { MaximumRecordAgeInSeconds } = mappingOf(stack.relay.relay.function) as {
        MaximumRecordAgeInSeconds: number;
      };
      stream.createdAt = new Date(Date.now() - (MaximumRecordAgeInSeconds + 60) * 1000);
      stream.addShard('only', [1]);
      stream.createdAt = new Date();
      stream.append('only', 2);
      const calls = relayFailingOn(seq(1));

      await eventually('the old record is dead-lettered', () => listDeadLetters(db).length === 1);
      expect(calls.get(seq(1))).toBe(1);
      expect(listDeadLetters(db).map((letter) => letter.reason)).toEqual([
        expect.stringContaining(`maximum record age of ${MaximumRecordAgeInSeconds} s`),
      ]);
    });
  });
});
