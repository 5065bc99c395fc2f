import { randomUUID } from 'node:crypto';
import { DynamoDBClient, InternalServerError } from '@aws-sdk/client-dynamodb';
import { ensureOrdersTable } from '../../local/dynamodb/orders-table.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/local-account.js';

/** A client of the workflow project's DynamoDB Local (started by test/support/global-setup.ts). */
export function testDynamoDbClient(): DynamoDBClient {
  const endpoint = process.env.DYNAMODB_LOCAL_ENDPOINT;
  if (!endpoint) throw new Error('DYNAMODB_LOCAL_ENDPOINT is not set: only workflow tests have DynamoDB Local');
  return new DynamoDBClient({
    endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: 1,
  });
}

/** A client of a DynamoDB that nothing answers (a closed port), tried once: the store unreachable. */
export const unreachableDynamoDbClient = (): DynamoDBClient =>
  new DynamoDBClient({
    endpoint: 'http://127.0.0.1:9',
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: 1,
  });

/** A fresh orders table, so that test files never see each other's items. */
export async function freshOrdersTable(client: DynamoDBClient): Promise<string> {
  const tableName = `orders-${randomUUID()}`;
  await ensureOrdersTable(client, tableName);
  return tableName;
}

/** The command reaches DynamoDB Local, then its answer is lost, as on a timeout after the commit. */
export function afterLosingAnswers(client: DynamoDBClient, commandName: string, times: number): void {
  let lost = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName !== commandName || lost >= times) return result;
      lost += 1;
      throw new InternalServerError({ message: 'answer lost', $metadata: {} });
    },
    { step: 'initialize', name: 'loseAnswers' },
  );
}
