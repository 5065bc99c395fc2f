/**
 * The outbox relay (not the workflow's Publish state, which publishes on the request path): the orders table's
 * stream (NEW_IMAGE) -> this function -> OrderAccepted on the bus, for every stored order. Locally the DynamoDB
 * stream event source (local/event-sources) calls it with records read from DynamoDB Local's stream.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { requiredSetting } from '../../src/configuration.js';
import type { EventPublisher } from '../../src/events/event-publisher.js';
import {
  OUTBOX_ENVIRONMENT,
  relayOrderEvents,
  type OutboxRecord,
  type RelayOptions,
} from '../../src/outbox/relay-order-events.js';
import { EventBridgePublisher } from './eventbridge-publisher.js';
import { SERVICE_NAME } from '../../src/service-name.js';

export type PublishHandler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>;

export interface PublishHandlerOptions extends RelayOptions {
  publisher: EventPublisher;
  logger?: Logger;
}

const outboxRecordOf = (record: DynamoDBRecord): OutboxRecord => ({
  id: record.dynamodb?.SequenceNumber ?? '',
  eventName: record.eventName,
  // aws-lambda's stream AttributeValue and the SDK's describe the same wire format.
  newImage: record.dynamodb?.NewImage
    ? unmarshall(record.dynamodb.NewImage as Record<string, AttributeValue>)
    : undefined,
});

export function createPublishHandler({
  publisher,
  logger = new Logger({ serviceName: SERVICE_NAME }),
  ...relayOptions
}: PublishHandlerOptions): PublishHandler {
  return async (event) => {
    const result = await relayOrderEvents(event.Records.map(outboxRecordOf), publisher, relayOptions);
    if (result.failed.length > 0) logger.error('records not relayed', { failed: result.failed });
    logger.debug('relayed', { published: result.published, ignored: result.ignored });
    return { batchItemFailures: result.failed.map(({ id }) => ({ itemIdentifier: id })) };
  };
}

let fromEnvironment: PublishHandler | undefined;

/** The deployed entry point: the bus named by the environment, on first use. */
export const handler: PublishHandler = (event) =>
  (fromEnvironment ??= createPublishHandler({
    eventBusName: requiredSetting(OUTBOX_ENVIRONMENT.eventBusName),
    publisher: new EventBridgePublisher(),
  }))(event);
