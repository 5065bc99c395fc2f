/**
 * The outbox relay: the orders table's stream -> lambdas/publish -> OrderAccepted on the bus. Only INSERTs of
 * ORDER# items reach the function (idempotency locks and TTL deletions are filtered out by the event source
 * mapping, so they cost no invocation). A batch that keeps failing is bisected, retried a bounded number of times,
 * and what still fails is described in the DLQ while the stream (24 h) still holds the records.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { FilterCriteria, FilterRule, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { OUTBOX_RELAY } from '../../src/deployed-settings.js';
import { OUTBOX_ENVIRONMENT } from '../../src/outbox/relay-order-events.js';
import { ORDERS_TABLE } from '../../src/store/orders-table.js';
import { DeadLetterQueue } from './dead-letter-queue.js';
import type { LambdaLogLevel } from './deployment-config.js';
import { NodeFunction, PROJECT_ROOT } from './node-function.js';

export const OUTBOX_RELAY_ENTRY = `${PROJECT_ROOT}lambdas/publish/handler.ts`;

/** The stream filter: a new item whose key starts with the order prefix. */
export const NEW_ORDER_FILTER = FilterCriteria.filter({
  eventName: FilterRule.isEqual('INSERT'),
  dynamodb: { Keys: { [ORDERS_TABLE.partitionKey]: { S: FilterRule.beginsWith(ORDERS_TABLE.orderKeyPrefix) } } },
});

/**
 * Batches processed at once per stream shard (the parallelization factor). Records of one item stay in order.
 * A table pre-warmed to 30,000 write units (the burst profile) has at least 30 partitions, hence about as many
 * shards: at 5,000 orders/s a shard carries some 170 new orders/s, and one batch of 100 (ten PutEvents calls in turn, about 0.3 s) clears
 * over 300/s, so two batches per shard leave room to catch up. The relay's reserved concurrency caps the total:
 * shards x 2 stays under the burst profile's 100 until the table has 50 shards.
 */
export const BATCHES_PER_SHARD = 2;

export interface OutboxRelayProps {
  readonly table: ITable;
  readonly bus: IEventBus;
  readonly logLevel: LambdaLogLevel;
  readonly logRetention: RetentionDays;
  /**
   * The relay function's reserved concurrency: its ceiling (a backlog cannot take the request path's concurrency)
   * and its guarantee (a burst elsewhere cannot starve the outbox).
   * @default - none: the relay shares the account's unreserved pool
   */
  readonly reservedConcurrency?: number;
}

export class OutboxRelay extends Construct {
  readonly relay: NodeFunction;
  readonly deadLetterQueue: DeadLetterQueue;

  constructor(scope: Construct, id: string, props: OutboxRelayProps) {
    super(scope, id);
    this.deadLetterQueue = new DeadLetterQueue(this, 'DeadLetterQueue');
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is the on-failure destination (the DLQ) of the stream event source mapping, not a source.',
    });
    this.relay = new NodeFunction(this, 'Relay', {
      entry: OUTBOX_RELAY_ENTRY,
      description: 'Order Intake outbox relay: new orders in the table stream -> OrderAccepted',
      environment: { [OUTBOX_ENVIRONMENT.eventBusName]: props.bus.eventBusName },
      timeout: Duration.seconds(OUTBOX_RELAY.timeoutSeconds),
      reservedConcurrentExecutions: props.reservedConcurrency,
      wildcardResourceReason:
        'the stream event source mapping needs dynamodb:ListStreams, which takes no resource ARN.',
      logLevel: props.logLevel,
      logRetention: props.logRetention,
    });
    props.bus.grantPutEventsTo(this.relay.function);
    this.relay.function.addEventSource(
      new DynamoEventSource(props.table, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: OUTBOX_RELAY.batchSize,
        parallelizationFactor: BATCHES_PER_SHARD,
        bisectBatchOnError: true,
        retryAttempts: OUTBOX_RELAY.retryAttempts,
        maxRecordAge: Duration.seconds(OUTBOX_RELAY.maxRecordAgeSeconds),
        reportBatchItemFailures: true,
        onFailure: new SqsDlq(this.deadLetterQueue),
        filters: [NEW_ORDER_FILTER],
      }),
    );
  }
}
