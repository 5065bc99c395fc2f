/**
 * The archive rule's target, as AWS wires it: rule -> SQS -> the archive consumer. Each event becomes one SQS
 * record whose body is the event envelope, and the real lambdas/persist handler runs on the batch, writing to a
 * local folder.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { S3ServiceException } from '@aws-sdk/client-s3';
import type { ArchiveOutcome, ArchiveStore } from '../../src/archive/archive-order.js';
import { s3ObjectArn } from '../iam/deployed-roles.js';
import { AccessDeniedError, type RoleAuthorizer } from '../iam/role-authorizer.js';
import { FolderArchiveStore } from './folder-archive-store.js';
import { createArchiveHandler } from '../../lambdas/persist/handler.js';
import type { EventEnvelope } from './local-event-bus.js';
import type { RuleTarget } from './rule-delivery.js';
import { localArn } from '../local-account.js';

const QUEUE_ARN = localArn('sqs', 'order-archive');

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

/** The archive as the consumer's role may write it: each object's PutObject is authorized first, as S3 would. */
class AuthorizedArchiveStore implements ArchiveStore {
  constructor(
    private readonly store: ArchiveStore,
    private readonly bucketName: string,
    private readonly iam: RoleAuthorizer,
  ) {}

  async createIfAbsent(key: string, body: string): Promise<ArchiveOutcome> {
    try {
      await this.iam.authorize({ action: 's3:PutObject', resource: s3ObjectArn(this.bucketName, key) });
    } catch (error) {
      if (!(error instanceof AccessDeniedError)) throw error;
      throw new S3ServiceException({
        name: 'AccessDenied',
        $fault: 'client',
        $metadata: { httpStatusCode: 403 },
        message: error.message,
      });
    }
    return this.store.createIfAbsent(key, body);
  }
}

export interface ArchiveTargetOptions {
  archiveDir: string;
  /** The bucket the folder stands in for: the consumer's policy names its objects. */
  bucketName: string;
  iam: RoleAuthorizer;
  logger?: Logger;
}

/** The target, once the folder holds no write a crash interrupted. */
export async function archiveTarget({
  archiveDir,
  bucketName,
  iam,
  logger,
}: ArchiveTargetOptions): Promise<RuleTarget> {
  const folder = new FolderArchiveStore(archiveDir);
  await folder.sweepInterruptedWrites();
  const store = new AuthorizedArchiveStore(folder, bucketName, iam);
  const handle = createArchiveHandler({ store, logger });
  return {
    async deliver(events) {
      const event: SQSEvent = { Records: events.map(sqsRecordOf) };
      const { batchItemFailures } = await handle(event);
      return { failedEventIds: batchItemFailures.map((failure) => failure.itemIdentifier) };
    },
  };
}
