/**
 * What ops rely on: every Lambda built the same way (runtime, architecture, tracing, its own log group and role),
 * the alarms and the dashboard. One synth (default context) for the whole file.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { loadApiTemplate } from '../../api/templates.js';
import type { NodeFunction } from '../../cdk/lib/node-function.js';
import { MappingTemplate } from '../../local/apigateway/vtl/mapping-template.js';
import type { OrderIntakeStack } from '../../cdk/lib/order-intake-stack.js';
import { logicalIdOf, propertiesOf, synthOrderIntake, type Json } from './synth-order-intake.js';
import { requestContext } from '../support/request-context.js';

let stack: OrderIntakeStack;
let template: Template;
beforeAll(() => {
  ({ stack, template } = synthOrderIntake());
});

const ref = (value: string): unknown => stack.resolve(value);

describe('Lambda functions', () => {
  const functions = (): [string, NodeFunction][] => [
    ['validate', stack.workflow.validate],
    ['relay', stack.relay.relay],
    ['archive', stack.archive.consumer],
  ];

  it('are the three handlers, and nothing else runs code', () => {
    expect(Object.keys(template.findResources('AWS::Lambda::Function'))).toHaveLength(functions().length);
  });

  it.each([0, 1, 2])('#%i runs on nodejs24.x, arm64, with X-Ray active tracing and source maps', (index) => {
    const [, fn] = functions()[index] as [string, NodeFunction];
    expect(propertiesOf(template, fn.function)).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      Handler: 'index.handler',
      Environment: { Variables: expect.objectContaining({ NODE_OPTIONS: '--enable-source-maps' }) },
    });
  });

  it.each([0, 1, 2])('#%i logs to its own log group, kept 30 days, as its own role', (index) => {
    const [, fn] = functions()[index] as [string, NodeFunction];
    expect(propertiesOf(template, fn.function)).toMatchObject({
      LoggingConfig: { LogGroup: ref(fn.logGroup.logGroupName) },
      Role: ref(fn.role.roleArn),
    });
    expect(propertiesOf(template, fn.logGroup)).toEqual({ RetentionInDays: 30 });
    expect(propertiesOf(template, fn.role).AssumeRolePolicyDocument).toMatchObject({
      Statement: [{ Action: 'sts:AssumeRole', Principal: { Service: 'lambda.amazonaws.com' } }],
    });
  });

  it('merge their own environment over the common one instead of replacing it', () => {
    const variables = (fn: NodeFunction) =>
      (propertiesOf(template, fn.function).Environment as { Variables: Json }).Variables;
    for (const [, fn] of functions()) expect(variables(fn)).toMatchObject({ POWERTOOLS_LOG_LEVEL: 'INFO' });
    expect(Object.keys(variables(stack.relay.relay)).sort()).toEqual([
      'EVENT_BUS_NAME',
      'NODE_OPTIONS',
      'POWERTOOLS_LOG_LEVEL',
    ]);
    expect(Object.keys(variables(stack.archive.consumer)).sort()).toEqual([
      'ARCHIVE_BUCKET_NAME',
      'NODE_OPTIONS',
      'POWERTOOLS_LOG_LEVEL',
    ]);
  });
});

describe('alarms', () => {
  /** Monitoring's own alarms by id; a subscription's alarm (a DLQ's depth) by its construct path. */
  const named = (id: string) => {
    const found = stack.monitoring.alarms.find(
      (candidate) => candidate.node.id === id || candidate.node.path === `${stack.node.id}/${id}`,
    );
    if (!found) throw new Error(`no alarm ${id}`);
    return propertiesOf(template, found);
  };
  const apiDimensions = () => [
    { Name: 'ApiName', Value: stack.api.api.restApiName },
    { Name: 'Stage', Value: ref(stack.api.api.deploymentStage.stageName) },
  ];

  it.each([
    [
      'ApiServerErrors',
      'on API 5xx answers above 1 % of requests',
      { MetricName: '5XXError', Statistic: 'Average', Threshold: 0.01 },
    ],
    [
      'ApiLatencyP95',
      'when the API p95 latency exceeds 300 ms',
      { MetricName: 'Latency', ExtendedStatistic: 'p95', Threshold: 300 },
    ],
  ])('%s fires %s, on this stage', (id, _when, metric) => {
    expect(named(id)).toMatchObject({
      Namespace: 'AWS/ApiGateway',
      ...metric,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(named(id).Dimensions).toEqual(expect.arrayContaining(apiDimensions()));
  });

  it.each([
    ['WorkflowExecutionsFailed', 'ExecutionsFailed'],
    ['WorkflowExecutionsTimedOut', 'ExecutionsTimedOut'],
  ])('%s fires on a single %s of this state machine', (id, metricName) => {
    expect(named(id)).toMatchObject({
      Namespace: 'AWS/States',
      MetricName: metricName,
      Dimensions: [{ Name: 'StateMachineArn', Value: ref(stack.workflow.stateMachine.stateMachineArn) }],
      Statistic: 'Sum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it.each([
    ['WorkflowExecutionsFailed', 'FAILED'],
    ['WorkflowExecutionsTimedOut', 'TIMED_OUT'],
  ])('%s tells ops the status the API answers a %s execution with', (id, executionStatus) => {
    const template = loadApiTemplate('postOrdersResponse', { StateMachineArn: 'arn', OrdersTableName: 'orders' });
    const answered = new MappingTemplate('postOrdersResponse', template).render({
      body: JSON.stringify({ status: executionStatus }),
      context: requestContext({ path: '/v1/orders' }),
    }).status;
    expect(named(id).AlarmDescription).toContain(`the client got a ${answered}`);
  });

  it.each([
    ['RelayDeadLetters', () => stack.relay.deadLetterQueue],
    ['OrderArchive/Subscription/DeadLetters', () => stack.archive.deadLetterQueue],
  ])('%s fires on one visible message in its DLQ', (id, queue) => {
    expect(named(id)).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: ref(queue().queueName) }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('all notify the alarm topic, which refuses publishers without TLS', () => {
    expect(stack.monitoring.alarms).toHaveLength(6);
    for (const each of stack.monitoring.alarms) {
      expect(propertiesOf(template, each)).toMatchObject({
        AlarmActions: [ref(stack.monitoring.topic.topicArn)],
        TreatMissingData: 'notBreaching',
      });
    }
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [ref(stack.monitoring.topic.topicArn)],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });
});

describe('dashboard', () => {
  it('shows the state of every alarm and the metrics of the whole flow', () => {
    const body = JSON.stringify(propertiesOf(template, stack.monitoring.dashboard).DashboardBody);
    for (const each of stack.monitoring.alarms) {
      expect(body).toContain(JSON.stringify({ 'Fn::GetAtt': [logicalIdOf(each), 'Arn'] }));
    }
    for (const metric of [
      '5XXError',
      'Latency',
      'ExecutionsStarted',
      'IteratorAge',
      'ApproximateNumberOfMessagesVisible',
    ]) {
      expect(body).toContain(metric);
    }
  });
});

describe('stack outputs', () => {
  it('name what ops look for: executions, access logs, DLQs, archives', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs).toMatchObject({
      StateMachineArn: { Value: ref(stack.workflow.stateMachine.stateMachineArn) },
      ExecutionLogGroup: { Value: ref(stack.workflow.logGroup.logGroupName) },
      ApiAccessLogGroup: { Value: ref(stack.api.accessLogs.logGroupName) },
      ApiExecutionLogGroup: { Value: ref(stack.api.executionLogs?.logGroupName ?? 'missing') },
      RelayDeadLetterQueueUrl: { Value: ref(stack.relay.deadLetterQueue.queueUrl) },
      ArchiveDeadLetterQueueUrl: { Value: ref(stack.archive.deadLetterQueue.queueUrl) },
      ArchiveBucketName: { Value: ref(stack.archive.bucket.bucketName) },
      EventArchiveName: { Value: ref(stack.events.archive.archiveName) },
    });
  });
});
