/**
 * The local runtime refuses what AWS would refuse. Each case takes the synthesized template, removes one permission
 * a caller needs, and runs the real workflow or handler locally against it: the call fails with the status and the
 * error name AWS gives for that integration kind. The same runs with the template as synthesized succeed, so each
 * failure is the missing permission's doing.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { Logger } from '@aws-lambda-powertools/logger';
import { marshall } from '@aws-sdk/util-dynamodb';
import { ulid } from 'ulid';
import { createPublishHandler } from '../../lambdas/publish/handler.js';
import { EventBridgePublisher } from '../../lambdas/publish/eventbridge-publisher.js';
import { validateHandlerOn } from '../support/validate.js';
import { localEventBridgeClient } from '../../local/eventbridge/local-eventbridge-client.js';
import { authorizersFor, type CallerAuthorizers } from '../../local/iam/index.js';
import { deployedIamSource, type CallerRole, type DeployedIamSource } from '../../local/iam/deployed-roles.js';
import { LOCAL_RESOURCES } from '../../local/local-account.js';
import { loadApiMappingTemplates } from '../../local/apigateway/vtl/api-templates.js';
import { createOrderWorkflow } from '../../local/stepfunctions/order-workflow.js';
import { orderKey } from '../../src/store/orders-table.js';
import { afterLosingAnswers, freshOrdersTable, testDynamoDbClient } from '../support/dynamodb.js';
import { deployedAuthorizers, deployedStack } from '../support/iam.js';
import { validOrder, workflowInput } from '../support/order-samples.js';
import { RecordingBus } from '../support/recording-bus.js';
import { requestContext } from '../support/request-context.js';

const dynamodb = testDynamoDbClient();
let tableName: string;
beforeAll(async () => {
  tableName = await freshOrdersTable(dynamodb);
});
afterAll(() => dynamodb.destroy());

type Statement = { Action: string | string[]; Condition?: Record<string, Record<string, unknown>> };

/** The deployed IAM with one edit to the statements of one caller's role, made on a copy of the template. */
function deployedIamWith(caller: CallerRole, edit: (statement: Statement) => Statement | undefined): DeployedIamSource {
  const { logicalIds, template } = deployedStack();
  const copy = structuredClone(template);
  const source = deployedIamSource(logicalIds, copy, { ...LOCAL_RESOURCES, tableName });
  let edited = 0;
  for (const resource of Object.values(copy.Resources)) {
    const roles = JSON.stringify(resource.Properties?.Roles ?? []);
    if (resource.Type !== 'AWS::IAM::Policy' || !roles.includes(`"${source.roles[caller]}"`)) continue;
    const document = resource.Properties?.PolicyDocument as { Statement: Statement[] };
    document.Statement = document.Statement.flatMap((statement) => {
      const result = edit(structuredClone(statement));
      if (JSON.stringify(result) !== JSON.stringify(statement)) edited += 1;
      return result ? [result] : [];
    });
  }
  expect(edited).toBe(1);
  return source;
}

const grants = (statement: Statement, action: string) => [statement.Action].flat().includes(action);
const asDeployed = (): CallerAuthorizers => deployedAuthorizers({ tableName });

function workflowUnder(iam: CallerAuthorizers, client = dynamodb) {
  return createOrderWorkflow({
    resources: {
      ValidateFunctionArn: LOCAL_RESOURCES.validateFunctionArn,
      OrdersTableName: tableName,
      EventBusName: LOCAL_RESOURCES.busName,
    },
    backends: {
      dynamodb: client,
      bus: new RecordingBus(),
      functions: { [LOCAL_RESOURCES.validateFunctionArn]: validateHandlerOn(tableName) },
      iam: iam.workflow,
    },
    retryIntervalMs: 0,
  });
}

/** The status API Gateway answers for an execution result, through the project's response template. */
function httpStatusOf(execution: object): number | undefined {
  const templates = loadApiMappingTemplates({
    StateMachineArn: LOCAL_RESOURCES.stateMachineArn,
    OrdersTableName: tableName,
  });
  return templates.postOrdersResponse.render({
    body: JSON.stringify(execution),
    context: requestContext(),
  }).status;
}

async function storedOrderIds(): Promise<string[]> {
  const { Items = [] } = await dynamodb.send(new ScanCommand({ TableName: tableName, ConsistentRead: true }));
  return Items.flatMap((item) => (item.pk?.S?.startsWith(orderKey('')) ? [String(item.orderId?.S)] : []));
}

describe('without the workflow role’s read of its own order (ORDER# under GetItem)', () => {
  const withoutOrderRead = () =>
    deployedIamWith('workflow', (statement) => {
      if (!grants(statement, 'dynamodb:GetItem')) return statement;
      const like = statement.Condition?.['ForAllValues:StringLike'] as { 'dynamodb:LeadingKeys': string[] };
      like['dynamodb:LeadingKeys'] = like['dynamodb:LeadingKeys'].filter((prefix) => !prefix.startsWith('ORDER#'));
      return statement;
    });

  it('a committed write whose answer was lost fails ReadOwnOrder as DynamoDB.AmazonDynamoDBException: 500', async () => {
    const client = testDynamoDbClient();
    afterLosingAnswers(client, 'TransactWriteItemsCommand', Infinity);
    const body = JSON.stringify({ ...validOrder, clientReference: 'no-order-read' });

    const execution = await workflowUnder(authorizersFor(withoutOrderRead()), client).startSyncExecution(
      workflowInput(body, 'req-1'),
      'req-1',
    );

    expect(execution).toMatchObject({ status: 'FAILED', error: 'DynamoDB.AmazonDynamoDBException' });
    expect(execution.cause).toMatch(
      /^User: arn:aws:sts::000000000000:assumed-role\/\w+\/\w+ is not authorized to perform: dynamodb:GetItem on resource: arn:aws:dynamodb:local:000000000000:table\/orders-[\w-]+ because no identity-based policy allows the dynamodb:GetItem action \(Service: AmazonDynamoDBv2; Status Code: 400; Error Code: AccessDeniedException; Request ID: [\w-]+; Proxy: null\)$/,
    );
    expect(httpStatusOf(execution)).toBe(500);
    client.destroy();
  });

  it('with the read, as deployed, the same case is accepted', async () => {
    const client = testDynamoDbClient();
    afterLosingAnswers(client, 'TransactWriteItemsCommand', Infinity);
    const body = JSON.stringify({ ...validOrder, clientReference: 'with-order-read' });

    const execution = await workflowUnder(asDeployed(), client).startSyncExecution(
      workflowInput(body, 'req-2'),
      'req-2',
    );

    expect(execution.status).toBe('SUCCEEDED');
    expect(httpStatusOf(execution)).toBe(202);
    client.destroy();
  });
});

describe('without the transaction’s PutItem', () => {
  it('Persist fails as DynamoDb.DynamoDbException, nothing is stored, and the API answers 500', async () => {
    const iam = authorizersFor(deployedIamWith('workflow', (s) => (grants(s, 'dynamodb:PutItem') ? undefined : s)));
    const before = await storedOrderIds();
    const body = JSON.stringify({ ...validOrder, clientReference: 'no-put' });

    const execution = await workflowUnder(iam).startSyncExecution(workflowInput(body, 'req-3'), 'req-3');

    expect(execution).toMatchObject({ status: 'FAILED', error: 'DynamoDb.DynamoDbException' });
    expect(execution.cause).toMatch(
      /is not authorized to perform: dynamodb:PutItem on resource: .* \(Service: DynamoDb, Status Code: 400, Request ID: [\w-]+\)$/,
    );
    expect(httpStatusOf(execution)).toBe(500);
    expect(await storedOrderIds()).toEqual(before);
  });
});

describe('without the workflow role’s invoke of Validate', () => {
  it('Validate fails as Lambda.AWSLambdaException (403), is retried, then fails the execution: 500, not 503', async () => {
    const iam = authorizersFor(
      deployedIamWith('workflow', (s) => (grants(s, 'lambda:InvokeFunction') ? undefined : s)),
    );
    const body = JSON.stringify({ ...validOrder, clientReference: 'no-invoke' });

    const execution = await workflowUnder(iam).startSyncExecution(workflowInput(body, 'req-4'), 'req-4');

    expect(execution).toMatchObject({ status: 'FAILED', error: 'Lambda.AWSLambdaException' });
    expect(execution.cause).toMatch(
      /is not authorized to perform: lambda:InvokeFunction .*Status Code: 403; Error Code: AccessDeniedException/,
    );
    expect(httpStatusOf(execution)).toBe(500);
  });
});

describe('without the relay’s PutEvents', () => {
  const orderRecord = () => {
    const orderId = ulid();
    const document = {
      orderId,
      status: 'ACCEPTED',
      acceptedAt: new Date().toISOString(),
      idempotencyKey: 'a'.repeat(64),
      ...validOrder,
    };
    return {
      eventID: orderId,
      eventName: 'INSERT' as const,
      dynamodb: {
        SequenceNumber: '1',
        NewImage: marshall({ pk: orderKey(orderId), orderId, document: JSON.stringify(document) }) as never,
      },
    };
  };
  const relayUnder = (iam: CallerAuthorizers, bus: RecordingBus) =>
    createPublishHandler({
      eventBusName: LOCAL_RESOURCES.busName,
      publisher: new EventBridgePublisher(localEventBridgeClient(bus, iam.relay)),
      logger: new Logger({ serviceName: 'iam-strictness', logLevel: 'SILENT' }),
      backoffMs: 0,
    });

  it('the relay’s PutEvents is refused with AccessDeniedException: the record fails and nothing is published', async () => {
    const iam = authorizersFor(deployedIamWith('relay', (s) => (grants(s, 'events:PutEvents') ? undefined : s)));
    const bus = new RecordingBus();
    const client = localEventBridgeClient(bus, iam.relay);
    const record = orderRecord();

    const refused = client.send(
      new PutEventsCommand({
        Entries: [{ EventBusName: LOCAL_RESOURCES.busName, Source: 's', DetailType: 'd', Detail: '{}' }],
      }),
    );
    await expect(refused).rejects.toMatchObject({
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 400 },
      message: expect.stringMatching(
        /is not authorized to perform: events:PutEvents on resource: arn:aws:events:local:000000000000:event-bus\/order-intake because no identity-based policy allows/,
      ),
    });
    const result = await relayUnder(iam, bus)({ Records: [record] });
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: '1' }]);
    expect(bus.accepted).toEqual([]);
  });

  it('with PutEvents, as deployed, the same record is published', async () => {
    const bus = new RecordingBus();
    const result = await relayUnder(asDeployed(), bus)({ Records: [orderRecord()] });

    expect(result.batchItemFailures).toEqual([]);
    expect(bus.accepted).toHaveLength(1);
  });
});
