/**
 * OrderAcceptedSubscription as a downstream team uses it: a stack of its own that imports the Order Intake bus and
 * adds a subscription in a few lines; and the archive, which is built on it.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { ARCHIVE_CONSUMER_ENTRY } from '../../cdk/lib/order-archive.js';
import {
  IDEMPOTENCY_TABLE,
  OrderAcceptedSubscription,
  type OrderAcceptedSubscriptionProps,
} from '../../cdk/lib/order-accepted-subscription.js';
import type { OrderIntakeStack } from '../../cdk/lib/order-intake-stack.js';
import { orderAcceptedPattern } from '../../src/events/order-accepted.js';
import {
  allow,
  CDK_JSON,
  expectSecureQueue,
  logicalIdOf,
  SQS_CONSUMER_ACTIONS,
  propertiesOf,
  statementsOf,
  synthOrderIntake,
  type Json,
} from './synth-order-intake.js';

const ALARM_TOPIC_ARN = 'arn:aws:sns:eu-west-1:111122223333:order-intake-alarms';

/** Any handler module will do: the construct bundles it, and bundling is skipped here. */
const FUNCTION_PROPS = {
  entry: ARCHIVE_CONSUMER_ENTRY,
  description: 'Billing: OrderAccepted -> invoices',
  timeout: Duration.seconds(20),
  logLevel: 'INFO',
  logRetention: RetentionDays.ONE_MONTH,
} as const;

/** A downstream team's stack, with the bus and the alarm topic of Order Intake imported. */
function downstreamStack() {
  const app = new App({ context: { ...CDK_JSON.context, 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Billing');
  const bus = EventBus.fromEventBusName(stack, 'OrderIntakeBus', 'order-intake');
  const alarmTopic = Topic.fromTopicArn(stack, 'OrderIntakeAlarms', ALARM_TOPIC_ARN);
  return { app, stack, bus, alarmTopic };
}

const getAtt = (construct: IConstruct, attribute: string) => ({ 'Fn::GetAtt': [logicalIdOf(construct), attribute] });

describe('a subscription with idempotency table, major version 1 only, alarming the Order Intake topic', () => {
  let app: App;
  let stack: Stack;
  let subscription: OrderAcceptedSubscription;
  let template: Template;
  beforeAll(() => {
    const downstream = downstreamStack();
    ({ app, stack } = downstream);
    subscription = new OrderAcceptedSubscription(stack, 'OrderAccepted', {
      bus: downstream.bus,
      name: 'billing',
      ...FUNCTION_PROPS,
      schemaMajorVersion: 1,
      idempotencyTable: true,
      alarmTopic: downstream.alarmTopic,
    });
    template = Template.fromStack(stack);
  });
  const ref = (value: string): unknown => stack.resolve(value);

  it('matches OrderAccepted on the bus with the pattern from src/events, narrowed to schema 1.x', () => {
    expect(propertiesOf(template, subscription.rule)).toMatchObject({
      EventBusName: 'order-intake',
      EventPattern: { ...orderAcceptedPattern, detail: { schemaVersion: [{ prefix: '1.' }] } },
      Description: 'OrderAccepted 1.x to the billing queue',
    });
  });

  it('targets its queue, retrying for EventBridge’s maximum, then dead-lettering what it could not deliver', () => {
    expect(propertiesOf(template, subscription.rule).Targets).toEqual([
      expect.objectContaining({
        Arn: getAtt(subscription.queue, 'Arn'),
        DeadLetterConfig: { Arn: getAtt(subscription.deadLetterQueue, 'Arn') },
        RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 24 * 3600 },
      }),
    ]);
  });

  it('lets the rule, and only the rule, send to the DLQ', () => {
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [ref(subscription.deadLetterQueue.queueUrl)],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Action: 'sqs:SendMessage',
            Principal: { Service: 'events.amazonaws.com' },
            Condition: { ArnEquals: { 'aws:SourceArn': getAtt(subscription.rule, 'Arn') } },
          }),
        ]),
      },
    });
  });

  it('moves a message to the DLQ after five receives, and keeps it hidden for six function timeouts', () => {
    const queue = propertiesOf(template, subscription.queue);
    const { Timeout } = propertiesOf(template, subscription.consumer.function) as { Timeout: number };
    expect(queue).toMatchObject({
      RedrivePolicy: { deadLetterTargetArn: getAtt(subscription.deadLetterQueue, 'Arn'), maxReceiveCount: 5 },
      VisibilityTimeout: 120,
    });
    expect(Timeout).toBe(20);
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * Timeout);
  });

  it('encrypts both queues, refuses requests without TLS and keeps dead letters 14 days', () => {
    for (const queue of [subscription.queue, subscription.deadLetterQueue]) {
      expectSecureQueue(template, queue);
    }
    expect(propertiesOf(template, subscription.deadLetterQueue)).toMatchObject({
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
  });

  it('feeds the function batches of ten, failed records reported one by one, at most ten invocations at once', () => {
    const mappings = template.findResources('AWS::Lambda::EventSourceMapping');
    expect(Object.values(mappings).map(({ Properties }) => Properties as Json)).toEqual([
      {
        EventSourceArn: getAtt(subscription.queue, 'Arn'),
        FunctionName: ref(subscription.consumer.function.functionName),
        BatchSize: 10,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig: { MaximumConcurrency: 10 },
      },
    ]);
  });

  it('alarms the given topic on one visible message in the DLQ', () => {
    expect(propertiesOf(template, subscription.deadLetterAlarm)).toEqual({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: getAtt(subscription.deadLetterQueue, 'QueueName') }],
      Statistic: 'Maximum',
      Period: 60,
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [ALARM_TOPIC_ARN],
      AlarmDescription:
        'OrderAccepted events that did not reach the billing consumer: redrive the DLQ once the cause is fixed.',
    });
  });

  it('creates the idempotency table Powertools expects: key id, TTL on expiration, on demand, PITR', () => {
    if (!subscription.idempotencyTable) throw new Error('no idempotency table');
    expect(propertiesOf(template, subscription.idempotencyTable)).toEqual({
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it('names the table to the function, beside the common environment', () => {
    const table = subscription.idempotencyTable;
    expect(propertiesOf(template, subscription.consumer.function).Environment).toEqual({
      Variables: {
        POWERTOOLS_LOG_LEVEL: 'INFO',
        NODE_OPTIONS: '--enable-source-maps',
        [IDEMPOTENCY_TABLE.environmentVariable]: ref(table?.tableName ?? 'missing'),
      },
    });
  });

  it('may get, put, update and delete idempotency records and consume its queue — nothing else', () => {
    const { consumer } = subscription;
    const statements = statementsOf(template, consumer.role);
    expect(statements).toEqual(
      expect.arrayContaining([
        allow(['logs:CreateLogStream', 'logs:PutLogEvents'], getAtt(consumer.logGroup, 'Arn')),
        allow(['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], '*'),
        allow(
          ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
          getAtt(subscription.idempotencyTable as IConstruct, 'Arn'),
        ),
        allow(SQS_CONSUMER_ACTIONS, getAtt(subscription.queue, 'Arn')),
      ]),
    );
    expect(statements).toHaveLength(4);
  });

  it('passes cdk-nag AwsSolutions, and CDK reports no error or warning', () => {
    const report = new AwsSolutionsChecks().validateScope(app);
    expect(report.violations.map(({ ruleName }) => ruleName)).toEqual([]);
    expect(Annotations.fromStack(stack).findError('*', Match.anyValue())).toEqual([]);
    expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
  });
});

describe('a subscription with the defaults', () => {
  let subscription: OrderAcceptedSubscription;
  let template: Template;
  beforeAll(() => {
    const { stack, bus } = downstreamStack();
    subscription = new OrderAcceptedSubscription(stack, 'OrderAccepted', { bus, name: 'billing', ...FUNCTION_PROPS });
    template = Template.fromStack(stack);
  });

  it('takes every OrderAccepted, makes no idempotency table and notifies nobody until told', () => {
    expect(propertiesOf(template, subscription.rule).EventPattern).toEqual(orderAcceptedPattern);
    expect(subscription.idempotencyTable).toBeUndefined();
    template.resourceCountIs('AWS::DynamoDB::Table', 0);
    expect(propertiesOf(template, subscription.deadLetterAlarm)).not.toHaveProperty('AlarmActions');
    expect(
      Object.keys(
        (propertiesOf(template, subscription.consumer.function).Environment as { Variables: Json }).Variables,
      ),
    ).not.toContain(IDEMPOTENCY_TABLE.environmentVariable);
  });
});

describe('settings', () => {
  const synth = (settings: Partial<OrderAcceptedSubscriptionProps>) => {
    const { stack, bus } = downstreamStack();
    const subscription = new OrderAcceptedSubscription(stack, 'OrderAccepted', {
      bus,
      name: 'billing',
      ...FUNCTION_PROPS,
      ...settings,
    } as OrderAcceptedSubscriptionProps);
    return { subscription, template: Template.fromStack(stack) };
  };

  it('adds a batching window to the visibility timeout and passes batch, concurrency and retry settings on', () => {
    const { subscription, template } = synth({
      batchSize: 100,
      maxBatchingWindow: Duration.seconds(5),
      maxConcurrency: 4,
      maxReceiveCount: 3,
      retryAttempts: 10,
      maxEventAge: Duration.hours(2),
    });
    expect(propertiesOf(template, subscription.queue)).toMatchObject({
      VisibilityTimeout: 6 * 20 + 5,
      RedrivePolicy: { maxReceiveCount: 3 },
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 5,
      ScalingConfig: { MaximumConcurrency: 4 },
    });
    expect(propertiesOf(template, subscription.rule).Targets).toEqual([
      expect.objectContaining({ RetryPolicy: { MaximumRetryAttempts: 10, MaximumEventAgeInSeconds: 7200 } }),
    ]);
  });

  it('adds a detail pattern to the OrderAccepted pattern', () => {
    const { subscription, template } = synth({
      schemaMajorVersion: 2,
      detailPattern: { customerId: [{ prefix: 'CUST-' }] },
    });
    expect(propertiesOf(template, subscription.rule).EventPattern).toEqual({
      ...orderAcceptedPattern,
      detail: { customerId: [{ prefix: 'CUST-' }], schemaVersion: [{ prefix: '2.' }] },
    });
  });

  it.each([
    [{ schemaMajorVersion: 0 }, /schemaMajorVersion must be a positive integer/],
    [{ schemaMajorVersion: 1, detailPattern: { schemaVersion: ['1.0'] } }, /not both/],
    [{ maxReceiveCount: 0 }, /maxReceiveCount must be an integer from 1 to 1000/],
  ])('refuses %j at synth', (settings, message) => {
    expect(() => synth(settings)).toThrow(message);
  });

  it('takes either a function of the caller or the props to build one, never both', () => {
    const { stack, bus } = downstreamStack();
    const built = new OrderAcceptedSubscription(stack, 'First', { bus, name: 'first', ...FUNCTION_PROPS });
    const given = new OrderAcceptedSubscription(stack, 'Second', { bus, name: 'second', consumer: built.consumer });
    expect(given.consumer).toBe(built.consumer);
    const both = { bus, name: 'third', consumer: built.consumer, ...FUNCTION_PROPS };
    // @ts-expect-error: a given function and the props to build another
    const refused: OrderAcceptedSubscriptionProps = both;
    expect(refused).toBe(both);
  });
});

describe('the order archive', () => {
  let stack: OrderIntakeStack;
  let template: Template;
  beforeAll(() => {
    ({ stack, template } = synthOrderIntake());
  });

  it('is a subscription of its own consumer function, without an idempotency table (its writes are create-only)', () => {
    const { archive } = stack;
    expect(archive.subscription).toBeInstanceOf(OrderAcceptedSubscription);
    expect(archive.subscription.consumer).toBe(archive.consumer);
    expect(archive.queue).toBe(archive.subscription.queue);
    expect(archive.deadLetterQueue).toBe(archive.subscription.deadLetterQueue);
    expect(archive.subscription.idempotencyTable).toBeUndefined();
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
  });

  it('has its DLQ alarm notify the stack’s alarm topic, with the stack’s other alarms', () => {
    const alarm = stack.archive.subscription.deadLetterAlarm;
    expect(stack.monitoring.alarms).toContain(alarm);
    expect(propertiesOf(template, alarm)).toMatchObject({
      AlarmActions: [stack.resolve(stack.monitoring.topic.topicArn)],
    });
  });
});
