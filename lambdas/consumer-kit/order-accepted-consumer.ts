/**
 * The consumer kit: a Lambda handler for an OrderAccepted subscription (rule -> SQS -> this function) that runs a
 * team's side effect once per order, whatever arrives: the two publications of every order, SQS redeliveries,
 * copies processed at the same time, archive replays. Built on Powertools Idempotency, keyed on detail.orderId
 * (never the event id, which is new on every publication), with the payload checked against the published schema.
 *
 * - A copy that arrives while another copy of the same order is in progress fails its record; SQS redelivers it
 *   after the visibility timeout, when the first has finished (then it is a no-op) or has timed out (then it runs).
 * - A side effect that throws leaves no idempotency record: the redelivery tries again.
 * - A malformed event fails its record every time and ends in the subscription's DLQ.
 * - Other records of the batch are unaffected (partial batch responses).
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { requiredSetting } from '../../src/configuration.js';
import { CONSUMER_ENVIRONMENT, type OrderAcceptedDetail } from '../../src/events/order-accepted.js';
import { parseOrderAcceptedEvent, type OrderAcceptedEvent } from '../../src/events/order-accepted-event.js';
import { SERVICE_NAME } from '../../src/service-name.js';

/**
 * How long an order is remembered as done. It must outlast every way a copy can come back: the outbox relay's
 * retries (minutes), SQS redrives from the DLQ (its 14-day retention) and archive replays you would run.
 */
export const DEFAULT_REMEMBER_FOR_SECONDS = 30 * 24 * 60 * 60;

export type OrderAcceptedSideEffect<Result> = (
  detail: OrderAcceptedDetail,
  event: OrderAcceptedEvent,
) => Promise<Result>;

export interface OrderAcceptedConsumerOptions<Result> {
  /** The team's side effect, run at most once per orderId while the order is remembered; its result is stored as JSON. */
  sideEffect: OrderAcceptedSideEffect<Result>;
  /** Default: DynamoDB, the table named by IDEMPOTENCY_TABLE_NAME. */
  persistenceStore?: BasePersistenceLayer;
  rememberForSeconds?: number;
  logger?: Logger;
}

export type OrderAcceptedHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

export function createOrderAcceptedConsumer<Result>({
  sideEffect,
  persistenceStore = new DynamoDBPersistenceLayer({
    tableName: requiredSetting(CONSUMER_ENVIRONMENT.idempotencyTableName),
  }),
  rememberForSeconds = DEFAULT_REMEMBER_FOR_SECONDS,
  logger = new Logger({ serviceName: SERVICE_NAME }),
}: OrderAcceptedConsumerOptions<Result>): OrderAcceptedHandler {
  const config = new IdempotencyConfig({
    eventKeyJmesPath: 'detail.orderId',
    expiresAfterSeconds: rememberForSeconds,
    throwOnNoIdempotencyKey: true,
  });
  // The key is the order, so every copy of it (either publication, a redelivery, a replay) is the same call. The
  // stored result must marshal to DynamoDB, where undefined cannot: a side effect without a result stores null.
  // (Were the record left unsaved, the order would stay "in progress" and run again once that expired.)
  const oncePerOrder = makeIdempotent(
    async (event: OrderAcceptedEvent) => ({ result: (await sideEffect(event.detail, event)) ?? null }),
    { persistenceStore, config },
  );

  const processRecord = async (record: SQSRecord): Promise<void> => {
    let event: OrderAcceptedEvent;
    try {
      event = parseOrderAcceptedEvent(JSON.parse(record.body));
    } catch (error) {
      logger.error('malformed OrderAccepted: it will reach the DLQ', { messageId: record.messageId, error });
      throw error;
    }
    try {
      await oncePerOrder(event);
    } catch (error) {
      logger.warn('OrderAccepted not processed: SQS redelivers it', {
        messageId: record.messageId,
        orderId: event.detail.orderId,
        error,
      });
      throw error;
    }
  };

  return async (event, context) => {
    // An in-progress record then expires with this invocation: a copy redelivered after a timeout takes over.
    config.registerLambdaContext(context);
    return processPartialResponse(event, processRecord, new BatchProcessor(EventType.SQS), {
      context,
      throwOnFullBatchFailure: false,
    });
  };
}
