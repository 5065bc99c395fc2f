/**
 * Alarms on what breaks the promise to a client or to a consumer, and one dashboard for the whole flow. Every alarm
 * notifies one SNS topic; subscribe to it (or set the alarmEmail context key).
 */
import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import type { Stage } from 'aws-cdk-lib/aws-apigateway';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  type Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

/** The latency objective: 95 % of requests answered within this many milliseconds. */
export const API_P95_LATENCY_MS = 300;
/** Share of requests answered 5xx that pages someone. */
export const API_5XX_RATE = 0.01;

const ONE_MINUTE = Duration.minutes(1);

export interface MonitoringProps {
  readonly stage: Stage;
  readonly stateMachine: IStateMachine;
  readonly table: ITable;
  readonly functions: { readonly validate: IFunction; readonly relay: IFunction; readonly archive: IFunction };
  readonly relayDeadLetterQueue: IQueue;
  readonly archiveQueue: IQueue;
  readonly archiveDeadLetterQueue: IQueue;
  /** Alarms built beside what they watch (a subscription's DLQ depth): they notify the topic too. */
  readonly subscriptionAlarms: readonly Alarm[];
  /** @default - no subscription: subscribe to the topic yourself */
  readonly alarmEmail?: string;
}

export class Monitoring extends Construct {
  readonly topic: Topic;
  readonly alarms: Alarm[] = [];
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    this.topic = new Topic(this, 'AlarmTopic', { displayName: 'Order Intake alarms', enforceSSL: true });
    // enforceSSL writes a topic policy, and a topic policy replaces SNS's default one: without this Allow nothing
    // lets CloudWatch publish, and every alarm action fails ("not authorized to perform: SNS:Publish" in the alarm's
    // history). Scoped to this account's alarms in this Region, so no other account's alarm can use the topic
    // through CloudWatch (the confused deputy).
    const stack = Stack.of(this);
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowThisAccountsAlarms',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: {
            'aws:SourceArn': stack.formatArn({
              service: 'cloudwatch',
              resource: 'alarm',
              resourceName: '*',
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );
    if (props.alarmEmail) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));

    const { stage, stateMachine } = props;
    // 5XXError averages to the share of requests that failed.
    this.alarm('ApiServerErrors', stage.metricServerError({ statistic: 'Average', period: ONE_MINUTE }), {
      threshold: API_5XX_RATE,
      description: `More than ${API_5XX_RATE * 100} % of API requests answered 5xx (3 of the last 5 minutes).`,
      datapointsToAlarm: 3,
      evaluationPeriods: 5,
    });
    this.alarm('ApiLatencyP95', stage.metricLatency({ statistic: 'p95', period: ONE_MINUTE }), {
      threshold: API_P95_LATENCY_MS,
      description: `API p95 latency above ${API_P95_LATENCY_MS} ms (3 of the last 5 minutes).`,
      datapointsToAlarm: 3,
      evaluationPeriods: 5,
    });
    // Expected outcomes (invalid, duplicate, store unavailable) end as SUCCEEDED: a failed execution is a bug or a
    // misconfiguration (access denied, a malformed request), and its error names which.
    this.alarm('WorkflowExecutionsFailed', stateMachine.metricFailed({ statistic: 'Sum', period: ONE_MINUTE }), {
      threshold: 0,
      description:
        'A workflow execution failed (a misconfiguration or a bug; the execution history names the error): the client got a 500.',
    });
    this.alarm('WorkflowExecutionsTimedOut', stateMachine.metricTimedOut({ statistic: 'Sum', period: ONE_MINUTE }), {
      threshold: 0,
      description:
        'A workflow execution timed out: the client got a 503, the order may be stored (the relay publishes it).',
    });
    this.alarm('RelayDeadLetters', this.depth(props.relayDeadLetterQueue), {
      threshold: 0,
      description: 'Stream records the outbox relay could not publish: replay them from the stream within 24 h.',
    });
    for (const alarm of props.subscriptionAlarms) this.adopt(alarm);

    const fns = Object.entries(props.functions);
    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: `${Stack.of(this).stackName}-order-intake`,
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(new AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: 3 }));
    this.dashboard.addWidgets(
      graph('API requests', [stage.metricCount({ statistic: 'Sum' })]),
      graph('API errors', [
        stage.metricClientError({ statistic: 'Sum' }),
        stage.metricServerError({ statistic: 'Sum' }),
      ]),
      graph(
        'API latency (ms)',
        [
          stage.metricLatency({ statistic: 'p50' }),
          stage.metricLatency({ statistic: 'p95' }),
          stage.metricIntegrationLatency({ statistic: 'p95' }),
        ],
        API_P95_LATENCY_MS,
      ),
    );
    this.dashboard.addWidgets(
      graph('Workflow executions', [
        stateMachine.metricStarted({ statistic: 'Sum' }),
        stateMachine.metricSucceeded({ statistic: 'Sum' }),
        stateMachine.metricFailed({ statistic: 'Sum' }),
        stateMachine.metricTimedOut({ statistic: 'Sum' }),
        stateMachine.metricThrottled({ statistic: 'Sum' }),
      ]),
      graph('Workflow duration (ms)', [stateMachine.metricTime({ statistic: 'p95' })]),
      graph('Table throttled requests', [props.table.metricThrottledRequestsForOperations({ statistic: 'Sum' })]),
    );
    this.dashboard.addWidgets(
      graph(
        'Lambda errors',
        fns.map(([name, fn]) => fn.metricErrors({ statistic: 'Sum', label: name })),
      ),
      graph(
        'Lambda duration p95 (ms)',
        fns.map(([name, fn]) => fn.metricDuration({ statistic: 'p95', label: name })),
      ),
      graph('Relay iterator age (ms)', [
        props.functions.relay.metric('IteratorAge', { statistic: 'Maximum', label: 'relay' }),
      ]),
    );
    this.dashboard.addWidgets(
      graph('Dead-letter queues', [
        this.depth(props.relayDeadLetterQueue).with({ label: 'relay DLQ' }),
        this.depth(props.archiveDeadLetterQueue).with({ label: 'archive DLQ' }),
      ]),
      graph('Archive queue', [
        props.archiveQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', label: 'visible' }),
        props.archiveQueue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', label: 'oldest (s)' }),
      ]),
    );
  }

  private depth(queue: IQueue): Metric {
    return queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: ONE_MINUTE });
  }

  private alarm(
    id: string,
    metric: Metric,
    options: { threshold: number; description: string; datapointsToAlarm?: number; evaluationPeriods?: number },
  ): void {
    const alarm = new Alarm(this, id, {
      metric,
      threshold: options.threshold,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: options.evaluationPeriods ?? 1,
      datapointsToAlarm: options.datapointsToAlarm ?? 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: options.description,
    });
    this.adopt(alarm);
  }

  private adopt(alarm: Alarm): void {
    alarm.addAlarmAction(new SnsAction(this.topic));
    this.alarms.push(alarm);
  }
}

const graph = (title: string, metrics: IMetric[], threshold?: number): GraphWidget =>
  new GraphWidget({
    title,
    left: metrics,
    width: 8,
    leftAnnotations: threshold === undefined ? undefined : [{ value: threshold, label: 'objective' }],
  });
