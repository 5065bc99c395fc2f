/**
 * Order Intake in AWS (DESIGN.md section 1): API -> EXPRESS workflow -> table + bus, the outbox relay from the
 * table's stream, the archive behind the bus, alarms and a dashboard. Environment-agnostic, configured by context.
 */
import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { readDeploymentConfig, type DeploymentConfig } from './deployment-config.js';
import { Monitoring } from './monitoring.js';
import { OrderApi } from './order-api.js';
import { OrderArchive } from './order-archive.js';
import { OrderEvents } from './order-events.js';
import { OrdersTable } from './orders-table.js';
import { OrderWorkflow } from './order-workflow.js';
import { OutboxRelay } from './outbox-relay.js';

export class OrderIntakeStack extends Stack {
  readonly config: DeploymentConfig;
  readonly table: OrdersTable;
  readonly events: OrderEvents;
  readonly workflow: OrderWorkflow;
  readonly api: OrderApi;
  readonly relay: OutboxRelay;
  readonly archive: OrderArchive;
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const config = (this.config = readDeploymentConfig(this.node));
    if (config.stackName !== this.stackName) {
      throw new Error(`stack ${this.stackName}: the stackName context key says ${config.stackName}`);
    }
    const logs = { logLevel: config.lambdaLogLevel, logRetention: config.logRetentionDays };

    this.table = new OrdersTable(this, 'Orders', {
      warmWritesPerSecond: config.ordersTableWarmWritesPerSecond,
      warmReadsPerSecond: config.ordersTableWarmReadsPerSecond,
    });
    this.events = new OrderEvents(this, 'Events', {
      archiveRetention: Duration.days(config.eventArchiveRetentionDays),
    });
    this.workflow = new OrderWorkflow(this, 'Workflow', {
      table: this.table.table,
      bus: this.events.bus,
      publishFastPath: config.publishFastPath,
      clientKeyRetentionHours: config.clientKeyRetentionHours,
      executionLogLevel: config.workflowLogLevel,
      includeExecutionData: config.workflowLogIncludeExecutionData,
      validateReservedConcurrency: config.validateReservedConcurrency,
      ...logs,
    });
    this.api = new OrderApi(this, 'Api', {
      stateMachine: this.workflow.stateMachine,
      table: this.table.table,
      authorization: config.apiAuthorization,
      allowedSourceIps: config.apiAllowedSourceIps,
      allowedVpcEndpoints: config.apiAllowedVpcEndpoints,
      cloudWatchRole: config.apiCloudWatchRole,
      throttlingRateLimit: config.apiThrottlingRateLimit,
      throttlingBurstLimit: config.apiThrottlingBurstLimit,
      logRetention: config.logRetentionDays,
    });
    this.relay = new OutboxRelay(this, 'OutboxRelay', {
      table: this.table.table,
      bus: this.events.bus,
      reservedConcurrency: config.relayReservedConcurrency,
      ...logs,
    });
    this.archive = new OrderArchive(this, 'OrderArchive', { bus: this.events.bus, ...logs });
    this.monitoring = new Monitoring(this, 'Monitoring', {
      stage: this.api.api.deploymentStage,
      stateMachine: this.workflow.stateMachine,
      table: this.table.table,
      functions: {
        validate: this.workflow.validate.function,
        relay: this.relay.relay.function,
        archive: this.archive.consumer.function,
      },
      relayDeadLetterQueue: this.relay.deadLetterQueue,
      archiveQueue: this.archive.queue,
      archiveDeadLetterQueue: this.archive.deadLetterQueue,
      subscriptionAlarms: [this.archive.subscription.deadLetterAlarm],
      alarmEmail: config.alarmEmail,
    });

    // Where ops look first (docs/deploy.md): `cdk deploy` prints these, and the stack's Outputs tab keeps them.
    const outputs: Record<string, string> = {
      ApiUrl: this.api.api.url,
      StateMachineArn: this.workflow.stateMachine.stateMachineArn,
      ExecutionLogGroup: this.workflow.logGroup.logGroupName,
      ApiAccessLogGroup: this.api.accessLogs.logGroupName,
      ...(this.api.executionLogs && { ApiExecutionLogGroup: this.api.executionLogs.logGroupName }),
      OrdersTableName: this.table.table.tableName,
      EventBusName: this.events.bus.eventBusName,
      EventArchiveName: this.events.archive.archiveName,
      ArchiveBucketName: this.archive.bucket.bucketName,
      RelayDeadLetterQueueUrl: this.relay.deadLetterQueue.queueUrl,
      ArchiveQueueArn: this.archive.queue.queueArn,
      ArchiveDeadLetterQueueUrl: this.archive.deadLetterQueue.queueUrl,
      ArchiveDeadLetterQueueArn: this.archive.deadLetterQueue.queueArn,
      AlarmTopicArn: this.monitoring.topic.topicArn,
      DashboardName: this.monitoring.dashboard.dashboardName,
    };
    for (const [name, value] of Object.entries(outputs)) new CfnOutput(this, name, { value });
  }
}
