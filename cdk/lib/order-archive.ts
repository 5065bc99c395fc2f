/**
 * The archive of accepted orders: an OrderAcceptedSubscription (rule -> SQS with a DLQ -> lambdas/persist, DLQ alarm)
 * writing to S3, one object per order under ARCHIVE_KEY_PREFIX. The queue decouples the archive from the bus: a slow
 * or failing archive never touches order intake, and what cannot be archived waits in the DLQ.
 *
 * Objects stay in S3 Standard: no lifecycle transition. An archived order is about 1 KB; in Glacier Flexible
 * Retrieval each object is billed 40 KB of overhead on top (32 KB at Glacier's rate, 8 KB at Standard's) and its
 * transition is a billed request, so a million orders would cost some $30 to move and more per month to keep than
 * in Standard (docs/capacity.md has the figures). One object per order keeps the archive exactly once per order
 * (create-if-absent) and a replay simple.
 */
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type BucketProps,
  type CfnBucket,
  ObjectOwnership,
  TransitionDefaultMinimumObjectSize,
} from 'aws-cdk-lib/aws-s3';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ARCHIVE_ENVIRONMENT, ARCHIVE_KEY_PREFIX } from '../../src/archive/archive-order.js';
import { ARCHIVE_CONSUMER } from '../../src/deployed-settings.js';
import type { DeadLetterQueue } from './dead-letter-queue.js';
import type { LambdaLogLevel } from './deployment-config.js';
import { NodeFunction, PROJECT_ROOT } from './node-function.js';
import { OrderAcceptedSubscription } from './order-accepted-subscription.js';

export const ARCHIVE_CONSUMER_ENTRY = `${PROJECT_ROOT}lambdas/persist/handler.ts`;

/**
 * The access logs name every archived object, whose key holds the orderId: that bucket is as private as the
 * archive itself.
 */
const PRIVATE_BUCKET_PROPS = {
  encryption: BucketEncryption.S3_MANAGED,
  enforceSSL: true,
  blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
  objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
} as const satisfies BucketProps;

export interface OrderArchiveProps {
  readonly bus: IEventBus;
  readonly logLevel: LambdaLogLevel;
  readonly logRetention: RetentionDays;
}

export class OrderArchive extends Construct {
  readonly bucket: Bucket;
  readonly accessLogsBucket: Bucket;
  readonly consumer: NodeFunction;
  readonly subscription: OrderAcceptedSubscription;
  readonly queue: Queue;
  readonly deadLetterQueue: DeadLetterQueue;

  constructor(scope: Construct, id: string, props: OrderArchiveProps) {
    super(scope, id);

    this.accessLogsBucket = new Bucket(this, 'AccessLogs', {
      ...PRIVATE_BUCKET_PROPS,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(365) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // Versioned although objects are written once (If-None-Match: *): versioning keeps an order that a person or
    // tool deletes or overwrites by mistake, and costs nothing while nobody does.
    this.bucket = new Bucket(this, 'Bucket', {
      ...PRIVATE_BUCKET_PROPS,
      versioned: true,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'order-archive/',
      // Stated, not left to S3's default: should a transition rule ever be added, objects under 128 KB (every
      // archived order) stay where they are, in every storage class, Glacier included.
      transitionDefaultMinimumObjectSize: TransitionDefaultMinimumObjectSize.ALL_STORAGE_CLASSES_128_K,
      lifecycleRules: [
        {
          id: 'orders-housekeeping',
          prefix: ARCHIVE_KEY_PREFIX,
          noncurrentVersionExpiration: Duration.days(90),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.consumer = new NodeFunction(this, 'Consumer', {
      entry: ARCHIVE_CONSUMER_ENTRY,
      description: 'Order Intake archive consumer: OrderAccepted -> S3',
      environment: { [ARCHIVE_ENVIRONMENT.bucketName]: this.bucket.bucketName },
      timeout: Duration.seconds(ARCHIVE_CONSUMER.timeoutSeconds),
      logLevel: props.logLevel,
      logRetention: props.logRetention,
    });
    // No idempotency table: the archive's writes are create-if-absent already.
    this.subscription = new OrderAcceptedSubscription(this, 'Subscription', {
      bus: props.bus,
      name: 'archive',
      consumer: this.consumer,
      batchSize: ARCHIVE_CONSUMER.batchSize,
      maxReceiveCount: ARCHIVE_CONSUMER.maxReceiveCount,
      // The cap on the archive's share of the account's unreserved pool (400 of the default 1,000 once Validate and
      // the relay have theirs): a backlog waits in the queue instead. 100 is room for 5,000 orders/s, each published
      // twice, if a batch of ten takes about 100 ms.
      maxConcurrency: 100,
    });
    this.queue = this.subscription.queue;
    this.deadLetterQueue = this.subscription.deadLetterQueue;

    this.consumer.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'CreateArchivedOrders',
        actions: ['s3:PutObject'],
        resources: [this.bucket.arnForObjects(`${ARCHIVE_KEY_PREFIX}*`)],
      }),
    );
    const bucketLogicalId = Stack.of(this).getLogicalId(this.bucket.node.defaultChild as CfnBucket);
    Validations.of(this.consumer.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/${ARCHIVE_KEY_PREFIX}*]`,
      reason:
        'Object keys hold the date and orderId, so the key prefix is the narrowest resource; the action is s3:PutObject only.',
    });
  }
}
