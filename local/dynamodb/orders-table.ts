import {
  CreateTableCommand,
  GetItemCommand,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { ORDERS_TABLE, orderKey } from '../../src/store/orders-table.js';

/**
 * Creates the orders table in DynamoDB Local from the shared definition, unless it is already there; true when it
 * created it. DynamoDB Local's CreateTable answers once the table is ACTIVE, and ResourceInUseException says that it
 * exists, so one call either way. A created table still needs its time to live (enableTimeToLive).
 */
async function createOrdersTable(client: DynamoDBClient, tableName: string): Promise<boolean> {
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
    return true;
  } catch (error) {
    if (error instanceof ResourceInUseException) return false;
    throw error;
  }
}

async function enableTimeToLive(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: ORDERS_TABLE.timeToLiveAttribute, Enabled: true },
    }),
  );
}

/** The orders table, created with its time to live unless it is already there: two calls on a fresh data folder. */
export async function ensureOrdersTable(client: DynamoDBClient, tableName: string): Promise<void> {
  if (await createOrdersTable(client, tableName)) await enableTimeToLive(client, tableName);
}

/**
 * npm start's orders table: created unless it is there, then three things at once, all done when this resolves: a
 * new table's time to live is set, `reader` reads once (readOnce), and `meanwhile` runs (the event runtime's start:
 * its relay needs the table, not its time to live). Resolves to what `meanwhile` resolved to; a failed call rejects,
 * once `meanwhile` has ended, so that whatever it started can be stopped.
 */
export async function prepareOrdersTable<T>(
  { client, reader, tableName }: { client: DynamoDBClient; reader: DynamoDBClient; tableName: string },
  meanwhile: () => Promise<T>,
): Promise<T> {
  const created = await createOrdersTable(client, tableName);
  const calls = Promise.all([created && enableTimeToLive(client, tableName), readOnce(reader, tableName)]);
  calls.catch(() => undefined);
  const result = await meanwhile();
  await calls;
  return result;
}

/**
 * Reads an order that no one can have placed (its id is no ULID), as the API's GET does, and writes nothing. A JVM's
 * first GetItem, and a client's first call, run cold code (classes loading, SQLite's statement being prepared, the
 * SDK's per-client setup): npm start reads once, beside its other start-up work, so that the first request does not
 * wait for it.
 */
async function readOnce(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(
    new GetItemCommand({ TableName: tableName, Key: { [ORDERS_TABLE.partitionKey]: { S: orderKey('start-up') } } }),
  );
}
