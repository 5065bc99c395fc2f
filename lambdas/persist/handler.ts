/**
 * The archive consumer (not the workflow's Persist state, which writes the order on the request path). In AWS: EventBridge rule (orderAcceptedPattern) -> SQS -> this function; each record's
 * body is the EventBridge event. Locally the archive rule's SQS queue stand-in (local/event-sources) calls createArchiveHandler with the same
 * SQS shape and a folder store.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { ARCHIVE_ENVIRONMENT, archiveOrderAccepted, type ArchiveStore } from '../../src/archive/archive-order.js';
import { requiredSetting } from '../../src/configuration.js';
import { S3ArchiveStore } from './s3-archive-store.js';
import { SERVICE_NAME } from '../../src/service-name.js';

export type ArchiveHandler = (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse>;

export interface ArchiveHandlerOptions {
  store: ArchiveStore;
  logger?: Logger;
}

export function archiveStoreFromEnvironment(env: NodeJS.ProcessEnv = process.env): ArchiveStore {
  return new S3ArchiveStore(requiredSetting(ARCHIVE_ENVIRONMENT.bucketName, env));
}

export function createArchiveHandler({
  store,
  logger = new Logger({ serviceName: SERVICE_NAME }),
}: ArchiveHandlerOptions): ArchiveHandler {
  const archiveRecord = async (record: SQSRecord): Promise<void> => {
    try {
      const archived = await archiveOrderAccepted(JSON.parse(record.body), store);
      logger.debug('archived', { messageId: record.messageId, ...archived });
    } catch (error) {
      logger.error('archive failed', { messageId: record.messageId, error });
      throw error;
    }
  };
  return async (event, context) =>
    // A processor holds one batch's state: one per invocation, so that concurrent local calls cannot mix batches.
    // Failures are reported per record even when all fail, so SQS redelivers exactly those.
    processPartialResponse(event, archiveRecord, new BatchProcessor(EventType.SQS), {
      context,
      throwOnFullBatchFailure: false,
    });
}

let fromEnvironment: ArchiveHandler | undefined;

/** The deployed entry point: the bucket named by the environment, on first use. */
export const handler: ArchiveHandler = (event, context) =>
  (fromEnvironment ??= createArchiveHandler({ store: archiveStoreFromEnvironment() }))(event, context);
