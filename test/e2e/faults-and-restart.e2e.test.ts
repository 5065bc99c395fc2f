/**
 * The fault switches and a restart on the same data folder, as a user would meet them one after the other:
 * 1. the store down: 503 with Retry-After, nothing accepted;
 * 2. the bus down: still 202, the order readable, no event yet;
 * 3. a restart without faults: the order is still there, and the relay delivers its event.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { RunningService } from '../../local/service.js';
import { archiveKeyOf } from '../../src/archive/archive-order.js';
import type { OrderDocument } from '../../src/contract/order.js';
import { validOrder } from '../support/order-samples.js';
import { eventually } from '../support/eventually.js';
import {
  archivedFiles,
  call,
  newDataDir,
  postOrder,
  removeDataDir,
  startLocalService,
} from './support/local-service.js';

// Each start launches DynamoDB Local (a JVM): seconds, not milliseconds, on a busy 2-core machine.
jest.setTimeout(30_000);

const body = JSON.stringify({ ...validOrder, clientReference: 'faults-and-restart' });
let dataDir: string;
let service: RunningService | undefined;
let accepted: OrderDocument | undefined;

beforeAll(async () => {
  dataDir = await newDataDir();
});
afterAll(async () => {
  await service?.stop();
  await removeDataDir(dataDir);
});

describe('on one data folder', () => {
  it('with the store down, answers 503 with Retry-After and accepts nothing', async () => {
    service = await startLocalService(dataDir, { faults: ['store'] });
    const answer = await postOrder(service, body);

    expect(answer.status).toBe(503);
    expect(answer.headers.get('retry-after')).toBe('1');
    expect(answer.json.orderId).toBeUndefined();
    expect(service.events.bus.storedEvents()).toEqual([]);
    await service.stop();
  });

  it('with the bus down, still answers 202 — and the same body is no duplicate: the 503 stored nothing', async () => {
    service = await startLocalService(dataDir, { faults: ['bus'] });
    const answer = await postOrder(service, body);

    expect(answer.status).toBe(202);
    const stored = await call(service, 'GET', `/orders/${String(answer.json.orderId)}`);
    expect(stored.status).toBe(200);
    accepted = stored.json as unknown as OrderDocument;
    expect(service.events.bus.storedEvents()).toEqual([]);
    expect(await archivedFiles(service.events.archiveDir)).toEqual([]);
    await service.stop();
  });

  it('after a restart without faults, still has the order, and the relay delivers its event', async () => {
    expect(accepted).toBeDefined();
    const order = accepted as OrderDocument;
    service = await startLocalService(dataDir);

    const stored = await call(service, 'GET', `/orders/${order.orderId}`);
    expect(stored.status).toBe(200);
    expect(stored.json).toEqual(order);

    const running = service;
    await eventually('the relay publishes the order accepted while the bus was down', () =>
      running.events.bus.storedEvents().some((event) => event.envelope.detail.orderId === order.orderId),
    );
    await eventually('the archive rule delivers it', () => running.events.archiveBacklog() === 0);
    expect(await archivedFiles(running.events.archiveDir)).toEqual([archiveKeyOf(order)]);
  });
});
