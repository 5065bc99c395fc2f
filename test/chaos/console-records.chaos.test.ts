/**
 * The ops console's records survive kill -9: orders posted under load, the service killed (process group) as soon
 * as the last answer's record is committed, and every execution answered before the kill is in console.sqlite
 * afterwards, with its state path. A record is committed one event-loop turn after its execution ends; the test
 * waits for that turn by reading the file, not by a fixed sleep that a loaded machine may outlast.
 */
import { afterAll, expect, it, jest } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { ConsoleStore, CONSOLE_DATABASE_FILE } from '../../local/console/console-store.js';
import { REQUEST_ID_HEADER } from '../../src/contract/order.js';
import { eventually } from '../support/eventually.js';
import { killGroup, startServiceProcess, type ServiceProcess } from './support/service-process.js';

jest.setTimeout(120_000);

let dataDir: string | undefined;
let service: ServiceProcess | undefined;
afterAll(async () => {
  if (service) await killGroup(service);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

it('keeps, after kill -9, the record of every execution answered before the kill', async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'console-records-'));
  service = await startServiceProcess(dataDir);
  const { url } = service;
  const answered: string[] = [];
  let next = 0;
  const client = async (): Promise<void> => {
    while (next < 400) {
      const response = await fetch(`${url}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          customerId: 'CUST-CONSOLE0',
          items: [{ sku: 'SKU-00012345', quantity: 1 }],
          clientReference: `console-${next++}`,
        }),
      });
      await response.body?.cancel();
      answered.push(String(response.headers.get(REQUEST_ID_HEADER)));
    }
  };
  await Promise.all(Array.from({ length: 20 }, client));
  // The last answers' records commit a turn later; once a reader sees them all, the kill takes everything at once.
  const reader = new DatabaseSync(join(dataDir, CONSOLE_DATABASE_FILE), { readOnly: true });
  const recorded = reader.prepare(
    'SELECT COUNT(*) AS count FROM executions WHERE name IN (SELECT value FROM json_each(?))',
  );
  try {
    await eventually('every answered execution is committed', () => {
      return Number(recorded.get(JSON.stringify(answered))?.count) === answered.length;
    });
  } finally {
    reader.close();
  }
  await killGroup(service);
  service = undefined;

  const store = new ConsoleStore(join(dataDir, CONSOLE_DATABASE_FILE));
  try {
    const missing = answered.filter((requestId) => store.summary(requestId) === undefined);
    expect(missing).toEqual([]);
    const path = (store.execution(answered[0] as string)?.events ?? []).flatMap((event) =>
      event.type === 'StateEntered' ? [event.state.name] : [],
    );
    expect(path).toEqual(expect.arrayContaining(['Validate', 'Persist', 'RespondAccepted']));
    process.stdout.write(`console records: ${answered.length} answered, all ${answered.length} kept after kill -9\n`);
  } finally {
    store.close();
  }
});
