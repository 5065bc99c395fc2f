/**
 * The outbox relay: the orders table's stream (NEW_IMAGE) -> this function -> OrderAccepted on the bus, for every
 * stored order. Locally the stream relay (local/events) calls it with records read from DynamoDB Local's stream.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { OutboxConfigurationError } from '../../src/outbox/errors.js';
import {
  OUTBOX_ENVIRONMENT,
  relayOrderEvents,
  type OutboxRecord,
  type RelayOptions,
} from '../../src/outbox/relay-order-events.js';
import { EventBridgePublisher } from './eventbridge-publisher.js';
import { SERVICE_NAME } from '../../src/service-name.js';

export type PublishHandler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>;

export interface PublishHandlerOptions extends Omit<RelayOptions, 'eventBusName'> {
  eventBusName: string;
  client?: EventBridgeClient;
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
  client,
  logger = new Logger({ serviceName: SERVICE_NAME }),
  ...relayOptions
}: PublishHandlerOptions): PublishHandler {
  const publisher = new EventBridgePublisher(client);
  return async (event) => {
    const result = await relayOrderEvents(event.Records.map(outboxRecordOf), publisher, relayOptions);
    if (result.failed.length > 0) logger.error('records not relayed', { failed: result.failed });
    logger.debug('relayed', { published: result.published, ignored: result.ignored });
    return { batchItemFailures: result.failed.map(({ id }) => ({ itemIdentifier: id })) };
  };
}

let fromEnvironment: PublishHandler | undefined;

/** The deployed entry point: bus name from the environment on first use. */
export const handler: PublishHandler = (event) => {
  if (!fromEnvironment) {
    const eventBusName = process.env[OUTBOX_ENVIRONMENT.eventBusName];
    if (!eventBusName) throw new OutboxConfigurationError(`${OUTBOX_ENVIRONMENT.eventBusName} is not set`);
    fromEnvironment = createPublishHandler({ eventBusName });
  }
  return fromEnvironment(event);
};
