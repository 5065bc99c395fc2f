/**
 * The service as a user runs it, in a process (and process group) of its own (local/service-process.ts), so that a
 * test can kill -9 it whole or in parts: the Node process, or DynamoDB Local's JVM beside it; and what it stored.
 */
import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DynamoDBClient, UpdateItemCommand, paginateScan, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { DYNAMODB_FOLDER, PID_FILE_NAME } from '../../../local/dynamodb/dynamodb-local.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../local/local-account.js';
import { LOCAL_RESOURCES } from '../../../local/local-account.js';
import { launchService, type ServiceProcess } from '../../../local/service-process.js';
import { ORDERS_TABLE } from '../../../src/store/orders-table.js';
import { isOrderId } from '../../../src/contract/order.js';

export { killGroup, killNode, stopGracefully, type ServiceProcess } from '../../../local/service-process.js';

export const startServiceProcess = (dataDir: string, env: Record<string, string> = {}): Promise<ServiceProcess> =>
  launchService({ dataDir, env });

const jvmPidOf = (dataDir: string): number =>
  Number(readFileSync(join(dataDir, DYNAMODB_FOLDER, PID_FILE_NAME), 'utf8').trim());

/** kill -9 of DynamoDB Local's JVM alone; the service goes on without its store. */
export function killDynamoDbLocal({ dataDir }: ServiceProcess): void {
  process.kill(jvmPidOf(dataDir), 'SIGKILL');
}

/** A client of the running service's DynamoDB Local (its port read from the JVM's command line), for `use`. */
async function withTable<T>({ dataDir }: Pick<ServiceProcess, 'dataDir'>, use: (client: DynamoDBClient) => Promise<T>) {
  const args = readFileSync(`/proc/${jvmPidOf(dataDir)}/cmdline`, 'utf8').split('\0');
  const port = args[args.indexOf('-port') + 1];
  const client = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  try {
    return await use(client);
  } finally {
    client.destroy();
  }
}

/** Every item of the table whose key starts with `prefix`, in one consistent scan. */
async function scanPrefix(client: DynamoDBClient, prefix: string): Promise<Record<string, AttributeValue>[]> {
  const items: Record<string, AttributeValue>[] = [];
  for await (const page of paginateScan({ client }, { TableName: LOCAL_RESOURCES.tableName, ConsistentRead: true })) {
    items.push(...(page.Items ?? []).filter((item) => item[ORDERS_TABLE.partitionKey]?.S?.startsWith(prefix)));
  }
  return items;
}

/** Every ORDER# item's order document, by orderId, read from the running service's DynamoDB Local. */
export async function storedOrders(
  service: Pick<ServiceProcess, 'dataDir'>,
): Promise<Map<string, Record<string, unknown>>> {
  const items = await withTable(service, (client) => scanPrefix(client, ORDERS_TABLE.orderKeyPrefix));
  return new Map(
    items.map((item) => [
      (item[ORDERS_TABLE.partitionKey]?.S ?? '').slice(ORDERS_TABLE.orderKeyPrefix.length),
      JSON.parse(item.document?.S ?? '{}') as Record<string, unknown>,
    ]),
  );
}

export interface StoredKeys {
  /** orderId of every ORDER# item stored with a client key, by that key. */
  ordersByClientKey: Map<string, string[]>;
  /** Every CLIENTKEY# item, as stored. */
  keyItems: { pk: string; clientKey: string; orderId: string; expiresAt: number }[];
}

/** What the table holds of the clients' Idempotency-Keys: the orders that carry one, and the key items. */
export function storedClientKeys(service: Pick<ServiceProcess, 'dataDir'>): Promise<StoredKeys> {
  return withTable(service, async (client) => {
    const ordersByClientKey = new Map<string, string[]>();
    for (const item of await scanPrefix(client, ORDERS_TABLE.orderKeyPrefix)) {
      const clientKey = item.clientKey?.S;
      if (clientKey === undefined) continue;
      ordersByClientKey.set(clientKey, [...(ordersByClientKey.get(clientKey) ?? []), item.orderId?.S ?? '']);
    }
    const keyItems = (await scanPrefix(client, ORDERS_TABLE.clientKeyPrefix)).map((item) => ({
      pk: item[ORDERS_TABLE.partitionKey]?.S ?? '',
      clientKey: item.clientKey?.S ?? '',
      orderId: item.orderId?.S ?? '',
      expiresAt: Number(item[ORDERS_TABLE.timeToLiveAttribute]?.N),
    }));
    return { ordersByClientKey, keyItems };
  });
}

/**
 * Sets the TTL attribute of the items named to a second ago: what the table holds once their time has passed and
 * before DynamoDB's TTL deletes them (lazily, within days), without waiting for it.
 */
export function expireItems(service: Pick<ServiceProcess, 'dataDir'>, pks: readonly string[]): Promise<void> {
  const past = String(Math.floor(Date.now() / 1000) - 1);
  return withTable(service, async (client) => {
    for (const pk of pks) {
      await client.send(
        new UpdateItemCommand({
          TableName: LOCAL_RESOURCES.tableName,
          Key: { [ORDERS_TABLE.partitionKey]: { S: pk } },
          UpdateExpression: 'SET #expiresAt = :past',
          ConditionExpression: 'attribute_exists(#pk)',
          ExpressionAttributeNames: {
            '#expiresAt': ORDERS_TABLE.timeToLiveAttribute,
            '#pk': ORDERS_TABLE.partitionKey,
          },
          ExpressionAttributeValues: { ':past': { N: past } },
        }),
      );
    }
  });
}

/** Every ORDER# item's orderId (port of DynamoDB Local from the JVM's command line). */
export async function storedOrderIds(service: Pick<ServiceProcess, 'dataDir'>): Promise<Set<string>> {
  return new Set((await storedOrders(service)).keys());
}

export interface ArchiveContents {
  /** orderId -> how many archive files name it. */
  files: Map<string, number>;
  /** Files that are not a finished archive object (temporary files of interrupted writes). */
  partial: string[];
}

export async function archiveContents(dataDir: string): Promise<ArchiveContents> {
  const root = join(dataDir, 'archive');
  let names: string[] = [];
  try {
    names = await readdir(root, { recursive: true, encoding: 'utf8' });
  } catch {
    // no archive yet
  }
  const files = new Map<string, number>();
  const partial: string[] = [];
  for (const name of names) {
    const base = name.split('/').at(-1) ?? '';
    const orderId = base.replace(/\.json$/, '');
    if (orderId !== base && isOrderId(orderId)) files.set(orderId, (files.get(orderId) ?? 0) + 1);
    else if (base.includes('.') && !/^\d+$/.test(base)) partial.push(name);
  }
  return { files, partial };
}
