/**
 * What happens after acceptance: the bus and its archive, the outbox relay from the table's stream, and the order
 * archive behind the bus (rule -> queue -> consumer -> bucket). One synth (default context) for the whole file.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { ARCHIVE_ENVIRONMENT, ARCHIVE_KEY_PREFIX } from '../../src/archive/archive-order.js';
import { orderAcceptedPattern } from '../../src/events/order-accepted.js';
import { OUTBOX_ENVIRONMENT } from '../../src/outbox/relay-order-events.js';
import { ORDERS_TABLE } from '../../src/store/orders-table.js';
import type { OrderIntakeStack } from '../../cdk/lib/order-intake-stack.js';
import {
  allow,
  expectSecureQueue,
  logicalIdOf,
  propertiesOf,
  statementsOf,
  synthOrderIntake,
  type Json,
} from './synth-order-intake.js';

let stack: OrderIntakeStack;
let template: Template;
beforeAll(() => {
  ({ stack, template } = synthOrderIntake());
});

const ref = (value: string): unknown => stack.resolve(value);
const getAtt = (construct: Parameters<typeof logicalIdOf>[0], attribute: string) => ({
  'Fn::GetAtt': [logicalIdOf(construct), attribute],
});

/** The statements every function role has: its own log group, and X-Ray. */
const functionBasics = (logGroup: Parameters<typeof logicalIdOf>[0]) => [
  allow(['logs:CreateLogStream', 'logs:PutLogEvents'], getAtt(logGroup, 'Arn')),
];

describe('event bus', () => {
  it('archives every OrderAccepted, with the pattern from src/events', () => {
    expect(propertiesOf(template, stack.events.archive)).toMatchObject({
      SourceArn: ref(stack.events.bus.eventBusArn),
      EventPattern: orderAcceptedPattern,
      RetentionDays: 30,
    });
  });

  it('synthesizes no KmsKeyIdentifier on the archive when no key is set (aws-cdk issue 37847: "" may fail a deploy)', () => {
    expect(propertiesOf(template, stack.events.archive)).not.toHaveProperty('KmsKeyIdentifier');
  });
});

describe('outbox relay', () => {
  const mapping = () => {
    const mappings = template.findResources('AWS::Lambda::EventSourceMapping', {
      Properties: { EventSourceArn: getAtt(stack.table.table, 'StreamArn') },
    });
    expect(Object.keys(mappings)).toHaveLength(1);
    return (Object.values(mappings)[0] as { Properties: Json }).Properties;
  };

  it('reads the table stream into the relay function, two batches at a time per shard', () => {
    expect(mapping()).toMatchObject({
      FunctionName: ref(stack.relay.relay.function.functionName),
      StartingPosition: 'TRIM_HORIZON',
      ParallelizationFactor: 2,
    });
  });

  it('bisects failing batches, retries a bounded number of times, gives up after an hour into its DLQ', () => {
    expect(mapping()).toMatchObject({
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 8,
      MaximumRecordAgeInSeconds: 3600,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: ref(stack.relay.deadLetterQueue.queueArn) } },
    });
  });

  it('lets only INSERTs of ORDER# items through: no lock, no client key item', () => {
    expect(ORDERS_TABLE.clientKeyPrefix.startsWith(ORDERS_TABLE.orderKeyPrefix)).toBe(false);
    expect(ORDERS_TABLE.idempotencyKeyPrefix.startsWith(ORDERS_TABLE.orderKeyPrefix)).toBe(false);
    const { Filters } = mapping().FilterCriteria as { Filters: { Pattern: string }[] };
    expect(Filters.map(({ Pattern }) => JSON.parse(Pattern))).toEqual([
      {
        eventName: ['INSERT'],
        dynamodb: { Keys: { [ORDERS_TABLE.partitionKey]: { S: [{ prefix: ORDERS_TABLE.orderKeyPrefix }] } } },
      },
    ]);
  });

  it('publishes on this stack’s bus', () => {
    expect(propertiesOf(template, stack.relay.relay.function)).toMatchObject({
      Handler: 'index.handler',
      Environment: { Variables: { [OUTBOX_ENVIRONMENT.eventBusName]: ref(stack.events.bus.eventBusName) } },
    });
  });

  it('may read the stream, put events on the bus and fill its DLQ — nothing else', () => {
    const { relay, deadLetterQueue } = stack.relay;
    const statements = statementsOf(template, relay.role);
    expect(statements).toEqual(
      expect.arrayContaining([
        ...functionBasics(relay.logGroup),
        allow(['dynamodb:ListStreams', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments'], '*'),
        allow(
          ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
          getAtt(stack.table.table, 'StreamArn'),
        ),
        allow(['events:PutEvents'], ref(stack.events.bus.eventBusArn)),
        allow(['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'], ref(deadLetterQueue.queueArn)),
      ]),
    );
    expect(statements).toHaveLength(5);
  });
});

describe('order archive', () => {
  const archive = () => stack.archive;

  it('routes OrderAccepted from the bus to its queue, with the DLQ for what cannot be delivered', () => {
    const rules = Object.values(template.findResources('AWS::Events::Rule')) as { Properties: Json }[];
    expect(rules).toHaveLength(1);
    expect(rules[0]?.Properties).toMatchObject({
      EventBusName: ref(stack.events.bus.eventBusName),
      EventPattern: orderAcceptedPattern,
      Targets: [
        {
          Arn: ref(archive().queue.queueArn),
          DeadLetterConfig: { Arn: ref(archive().deadLetterQueue.queueArn) },
          RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 24 * 3600 },
        },
      ],
    });
  });

  it('moves a message to the DLQ after five failed receives; the queue outlasts six consumer timeouts', () => {
    expect(propertiesOf(template, archive().queue)).toMatchObject({
      RedrivePolicy: { deadLetterTargetArn: ref(archive().deadLetterQueue.queueArn), maxReceiveCount: 5 },
      VisibilityTimeout: 180,
    });
    expect(propertiesOf(template, archive().consumer.function)).toMatchObject({ Timeout: 30 });
  });

  it('consumes the queue in batches of ten, reporting failed records one by one, at most 100 at once', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: ref(archive().queue.queueArn),
      FunctionName: ref(archive().consumer.function.functionName),
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 100 },
    });
  });

  it('tells the consumer its bucket', () => {
    expect(propertiesOf(template, archive().consumer.function)).toMatchObject({
      Environment: { Variables: { [ARCHIVE_ENVIRONMENT.bucketName]: ref(archive().bucket.bucketName) } },
    });
  });

  it('keeps the archive encrypted, private, versioned, logged, and outliving the stack', () => {
    expect(propertiesOf(template, archive().bucket)).toMatchObject({
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      VersioningConfiguration: { Status: 'Enabled' },
      LoggingConfiguration: { DestinationBucketName: ref(archive().accessLogsBucket.bucketName) },
    });
    expect(template.toJSON().Resources[logicalIdOf(archive().bucket)]).toMatchObject({ DeletionPolicy: 'Retain' });
  });

  it('keeps archived orders in S3 Standard: no transition, small objects never transitioned by default', () => {
    expect(propertiesOf(template, archive().bucket).LifecycleConfiguration).toEqual({
      TransitionDefaultMinimumObjectSize: 'all_storage_classes_128K',
      Rules: [
        {
          Id: 'orders-housekeeping',
          Prefix: ARCHIVE_KEY_PREFIX,
          Status: 'Enabled',
          NoncurrentVersionExpiration: { NoncurrentDays: 90 },
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
        },
      ],
    });
  });

  it('refuses any request to either bucket without TLS', () => {
    for (const bucket of [archive().bucket, archive().accessLogsBucket]) {
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: ref(bucket.bucketName),
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 's3:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    }
  });

  it('may create objects under the archive prefix and consume its queue — nothing else', () => {
    const statements = statementsOf(template, archive().consumer.role);
    expect(statements).toEqual(
      expect.arrayContaining([
        ...functionBasics(archive().consumer.logGroup),
        allow(['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], '*'),
        allow(
          ['s3:PutObject'],
          { 'Fn::Join': ['', [getAtt(archive().bucket, 'Arn'), `/${ARCHIVE_KEY_PREFIX}*`]] },
          {
            Sid: 'CreateArchivedOrders',
          },
        ),
        allow(
          [
            'sqs:ChangeMessageVisibility',
            'sqs:DeleteMessage',
            'sqs:GetQueueAttributes',
            'sqs:GetQueueUrl',
            'sqs:ReceiveMessage',
          ],
          ref(archive().queue.queueArn),
        ),
      ]),
    );
    expect(statements).toHaveLength(4);
  });
});

describe('queues', () => {
  it('are all encrypted at rest and refuse requests without TLS', () => {
    const queues = [stack.relay.deadLetterQueue, stack.archive.queue, stack.archive.deadLetterQueue];
    expect(Object.keys(template.findResources('AWS::SQS::Queue'))).toHaveLength(queues.length);
    for (const queue of queues) {
      expectSecureQueue(template, queue);
    }
  });

  it('keep dead letters for 14 days, the longest SQS allows', () => {
    for (const queue of [stack.relay.deadLetterQueue, stack.archive.deadLetterQueue]) {
      expect(propertiesOf(template, queue)).toMatchObject({ MessageRetentionPeriod: 14 * 24 * 3600 });
    }
  });
});
