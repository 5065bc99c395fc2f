/**
 * The archive rule's target, as AWS wires it: rule -> SQS -> the archive consumer. Each event becomes one SQS
 * record whose body is the event envelope, and the real lambdas/persist handler runs on the batch, writing to a
 * local folder.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { FolderArchiveStore } from './folder-archive-store.js';
import { createArchiveHandler } from '../../lambdas/persist/handler.js';
import type { EventEnvelope } from './local-event-bus.js';
import type { RuleTarget } from './rule-delivery.js';

const QUEUE_ARN = 'arn:aws:sqs:local:000000000000:order-archive';

/** SQS gives a message its own id; reusing the event id keeps failures traceable to events without a map. */
const sqsRecordOf = (envelope: EventEnvelope): SQSRecord => {
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
    eventSourceARN: QUEUE_ARN,
    awsRegion: envelope.region,
  };
};

export function archiveTarget(archiveDir: string, logger?: Logger): RuleTarget {
  const handle = createArchiveHandler({ store: new FolderArchiveStore(archiveDir), logger });
  return {
    async deliver(events) {
      const event: SQSEvent = { Records: events.map(sqsRecordOf) };
      const { batchItemFailures } = await handle(event);
      return { failedEventIds: batchItemFailures.map((failure) => failure.itemIdentifier) };
    },
  };
}
