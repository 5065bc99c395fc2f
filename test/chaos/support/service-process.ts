/**
 * The service as a user runs it, in a process (and process group) of its own (local/service-process.ts), so that a
 * test can kill -9 it whole or in parts: the Node process, or DynamoDB Local's JVM beside it; and what it stored.
 */
import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DynamoDBClient, paginateScan } from '@aws-sdk/client-dynamodb';
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

/** Every ORDER# item's order document, by orderId, read from the running service's DynamoDB Local. */
export async function storedOrders({
  dataDir,
}: Pick<ServiceProcess, 'dataDir'>): Promise<Map<string, Record<string, unknown>>> {
  const args = readFileSync(`/proc/${jvmPidOf(dataDir)}/cmdline`, 'utf8').split('\0');
  const port = args[args.indexOf('-port') + 1];
  const client = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  const orders = new Map<string, Record<string, unknown>>();
  try {
    for await (const page of paginateScan({ client }, { TableName: LOCAL_RESOURCES.tableName, ConsistentRead: true })) {
      for (const item of page.Items ?? []) {
        const pk = item[ORDERS_TABLE.partitionKey]?.S ?? '';
        if (!pk.startsWith(ORDERS_TABLE.orderKeyPrefix)) continue;
        const document = JSON.parse(item.document?.S ?? '{}') as Record<string, unknown>;
        orders.set(pk.slice(ORDERS_TABLE.orderKeyPrefix.length), document);
      }
    }
  } finally {
    client.destroy();
  }
  return orders;
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
