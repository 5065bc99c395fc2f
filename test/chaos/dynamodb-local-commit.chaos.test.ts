/**
 * Why acknowledged orders were lost, held as a test. DynamoDB Local answers TransactWriteItems before its SQLite
 * COMMIT has run (SQLiteDBAccess.commitTransaction queues the COMMIT on its one SQLite thread without waiting, where
 * PutItem waits), so a kill -9 between the answer and the end of the COMMIT rolls back a transaction DynamoDB would
 * have kept. With a slow disk (every fsync of the JVM delayed by strace) the window is wide and the loss certain.
 * The local runtime's clients (local/dynamodb/dynamodb-local.ts) wait for the commit; a plain client does not.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import { PID_FILE_NAME, startDynamoDbLocal, type DynamoDbLocal } from '../../local/dynamodb/dynamodb-local.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/local-account.js';
import { ensureOrdersTable } from '../../local/dynamodb/orders-table.js';
import { eventually } from '../support/eventually.js';

const ROUNDS = 5;
const FSYNC_DELAY_MS = 300;
const TABLE = 'orders';
// Each test starts the JVM ten times: about 3 s each on a quiet machine, several times that on a loaded one.
jest.setTimeout(600_000);

let dataDir: string;
beforeAll(async () => {
  expect(spawnSync('strace', ['-V']).status).toBe(0); // .ci/run installs Debian's strace
  dataDir = await mkdtemp(join(tmpdir(), 'order-intake-commit-'));
});
afterAll(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const transaction = (id: string) =>
  new TransactWriteItemsCommand({
    ClientRequestToken: id,
    TransactItems: [
      { Put: { TableName: TABLE, Item: { pk: { S: `IDEMPOTENCY#${id}` }, orderId: { S: id } } } },
      { Put: { TableName: TABLE, Item: { pk: { S: `ORDER#${id}` }, orderId: { S: id } } } },
    ],
  });

/** The threads of `pid` not (yet) traced by `tracerPid`, as /proc tells. */
function untracedThreads(pid: number, tracerPid: number): string[] {
  return readdirSync(`/proc/${pid}/task`).filter(
    (thread) => !readFileSync(`/proc/${pid}/task/${thread}/status`, 'utf8').includes(`\nTracerPid:\t${tracerPid}\n`),
  );
}

/** Every fsync of the process is delayed, as on a busy disk; resolves once attached, with the tracer's end. */
async function slowDisk(pid: number): Promise<{ tracer: ChildProcess; ended: Promise<unknown> }> {
  const delay = `inject=fsync,fdatasync:delay_enter=${FSYNC_DELAY_MS * 1000}`;
  const tracer = spawn(
    'strace',
    ['-f', '-qq', '-o', '/dev/null', '-e', 'trace=fsync,fdatasync', '-e', delay, '-p', String(pid)],
    {
      stdio: 'ignore',
    },
  );
  const ended = new Promise((done) => tracer.once('exit', done));
  // strace -f attaches to each thread in turn; threads started later are traced from birth.
  await eventually(
    'strace has attached to every thread of the JVM',
    () => untracedThreads(pid, tracer.pid ?? -1).length === 0,
    {
      timeoutMs: 60_000,
      intervalMs: 20,
    },
  );
  return { tracer, ended };
}

/** One round: write through `clientOf`, kill -9 the JVM the moment the answer arrives, restart, read it back. */
async function survivesKillAfterAck(clientOf: (local: DynamoDbLocal) => DynamoDBClient, id: string): Promise<boolean> {
  const local = await startDynamoDbLocal({ dataDir });
  let tracer: ChildProcess | undefined;
  try {
    await ensureOrdersTable(local.client(), TABLE);
    const jvm = Number((await readFile(join(dataDir, PID_FILE_NAME), 'utf8')).trim());
    const slow = await slowDisk(jvm);
    tracer = slow.tracer;
    const client = clientOf(local);
    try {
      await client.send(transaction(id));
      process.kill(jvm, 'SIGKILL');
    } finally {
      client.destroy();
    }
    await local.stop();
    await slow.ended;
  } finally {
    // A failed round leaves neither the JVM nor its tracer behind.
    await local.stop();
    tracer?.kill('SIGKILL');
  }

  const again = await startDynamoDbLocal({ dataDir });
  try {
    const { Item } = await again
      .client()
      .send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: `ORDER#${id}` } }, ConsistentRead: true }));
    return Item !== undefined;
  } finally {
    await again.stop();
  }
}

describe('DynamoDB Local, killed -9 right after it acknowledged a transaction, on a slow disk', () => {
  it('keeps every transaction acknowledged to the local runtime’s clients', async () => {
    const kept: boolean[] = [];
    for (let round = 0; round < ROUNDS; round += 1)
      kept.push(await survivesKillAfterAck((local) => local.client(), `kept-${round}`));
    process.stdout.write(`runtime's clients: ${kept.filter(Boolean).length} of ${ROUNDS} transactions kept\n`);
    expect(kept).toEqual(Array(ROUNDS).fill(true));
  });

  it('loses transactions acknowledged to a plain client: the divergence from DynamoDB this runtime works around', async () => {
    const plainClient = (local: DynamoDbLocal) =>
      new DynamoDBClient({ endpoint: local.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    const kept: boolean[] = [];
    for (let round = 0; round < ROUNDS; round += 1)
      kept.push(await survivesKillAfterAck(plainClient, `plain-${round}`));
    process.stdout.write(
      `plain client: ${kept.filter((survived) => !survived).length} of ${ROUNDS} transactions lost\n`,
    );
    expect(kept.filter((survived) => !survived).length).toBeGreaterThan(0);
  });
});
