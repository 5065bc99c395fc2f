/**
 * A downstream subscription to OrderAccepted, in a few lines: rule on the bus -> SQS queue (with a DLQ) -> the
 * subscriber's Lambda, an alarm on the DLQ's depth and, for consumers built on Powertools Idempotency, their
 * idempotency table. The queue decouples the subscriber from the bus: a slow or failing consumer never touches order
 * intake or another subscriber, and what it cannot process waits in its DLQ. The order archive is built on it.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, type EventPattern, type IEventBus } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DeadLetterQueue, SECURE_QUEUE_PROPS } from './dead-letter-queue.js';
import { NodeFunction, type NodeFunctionProps } from './node-function.js';
import { ORDER_ACCEPTED_EVENT_PATTERN } from './order-events.js';
import { SUBSCRIPTION_DEFAULTS, VISIBILITY_TIMEOUTS_PER_FUNCTION_TIMEOUT } from '../../src/deployed-settings.js';
import { CONSUMER_ENVIRONMENT } from '../../src/events/order-accepted.js';

/** Where a consumer built on Powertools Idempotency finds its table, and the attributes Powertools uses by default. */
export const IDEMPOTENCY_TABLE = {
  environmentVariable: CONSUMER_ENVIRONMENT.idempotencyTableName,
  partitionKey: 'id',
  timeToLiveAttribute: 'expiration',
  /** What DynamoDBPersistenceLayer calls: get, put (conditional), update and delete a record. */
  actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
} as const;

/** EventBridge's own limits for a target's retry policy, written out so that the template states them. */
const EVENTBRIDGE_MAX_RETRY_ATTEMPTS = 185;
const EVENTBRIDGE_MAX_EVENT_AGE = Duration.hours(24);

interface SubscriptionSettings {
  readonly bus: IEventBus;
  /** The subscriber in a word or two ('archive', 'billing'); the rule's and the alarm's descriptions name it. */
  readonly name: string;
  /**
   * Only this major version of the detail's schema (docs/consumers.md, Versioning): adds
   * `{"detail": {"schemaVersion": [{"prefix": "<major>."}]}}` to the pattern.
   * @default - every version
   */
  readonly schemaMajorVersion?: number;
  /**
   * More conditions on the detail, in EventBridge's pattern syntax (`{ customerId: [{ prefix: 'CUST-' }] }`).
   * @default - none
   */
  readonly detailPattern?: Readonly<Record<string, unknown>>;
  /** @default 10 */
  readonly batchSize?: number;
  /** @default - none: a batch is sent as soon as messages are there */
  readonly maxBatchingWindow?: Duration;
  /** At most this many concurrent invocations from the queue (2 to 1000). @default 10 */
  readonly maxConcurrency?: number;
  /** Receives of one message before SQS moves it to the DLQ. @default 5 */
  readonly maxReceiveCount?: number;
  /** EventBridge's retries of a delivery to the queue, before the event goes to the DLQ. @default 185 */
  readonly retryAttempts?: number;
  /** How long EventBridge keeps retrying a delivery to the queue. @default 24 hours */
  readonly maxEventAge?: Duration;
  /**
   * A DynamoDB table for Powertools Idempotency (key `id`, TTL `expiration`), named to the function by
   * IDEMPOTENCY_TABLE_NAME, which it may get, put, update and delete items of.
   * @default false
   */
  readonly idempotencyTable?: boolean;
  /** @default - none: add actions to `deadLetterAlarm` yourself (Monitoring does, for the archive) */
  readonly alarmTopic?: ITopic;
}

type NoFunctionProps = { readonly [K in keyof NodeFunctionProps]?: never };

/** Either the subscription builds the function (NodeFunction's props), or it is given one. */
export type OrderAcceptedSubscriptionProps = SubscriptionSettings &
  ((NodeFunctionProps & { readonly consumer?: never }) | (NoFunctionProps & { readonly consumer: NodeFunction }));

export class OrderAcceptedSubscription extends Construct {
  readonly consumer: NodeFunction;
  readonly rule: Rule;
  readonly queue: Queue;
  readonly deadLetterQueue: DeadLetterQueue;
  /** Fires on one message visible in the DLQ. */
  readonly deadLetterAlarm: Alarm;
  /** Only with `idempotencyTable: true`. */
  readonly idempotencyTable?: Table;

  constructor(scope: Construct, id: string, props: OrderAcceptedSubscriptionProps) {
    super(scope, id);
    const maxReceiveCount = props.maxReceiveCount ?? SUBSCRIPTION_DEFAULTS.maxReceiveCount;
    if (!Number.isInteger(maxReceiveCount) || maxReceiveCount < 1 || maxReceiveCount > 1000) {
      throw new Error(`${this.node.path}: maxReceiveCount must be an integer from 1 to 1000, not ${maxReceiveCount}`);
    }

    this.consumer = props.consumer ?? new NodeFunction(this, 'Consumer', props);
    const fn = this.consumer.function;

    this.deadLetterQueue = new DeadLetterQueue(this, 'DeadLetterQueue');
    // No second invocation may receive a message while the first may still run: six function timeouts (retries of
    // a throttled invocation included), plus the batching window during which the poller already holds messages.
    const functionTimeout = fn.timeout ?? Duration.seconds(3); // Lambda's default
    this.queue = new Queue(this, 'Queue', {
      ...SECURE_QUEUE_PROPS,
      visibilityTimeout: Duration.seconds(
        functionTimeout.toSeconds() * VISIBILITY_TIMEOUTS_PER_FUNCTION_TIMEOUT +
          (props.maxBatchingWindow?.toSeconds() ?? 0),
      ),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
    });

    const detail = detailPatternOf(this, props);
    const events =
      props.schemaMajorVersion === undefined ? 'Every OrderAccepted' : `OrderAccepted ${props.schemaMajorVersion}.x`;
    this.rule = new Rule(this, 'Rule', {
      eventBus: props.bus,
      description: `${events} to the ${props.name} queue`,
      eventPattern: { ...ORDER_ACCEPTED_EVENT_PATTERN, ...(detail && { detail }) } satisfies EventPattern,
      // An event EventBridge cannot deliver to the queue lands in the same DLQ as one the consumer cannot process.
      targets: [
        new SqsQueue(this.queue, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: props.retryAttempts ?? EVENTBRIDGE_MAX_RETRY_ATTEMPTS,
          maxEventAge: props.maxEventAge ?? EVENTBRIDGE_MAX_EVENT_AGE,
        }),
      ],
    });

    fn.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: props.batchSize ?? SUBSCRIPTION_DEFAULTS.batchSize,
        maxBatchingWindow: props.maxBatchingWindow,
        // The handler answers which records failed, and SQS redelivers only those.
        reportBatchItemFailures: true,
        maxConcurrency: props.maxConcurrency ?? SUBSCRIPTION_DEFAULTS.maxConcurrency,
      }),
    );

    this.deadLetterAlarm = new Alarm(this, 'DeadLetters', {
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        statistic: 'Maximum',
        period: Duration.minutes(1),
      }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: `OrderAccepted events that did not reach the ${props.name} consumer: redrive the DLQ once the cause is fixed.`,
    });
    if (props.alarmTopic) this.deadLetterAlarm.addAlarmAction(new SnsAction(props.alarmTopic));

    if (props.idempotencyTable) {
      this.idempotencyTable = new Table(this, 'IdempotencyTable', {
        partitionKey: { name: IDEMPOTENCY_TABLE.partitionKey, type: AttributeType.STRING },
        billingMode: BillingMode.PAY_PER_REQUEST,
        timeToLiveAttribute: IDEMPOTENCY_TABLE.timeToLiveAttribute,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        // Records that expire within hours, rebuilt by the next delivery: nothing to keep when the stack goes.
        removalPolicy: RemovalPolicy.DESTROY,
      });
      this.idempotencyTable.grant(fn, ...IDEMPOTENCY_TABLE.actions);
      fn.addEnvironment(IDEMPOTENCY_TABLE.environmentVariable, this.idempotencyTable.tableName);
    }
  }
}

function detailPatternOf(
  scope: Construct,
  { schemaMajorVersion, detailPattern }: SubscriptionSettings,
): Record<string, unknown> | undefined {
  if (schemaMajorVersion === undefined) return detailPattern && { ...detailPattern };
  if (!Number.isInteger(schemaMajorVersion) || schemaMajorVersion < 1) {
    throw new Error(`${scope.node.path}: schemaMajorVersion must be a positive integer, not ${schemaMajorVersion}`);
  }
  if (detailPattern && 'schemaVersion' in detailPattern) {
    throw new Error(`${scope.node.path}: give the schema version by schemaMajorVersion or detailPattern, not both`);
  }
  return { ...detailPattern, schemaVersion: [{ prefix: `${schemaMajorVersion}.` }] };
}
