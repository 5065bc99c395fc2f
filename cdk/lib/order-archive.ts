/**
 * The archive of accepted orders: OrderAccepted rule -> SQS (with a DLQ) -> lambdas/persist -> S3, one object per
 * order under ARCHIVE_KEY_PREFIX. The queue decouples the archive from the bus: a slow or failing archive never
 * touches order intake, and what cannot be archived waits in the DLQ.
 */
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Rule, type IEventBus } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type BucketProps,
  type CfnBucket,
  ObjectOwnership,
  StorageClass,
  TransitionDefaultMinimumObjectSize,
} from 'aws-cdk-lib/aws-s3';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ARCHIVE_ENVIRONMENT, ARCHIVE_KEY_PREFIX } from '../../src/archive/archive-order.js';
import { DeadLetterQueue, SECURE_QUEUE_PROPS } from './dead-letter-queue.js';
import type { LambdaLogLevel } from './deployment-config.js';
import { NodeFunction, PROJECT_ROOT } from './node-function.js';
import { ORDER_ACCEPTED_EVENT_PATTERN } from './order-events.js';

export const ARCHIVE_CONSUMER_ENTRY = `${PROJECT_ROOT}lambdas/persist/handler.ts`;

/** SQS's advice for a Lambda consumer: visibility timeout at least six times the function timeout. */
const CONSUMER_TIMEOUT = Duration.seconds(30);
const MAX_RECEIVES = 5;

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
  readonly glacierAfter: Duration;
  readonly logLevel: LambdaLogLevel;
  readonly logRetention: RetentionDays;
}

export class OrderArchive extends Construct {
  readonly bucket: Bucket;
  readonly accessLogsBucket: Bucket;
  readonly queue: Queue;
  readonly deadLetterQueue: DeadLetterQueue;
  readonly consumer: NodeFunction;

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
      // Archived orders are about 1 KB; since 2024 S3 skips objects under 128 KB in transitions unless told otherwise.
      transitionDefaultMinimumObjectSize: TransitionDefaultMinimumObjectSize.VARIES_BY_STORAGE_CLASS,
      lifecycleRules: [
        {
          id: 'orders-to-glacier',
          prefix: ARCHIVE_KEY_PREFIX,
          transitions: [{ storageClass: StorageClass.GLACIER, transitionAfter: props.glacierAfter }],
          noncurrentVersionExpiration: Duration.days(90),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.deadLetterQueue = new DeadLetterQueue(this, 'DeadLetterQueue');
    this.queue = new Queue(this, 'Queue', {
      ...SECURE_QUEUE_PROPS,
      visibilityTimeout: Duration.seconds(CONSUMER_TIMEOUT.toSeconds() * 6),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVES },
    });

    new Rule(this, 'OrderAcceptedRule', {
      eventBus: props.bus,
      description: 'Every OrderAccepted to the archive queue',
      eventPattern: ORDER_ACCEPTED_EVENT_PATTERN,
      // An event EventBridge cannot deliver to the queue lands in the same DLQ as one the consumer cannot archive.
      targets: [new SqsQueue(this.queue, { deadLetterQueue: this.deadLetterQueue })],
    });

    this.consumer = new NodeFunction(this, 'Consumer', {
      entry: ARCHIVE_CONSUMER_ENTRY,
      description: 'Order Intake archive consumer: OrderAccepted -> S3',
      environment: { [ARCHIVE_ENVIRONMENT.bucketName]: this.bucket.bucketName },
      timeout: CONSUMER_TIMEOUT,
      logLevel: props.logLevel,
      logRetention: props.logRetention,
    });
    this.consumer.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'CreateArchivedOrders',
        actions: ['s3:PutObject'],
        resources: [this.bucket.arnForObjects(`${ARCHIVE_KEY_PREFIX}*`)],
      }),
    );
    this.consumer.function.addEventSource(
      new SqsEventSource(this.queue, { batchSize: 10, reportBatchItemFailures: true }),
    );
    const bucketLogicalId = Stack.of(this).getLogicalId(this.bucket.node.defaultChild as CfnBucket);
    Validations.of(this.consumer.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/${ARCHIVE_KEY_PREFIX}*]`,
      reason:
        'Object keys hold the date and orderId, so the key prefix is the narrowest resource; the action is s3:PutObject only.',
    });
  }
}
