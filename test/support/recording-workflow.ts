import { validateHandlerOn } from './validate.js';
import type { WorkflowResources } from '../../asl/order-intake.js';
import type { ConsoleStore } from '../../local/console/console-store.js';
import { createOrderWorkflow, type OrderWorkflow } from '../../local/stepfunctions/order-workflow.js';
import { testDynamoDbClient } from './dynamodb.js';
import { deployedAuthorizers } from './iam.js';
import { RecordingBus } from './recording-bus.js';

const VALIDATE_ARN = 'arn:aws:lambda:local:000000000000:function:order-intake-validate';
const BUS = 'order-intake-test';

/** The real workflow on a table of DynamoDB Local, every execution recorded in `store` as the console records it. */
export function recordingWorkflow(
  tableName: string,
  store: ConsoleStore,
): { workflow: OrderWorkflow; resources: WorkflowResources } {
  const resources = { ValidateFunctionArn: VALIDATE_ARN, OrdersTableName: tableName, EventBusName: BUS };
  const workflow = createOrderWorkflow({
    resources,
    backends: {
      dynamodb: testDynamoDbClient(),
      bus: new RecordingBus(),
      functions: { [VALIDATE_ARN]: validateHandlerOn(tableName) },
      iam: deployedAuthorizers({ tableName, busName: BUS, validateFunctionArn: VALIDATE_ARN }).workflow,
    },
    retryIntervalMs: 0,
    onExecutionEnd: (execution) => store.recordExecution(execution),
  });
  return { workflow, resources };
}
