import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ensureOrdersTable } from '../../local/orders-table.js';

/** A client of the run's DynamoDB Local (started by test/support/global-setup.ts). */
export function testDynamoDbClient(): DynamoDBClient {
  const endpoint = process.env.DYNAMODB_LOCAL_ENDPOINT;
  if (!endpoint) throw new Error('DYNAMODB_LOCAL_ENDPOINT is not set: run the tests through jest.config.js');
  return new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
}

/** A fresh orders table, so that test files never see each other's items. */
export async function freshOrdersTable(client: DynamoDBClient): Promise<string> {
  const tableName = `orders-${randomUUID()}`;
  await ensureOrdersTable(client, tableName);
  return tableName;
}
