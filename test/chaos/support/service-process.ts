/**
 * The service as a user runs it, in a process (and process group) of its own (local/service-process.ts), so that a
 * test can kill -9 it whole or in parts: the Node process, or DynamoDB Local's JVM beside it; and what it stored.
 */
import { readFileSync } from 'node:fs';
import { jest } from '@jest/globals';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, UpdateItemCommand, paginateScan, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { DYNAMODB_FOLDER, PID_FILE_NAME } from '../../../local/dynamodb/dynamodb-local.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../local/local-account.js';
import { LOCAL_RESOURCES } from '../../../local/local-account.js';
import {
  killGroup,
  killNode,
  launchService,
  stopGracefully,
  type ServiceProcess,
} from '../../../local/service-process.js';
import { ORDERS_TABLE } from '../../../src/store/orders-table.js';
import { isOrderId } from '../../../src/contract/order.js';

export { killGroup, killNode, stopGracefully, type ServiceProcess } from '../../../local/service-process.js';

/** Runs of each kill in a chaos test: 3 in CI, CHAOS_RUNS=10 for the full set (README). */
export const CHAOS_RUNS = Number(process.env.CHAOS_RUNS ?? 3);
/** A chaos run's deadline: a start, a burst, a kill, a restart and the checks, on a loaded machine. */
export const setChaosRunTimeout = (): void => void jest.setTimeout(CHAOS_RUNS * 180_000);

export const startServiceProcess = (dataDir: string, env: Record<string, string> = {}): Promise<ServiceProcess> =>
  launchService({ dataDir, env });

/**
 * One crash run: a service on a fresh data folder takes `load` while `crash` kills it (or part of it) at the moment
 * `load` chooses; a service killed in part is then stopped as a user would stop it, and a second service on the same
 * data is handed to `check` with what the load heard. Whatever fails, nothing of either outlives the run.
 */
export async function crashThenRestart<Heard, Result>(
  crash: Crash,
  load: (url: string, kill: () => Promise<void>) => Promise<Heard>,
  check: (restarted: ServiceProcess, heard: Heard) => Promise<Result>,
): Promise<Result> {
  const dataDir = await mkdtemp(join(tmpdir(), 'order-intake-chaos-'));
  let first: ServiceProcess | undefined;
  let second: ServiceProcess | undefined;
  try {
    first = await startServiceProcess(dataDir);
    const crashed = first;
    const heard = await load(first.url, async () => CRASHES[crash](crashed));
    if (crash === 'DynamoDB Local alone') await stopGracefully(first);
    second = await startServiceProcess(dataDir);
    return await check(second, heard);
  } finally {
    if (second) await stopGracefully(second);
    if (first) await killGroup(first);
    await rm(dataDir, { recursive: true, force: true });
  }
}

const jvmPidOf = (dataDir: string): number =>
  Number(readFileSync(join(dataDir, DYNAMODB_FOLDER, PID_FILE_NAME), 'utf8').trim());

/** kill -9 of DynamoDB Local's JVM alone; the service goes on without its store. */
export function killDynamoDbLocal({ dataDir }: ServiceProcess): void {
  process.kill(jvmPidOf(dataDir), 'SIGKILL');
}

/** The three kinds of crash the chaos runs take turns with: all of it, the Node process, the JVM. */
export const CRASHES = {
  'the whole service (process group)': killGroup,
  'Node alone': killNode,
  'DynamoDB Local alone': async (service: ServiceProcess) => killDynamoDbLocal(service),
} as const;
export type Crash = keyof typeof CRASHES;

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
