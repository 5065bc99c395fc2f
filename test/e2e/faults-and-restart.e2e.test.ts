/**
 * The fault switches and a restart on the same data folder, as a user would meet them:
 * 1. the store down: 503 with Retry-After, nothing accepted, so the same body is no duplicate once the store is back;
 * 2. the bus down: still 202, the order readable, no event yet; after a restart without faults on the same folder,
 *    the order is still there, and the relay delivers its event;
 * 3. a start that fails part way stops what it had started, in reverse order, and the folder serves the next start.
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it, jest } from '@jest/globals';
import { DYNAMODB_FOLDER, PID_FILE_NAME } from '../../local/dynamodb/dynamodb-local.js';
import { archiveKeyOf } from '../../src/archive/archive-order.js';
import type { OrderDocument } from '../../src/contract/order.js';
import { eventually } from '../support/eventually.js';
import { validOrder } from '../support/order-samples.js';
import {
  archivedFiles,
  call,
  dataDirForEachTest,
  postOrder,
  SERVICE_START_TIMEOUT_MS,
} from './support/local-service.js';

// A test here starts the service once or twice, each start a DynamoDB Local JVM.
jest.setTimeout(2 * SERVICE_START_TIMEOUT_MS);

const folder = dataDirForEachTest();
const body = (clientReference: string) => JSON.stringify({ ...validOrder, clientReference });

describe('on one data folder', () => {
  it('with the store down, answers 503 with Retry-After and stores nothing: the same body is no duplicate later', async () => {
    const service = await folder.start({ faults: ['store'] });
    const answer = await postOrder(service, body('store-down'));

    expect(answer.status).toBe(503);
    expect(answer.headers.get('retry-after')).toBe('1');
    expect(answer.json.orderId).toBeUndefined();
    expect(service.events.bus.storedEvents()).toEqual([]);

    service.setFault('store', false);
    expect((await postOrder(service, body('store-down'))).status).toBe(202);
  });

  it('with the bus down, still answers 202; after a restart without faults, has the order and relays its event', async () => {
    const busDown = await folder.start({ faults: ['bus'] });
    const answer = await postOrder(busDown, body('bus-down'));

    expect(answer.status).toBe(202);
    const stored = await call(busDown, 'GET', `/orders/${String(answer.json.orderId)}`);
    expect(stored.status).toBe(200);
    const order = stored.json as unknown as OrderDocument;
    expect(busDown.events.bus.storedEvents()).toEqual([]);
    expect(await archivedFiles(busDown.events.archiveDir)).toEqual([]);
    await busDown.stop();

    const restarted = await folder.start();
    const again = await call(restarted, 'GET', `/orders/${order.orderId}`);
    expect(again.status).toBe(200);
    expect(again.json).toEqual(order);
    await eventually('the relay publishes the order accepted while the bus was down', () =>
      restarted.events.bus.storedEvents().some((event) => event.envelope.detail.orderId === order.orderId),
    );
    await eventually('the archive rule delivers it', () => restarted.events.archiveBacklog() === 0);
    expect(await archivedFiles(restarted.events.archiveDir)).toEqual([archiveKeyOf(order)]);
  });

  it('after a start that fails (its port taken), has nothing left running: the next start on the folder serves', async () => {
    const taken = createServer();
    await new Promise<void>((listening) => taken.listen(0, '127.0.0.1', listening));
    const { port } = taken.address() as AddressInfo;
    try {
      await expect(folder.start({ port })).rejects.toThrow(String(port));
    } finally {
      taken.close();
    }
    // DynamoDB Local's watchdog removes its pid file once the JVM has ended.
    expect(existsSync(join(folder.dataDir, DYNAMODB_FOLDER, PID_FILE_NAME))).toBe(false);

    // A JVM or event log left open would hold the folder: this start would wait for it and fail.
    const service = await folder.start();
    expect((await postOrder(service, body('after-a-failed-start'))).status).toBe(202);
  });
});
