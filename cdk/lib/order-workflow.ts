/**
 * The order-intake workflow in AWS: the Validate Lambda and the EXPRESS state machine defined by
 * asl/order-intake.asl.json, instantiated with the same substitutions the local runtime uses.
 */
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { ORDER_INTAKE_ASL_PATH, workflowSubstitutions } from '../../asl/order-intake.js';
import { validateFunctionTimeoutSeconds } from '../../src/deployed-settings.js';
import { ORDERS_TABLE } from '../../src/store/orders-table.js';
import { validateEnvironment } from '../../src/validation/validate-settings.js';
import type { LambdaLogLevel, WorkflowLogLevel } from './deployment-config.js';
import { StackLogGroup } from './log-group.js';
import { NodeFunction, PROJECT_ROOT } from './node-function.js';
import { leadingKeysLike } from './orders-table.js';

export const VALIDATE_ENTRY = `${PROJECT_ROOT}lambdas/validate/handler.ts`;

export interface OrderWorkflowProps {
  readonly table: ITable;
  readonly bus: IEventBus;
  /** false: the workflow skips its Publish task and the stream relay alone publishes OrderAccepted. */
  readonly publishFastPath: boolean;
  /** How long a client's Idempotency-Key is honoured, in hours: Validate writes the key item's expiry. */
  readonly clientKeyRetentionHours: number;
  readonly executionLogLevel: WorkflowLogLevel;
  readonly includeExecutionData: boolean;
  /** The Validate function's, named as for every Lambda of the app; the state machine's is executionLogLevel. */
  readonly logLevel: LambdaLogLevel;
  /** Of the execution logs and the Validate function's logs. */
  readonly logRetention: RetentionDays;
  /**
   * The Validate function's reserved concurrency: the request path's share of the account's pool, which the relay,
   * the archive and any other function of the account cannot take.
   * @default - none: Validate shares the account's unreserved pool
   */
  readonly validateReservedConcurrency?: number;
}

export class OrderWorkflow extends Construct {
  readonly validate: NodeFunction;
  readonly stateMachine: StateMachine;
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: OrderWorkflowProps) {
    super(scope, id);
    this.validate = new NodeFunction(this, 'Validate', {
      entry: VALIDATE_ENTRY,
      description: 'Order Intake: validates an order request and derives its idempotency key',
      timeout: Duration.seconds(validateFunctionTimeoutSeconds()),
      // On the request path: Lambda's CPU grows with memory, and 512 MB keeps validation and cold starts short.
      memorySize: 512,
      reservedConcurrentExecutions: props.validateReservedConcurrency,
      logLevel: props.logLevel,
      logRetention: props.logRetention,
      // Validate builds the transaction's items (src/store/orders-table.ts), which name the table; the local runtime
      // hands its handler the same environment.
      environment: validateEnvironment({
        tableName: props.table.tableName,
        clientKeyRetentionHours: props.clientKeyRetentionHours,
      }),
    });

    // The vendedlogs prefix lets Step Functions share one CloudWatch Logs resource policy across log groups.
    this.logGroup = new StackLogGroup(this, 'ExecutionLogs', {
      logGroupName: `/aws/vendedlogs/states/${Stack.of(this).stackName}-order-intake`,
      retention: props.logRetention,
    });

    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('states.amazonaws.com'),
      description: `Order Intake workflow: validate, persist, read the lock and its own order${props.publishFastPath ? ', publish' : ''}`,
    });
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'Validate',
        actions: ['lambda:InvokeFunction'],
        resources: [this.validate.function.functionArn],
      }),
    );
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'PersistInOneTransaction',
        actions: ['dynamodb:PutItem'],
        resources: [props.table.tableArn],
        conditions: {
          // A single-valued key: a plain operator (ForAnyValue on it is what IAM Access Analyzer flags).
          StringEquals: { 'dynamodb:EnclosingOperation': 'TransactWriteItems' },
          ...leadingKeysLike(
            ORDERS_TABLE.idempotencyKeyPrefix,
            ORDERS_TABLE.orderKeyPrefix,
            ORDERS_TABLE.clientKeyPrefix,
          ),
        },
      }),
    );
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        // ReadLock reads the lock of a duplicate; ReadOwnOrder reads its own order after a write of unknown outcome;
        // ReadClientKey the client's key item, after a cancelled write of a request with an Idempotency-Key.
        sid: 'ReadLockAndOwnOrder',
        actions: ['dynamodb:GetItem'],
        resources: [props.table.tableArn],
        conditions: leadingKeysLike(
          ORDERS_TABLE.idempotencyKeyPrefix,
          ORDERS_TABLE.orderKeyPrefix,
          ORDERS_TABLE.clientKeyPrefix,
        ),
      }),
    );
    // With the fast path off the Publish task never runs (the stream relay publishes), so the role cannot publish.
    if (props.publishFastPath) {
      this.role.addToPrincipalPolicy(
        new PolicyStatement({ sid: 'Publish', actions: ['events:PutEvents'], resources: [props.bus.eventBusArn] }),
      );
    }

    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineType: StateMachineType.EXPRESS,
      definitionBody: DefinitionBody.fromFile(ORDER_INTAKE_ASL_PATH),
      definitionSubstitutions: workflowSubstitutions(
        {
          ValidateFunctionArn: this.validate.function.functionArn,
          OrdersTableName: props.table.tableName,
          EventBusName: props.bus.eventBusName,
        },
        { PublishFastPath: props.publishFastPath ? 'ON' : 'OFF' },
      ),
      role: this.role,
      tracingEnabled: true,
      logs: {
        destination: this.logGroup,
        level: LogLevel[props.executionLogLevel],
        includeExecutionData: props.includeExecutionData,
      },
    });

    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only the actions that take no resource: X-Ray PutTraceSegments/PutTelemetryRecords/GetSampling* and the ' +
        'CloudWatch Logs delivery actions Step Functions needs to log executions.',
    });
    if (props.executionLogLevel !== 'ALL') {
      Validations.of(this.stateMachine).acknowledge({
        id: 'AwsSolutions-SF1',
        reason: `The operator chose workflowLogLevel=${props.executionLogLevel}: logging every event costs too much at high volume.`,
      });
    }
  }
}
