import {
  CreateTableCommand,
  GetItemCommand,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { ORDERS_TABLE, orderKey } from '../../src/store/orders-table.js';

/**
 * Creates the orders table in DynamoDB Local from the shared definition, unless it is already there. Two calls on a
 * fresh data folder and one on an existing one: DynamoDB Local's CreateTable answers once the table is ACTIVE, and
 * ResourceInUseException says that it exists.
 */
export async function ensureOrdersTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: ORDERS_TABLE.partitionKey, AttributeType: 'S' }],
        KeySchema: [{ AttributeName: ORDERS_TABLE.partitionKey, KeyType: 'HASH' }],
        StreamSpecification: { StreamEnabled: true, StreamViewType: ORDERS_TABLE.streamViewType },
      }),
    );
  } catch (error) {
    if (error instanceof ResourceInUseException) return;
    throw error;
  }
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: ORDERS_TABLE.timeToLiveAttribute, Enabled: true },
    }),
  );
}

/**
 * Reads an order that no one can have placed (its id is no ULID), as the API's GET does, and writes nothing. A JVM's
 * first GetItem, and a client's first call, run cold code (classes loading, SQLite's statement being prepared, the
 * SDK's per-client setup): npm start reads once, beside its other start-up work, so that the first request does not
 * wait for it.
 */
export async function readOnce(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(
    new GetItemCommand({ TableName: tableName, Key: { [ORDERS_TABLE.partitionKey]: { S: orderKey('start-up') } } }),
  );
}
