/**
 * A rule target as the stack wires each consumer: rule -> SQS queue -> the consumer's function. Each event becomes
 * one SQS record whose body is the event envelope, and the real handler runs on the batch; its batch item failures
 * go back to the rule's delivery loop, which retries them and dead-letters what keeps failing, as the queue's
 * redrive policy would.
 */
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { EventEnvelope } from '../eventbridge/local-event-bus.js';
import type { RuleTarget } from '../eventbridge/rule-delivery.js';
import { localArn } from '../local-account.js';

/** A Lambda handler subscribed to an SQS queue, reporting partial batch failures. */
export type SqsHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;

/** SQS gives a message its own id; reusing the event id keeps failures traceable to events without a map. */
const sqsRecordOf = (envelope: EventEnvelope, queueArn: string): SQSRecord => {
  const now = String(Date.now());
  return {
    messageId: envelope.id,
    receiptHandle: envelope.id,
    body: JSON.stringify(envelope),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: now,
      SenderId: 'events.amazonaws.com',
      ApproximateFirstReceiveTimestamp: now,
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: envelope.region,
  };
};

export function sqsQueueTarget(queueName: string, handler: SqsHandler): RuleTarget {
  const queueArn = localArn('sqs', queueName);
  return {
    async deliver(events) {
      const { batchItemFailures } = await handler({ Records: events.map((event) => sqsRecordOf(event, queueArn)) });
      return { failedEventIds: batchItemFailures.map((failure) => failure.itemIdentifier) };
    },
  };
}
