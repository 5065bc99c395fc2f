import {
  CreateTableCommand,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { ORDERS_TABLE } from '../../src/store/orders-table.js';

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
