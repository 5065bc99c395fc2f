/**
 * How DynamoDB authorizes an API call: one IAM request per item operation, on the table, with the item's partition
 * key as dynamodb:LeadingKeys and, inside a transaction, dynamodb:EnclosingOperation. A denial is DynamoDB's
 * AccessDeniedException (HTTP 400).
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html
 */
import { DynamoDBServiceException, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { ORDERS_TABLE } from '../../src/store/orders-table.js';
import { tableArn } from './deployed-roles.js';
import { AuthorizationError, type AuthorizationRequest, type RoleAuthorizer } from './role-authorizer.js';

type Item = Record<string, AttributeValue | undefined>;
type ItemOperation = { TableName?: string; Key?: Item; Item?: Item };

/** The transaction's item operation -> the IAM action it is authorized as. */
const TRANSACT_WRITE_ACTIONS = {
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  ConditionCheck: 'ConditionCheckItem',
};
const SINGLE_ITEM_OPERATIONS = new Set(['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem']);

const itemRequest = (action: string, operation: ItemOperation, enclosing?: string): AuthorizationRequest => {
  const keyValue = (operation.Key ?? operation.Item)?.[ORDERS_TABLE.partitionKey];
  const leadingKey = keyValue?.S ?? keyValue?.N ?? keyValue?.B?.toString();
  return {
    action: `dynamodb:${action}`,
    resource: tableArn(String(operation.TableName)),
    context: {
      ...(leadingKey === undefined ? {} : { 'dynamodb:LeadingKeys': [leadingKey] }),
      ...(enclosing ? { 'dynamodb:EnclosingOperation': enclosing } : {}),
    },
  };
};

/** The IAM requests of one DynamoDB API call (`operation`: the API name, GetItem). */
export function dynamoDbAuthorizationRequests(
  operation: string,
  input: Record<string, unknown>,
): AuthorizationRequest[] {
  if (SINGLE_ITEM_OPERATIONS.has(operation)) return [itemRequest(operation, input as ItemOperation)];
  if (operation === 'TransactWriteItems' || operation === 'TransactGetItems') {
    return ((input.TransactItems ?? []) as Record<string, ItemOperation>[]).map((transactItem) => {
      const [kind, itemOperation] = Object.entries(transactItem)[0] ?? [];
      const action = operation === 'TransactGetItems' ? 'GetItem' : TRANSACT_WRITE_ACTIONS[kind as 'Put'];
      if (!action || !itemOperation) throw new AuthorizationError(`unknown ${operation} item ${String(kind)}`);
      return itemRequest(action, itemOperation, operation);
    });
  }
  throw new AuthorizationError(`DynamoDB ${operation} has no local authorization mapping`);
}

/** Authorizes the call; a denial is thrown as the DynamoDB service error the SDK would raise. */
export async function authorizeDynamoDbCall(
  authorizer: RoleAuthorizer,
  operation: string,
  input: Record<string, unknown>,
): Promise<void> {
  await authorizer.authorizeAs(
    dynamoDbAuthorizationRequests(operation, input),
    (denial) =>
      new DynamoDBServiceException({
        name: 'AccessDeniedException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
        message: denial.message,
      }),
  );
}

/**
 * The simulator's first decision on a DynamoDB call loads what it knows of DynamoDB's actions (~30 ms of CPU): npm
 * start has it made while the JVM boots, on an order no one asked about, rather than in the first request. The
 * decision itself does not matter.
 */
export async function warmUpDynamoDbAuthorization(authorizer: RoleAuthorizer, tableName: string): Promise<void> {
  await authorizeDynamoDbCall(authorizer, 'GetItem', { TableName: tableName, Key: { pk: { S: 'start-up' } } }).catch(
    () => undefined,
  );
}
