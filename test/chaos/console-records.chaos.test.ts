/**
 * The ops console's records survive kill -9: orders posted under load, the service killed (process group) right
 * after the last answer, and every execution whose answer reached the client before the last event-loop turn is in
 * console.sqlite afterwards, with its state path. A record is committed one event-loop turn after its execution
 * ends, so only what was answered in that last turn may be missing.
 */
import { afterAll, expect, it, jest } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsoleStore, CONSOLE_DATABASE_FILE } from '../../local/console/console-store.js';
import { REQUEST_ID_HEADER } from '../../src/contract/order.js';
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
  // One turn for the last answers' records to commit; then the kill takes everything at once.
  await new Promise((wake) => setTimeout(wake, 50));
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
