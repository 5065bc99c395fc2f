/**
 * The HTTP contract (DESIGN.md section 2), row by row, against the local service as `npm start` runs it. Every answer
 * to a documented operation is checked against api/openapi.json as it arrives (support/local-service.ts).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it, jest } from '@jest/globals';
import { archiveKeyOf } from '../../src/archive/archive-order.js';
import type { OrderDocument } from '../../src/contract/order.js';
import { orderAcceptedDetail } from '../../src/events/order-accepted.js';
import orderSchema from '../../src/contract/order.schema.json' with { type: 'json' };
import { validOrder } from '../support/order-samples.js';
import { eventually } from '../support/eventually.js';
import { archivedFiles, call, postOrder, serviceForFile } from './support/local-service.js';

// Each start launches DynamoDB Local (a JVM): seconds, not milliseconds, on a busy 2-core machine.
jest.setTimeout(30_000);

const local = serviceForFile();

/** Each test its own payload, so that the 15 s idempotency window never links two tests. */
const order = (clientReference: string) => ({ ...validOrder, clientReference });

describe('POST /orders', () => {
  it('202: Location names the order, and GET there answers the stored order', async () => {
    const body = order('accepted-1');
    const accepted = await postOrder(local.service, JSON.stringify(body));

    expect(accepted.status).toBe(202);
    expect(accepted.json.status).toBe('ACCEPTED');
    const orderId = String(accepted.json.orderId);
    expect(accepted.headers.get('location')).toBe(`/orders/${orderId}`);

    const stored = await call(local.service, 'GET', String(accepted.headers.get('location')));
    expect(stored.status).toBe(200);
    expect(stored.json).toEqual({ ...accepted.json, ...body });
  });

  it.each([
    ['no Content-Type (API Gateway assumes JSON)', {}],
    ['a charset parameter and upper case', { 'Content-Type': 'Application/JSON; charset=UTF-8' }],
  ])('202 with %s', async (_label, headers) => {
    const answer = await postOrder(
      local.service,
      JSON.stringify(order(`type-${Object.keys(headers).length}`)),
      headers,
    );
    expect(answer.status).toBe(202);
  });

  it('400 for a body that is not JSON', async () => {
    const answer = await postOrder(local.service, '{"customerId": ');

    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({ status: 400, errors: [{ path: '', code: 'invalid_json' }] });
  });

  it('413 for a body over 1 KB (counted in UTF-8 bytes), even when it would be a valid order', async () => {
    // 'é' is 2 bytes: 1025 bytes in all, fewer characters than that.
    const prefix = JSON.stringify({ ...validOrder, clientReference: '' }).slice(0, -2);
    const body = `${prefix}${'é'.repeat((1025 - Buffer.byteLength(prefix) - 2) / 2)}"}`;
    expect(Buffer.byteLength(body)).toBeGreaterThan(1024);
    const answer = await postOrder(local.service, body);

    expect(answer.status).toBe(413);
    expect(answer.json.status).toBe(413);
  });

  it('415 for a body that is not sent as JSON', async () => {
    const answer = await postOrder(local.service, 'customerId=CUST-7Q2K9M4X', {
      'Content-Type': 'application/x-www-form-urlencoded',
    });

    expect(answer.status).toBe(415);
    expect(answer.json).toMatchObject({ status: 415, requestId: answer.headers.get('x-amzn-requestid') });
  });

  it('409 with the original orderId for the same payload again (other key order and whitespace)', async () => {
    const first = await postOrder(local.service, JSON.stringify(order('dup-1')));
    const { customerId, items, clientReference } = order('dup-1');
    const copy = await postOrder(local.service, JSON.stringify({ clientReference, items, customerId }, null, 2));

    expect(first.status).toBe(202);
    expect(copy.status).toBe(409);
    expect(copy.json).toMatchObject({ orderId: first.json.orderId, idempotencyKey: first.json.idempotencyKey });
    expect(copy.headers.get('location')).toBe(`/orders/${String(first.json.orderId)}`);
  });

  it('exactly one 202 among identical requests sent at once; the others 409 with its orderId', async () => {
    const body = JSON.stringify(order('burst-1'));
    const answers = await Promise.all(Array.from({ length: 8 }, () => postOrder(local.service, body)));

    const accepted = answers.filter((answer) => answer.status === 202);
    expect(accepted).toHaveLength(1);
    expect(answers.filter((answer) => answer.status === 409).map((answer) => answer.json.orderId)).toEqual(
      Array.from({ length: 7 }, () => accepted[0]?.json.orderId),
    );
  });
});

describe('POST /orders with an Idempotency-Key', () => {
  const keyed = (body: object, key: string, path = '/orders') =>
    call(local.service, 'POST', path, {
      body: JSON.stringify(body),
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': key },
    });

  it('202 again for the same key and body: the first answer replayed, with Idempotent-Replayed and its Location', async () => {
    const first = await keyed(order('keyed-1'), '"e2e-key-1"');
    expect(first.status).toBe(202);
    expect(first.headers.get('idempotent-replayed')).toBeNull();

    const replay = await keyed(order('keyed-1'), 'e2e-key-1');
    expect(replay.status).toBe(202);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.json).toEqual(first.json);
    expect(replay.headers.get('location')).toBe(first.headers.get('location'));
    expect((await call(local.service, 'GET', String(replay.headers.get('location')))).status).toBe(200);
  });

  it('422 for the same key with another body', async () => {
    await keyed(order('keyed-2'), 'e2e-key-2');
    const reused = await keyed(order('keyed-2-other'), 'e2e-key-2');
    expect(reused.status).toBe(422);
    expect(reused.json).toMatchObject({ type: expect.stringMatching(/idempotency-key-reused$/), status: 422 });
  });

  it('takes no key from the query string: ?Idempotency-Key= is ignored', async () => {
    const path = '/orders?Idempotency-Key=e2e-query-key';
    const first = await postOrder(local.service, JSON.stringify(order('query-1')));
    expect(first.status).toBe(202);
    const other = await call(local.service, 'POST', path, {
      body: JSON.stringify(order('query-2')),
      headers: { 'Content-Type': 'application/json' },
    });
    const again = await call(local.service, 'POST', path, {
      body: JSON.stringify(order('query-3')),
      headers: { 'Content-Type': 'application/json' },
    });
    // Were the query a key, the second body under it would be a 422.
    expect([other.status, again.status]).toEqual([202, 202]);
    expect(again.headers.get('idempotent-replayed')).toBeNull();
  });

  it.each([
    ['an empty string', '""', 'length'],
    ['256 characters', 'k'.repeat(256), 'length'],
    ['a list: the header repeated, as HTTP joins it', '"e2e-a", "e2e-b"', 'repeated'],
    ['an unclosed string', '"e2e', 'malformed'],
  ])('400 naming the header for %s, before the body is looked at', async (_label, key, code) => {
    const answer = await keyed({ not: 'an order' }, key);
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({
      type: expect.stringMatching(/invalid-idempotency-key$/),
      errors: [{ header: 'Idempotency-Key', code }],
    });
  });

  it('two fields of one name: joined as HTTP lets a recipient join them, and refused 400 as a repeat', async () => {
    // fetch cannot send a name twice; node:http sends each line as given.
    const body = JSON.stringify(order('two-lines'));
    const status = await new Promise<number>((resolve, reject) => {
      const sent = httpRequest(`${local.service.url}/orders`, {
        method: 'POST',
        // Given as raw lines, a request gets no Host of Node's own.
        headers: [
          'Host',
          new URL(local.service.url).host,
          'Content-Type',
          'application/json',
          'Idempotency-Key',
          'e2e-first',
          'Idempotency-Key',
          'e2e-last',
        ],
      });
      sent.on('response', (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      sent.on('error', reject);
      sent.end(body);
    });
    expect(status).toBe(400);
    // Nothing was stored under either key: each is a new order now.
    const byLast = await call(local.service, 'POST', '/orders', {
      body,
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': 'e2e-last' },
    });
    expect(byLast.status).toBe(202);
    expect(byLast.headers.get('idempotent-replayed')).toBeNull();
  });
});

describe('GET /orders/{orderId}', () => {
  it('404 for an id no order has, and for one that cannot be an id', async () => {
    for (const orderId of ['01JD0000000000000000000000', 'not-an-id', '%22%7D']) {
      const answer = await call(local.service, 'GET', `/orders/${orderId}`);
      expect(answer.status).toBe(404);
    }
  });
});

describe('the rest of the surface', () => {
  it('404 problem+json for a path the API does not have', async () => {
    const answer = await call(local.service, 'GET', '/orders/a/b');

    expect(answer.status).toBe(404);
    expect(answer.headers.get('content-type')).toBe('application/problem+json');
  });

  it('405 with Allow for a method the path does not have', async () => {
    const answer = await call(local.service, 'DELETE', '/orders');

    expect(answer.status).toBe(405);
    expect(answer.headers.get('allow')).toBe('POST');
  });

  it('serves the OpenAPI document, its request schema being the contract file', async () => {
    const answer = await call(local.service, 'GET', '/openapi.json');
    const document = answer.json as {
      openapi: string;
      paths: Record<string, Record<string, { requestBody: unknown }>>;
    };

    expect(answer.status).toBe(200);
    expect(document.openapi).toBe('3.1.0');
    expect(document.paths['/orders']?.post?.requestBody).toMatchObject({
      content: { 'application/json': { schema: orderSchema } },
    });
  });
});

describe('OrderAccepted', () => {
  it('is archived exactly once although both paths (workflow and stream relay) deliver it', async () => {
    const accepted = await postOrder(local.service, JSON.stringify(order('archive-once')));
    const stored = await call(local.service, 'GET', `/orders/${String(accepted.json.orderId)}`);
    const document = stored.json as unknown as OrderDocument;
    const eventsOf = (orderId: string) =>
      local.service.events.bus.storedEvents().filter((event) => event.envelope.detail.orderId === orderId);

    await eventually(
      'the fast path and the relay have both put it on the bus',
      () => eventsOf(document.orderId).length === 2,
    );
    await eventually('the archive rule has delivered both', () => local.service.events.archiveBacklog() === 0);

    const key = archiveKeyOf(document);
    expect(
      (await archivedFiles(local.service.events.archiveDir)).filter((file) =>
        file.endsWith(`${document.orderId}.json`),
      ),
    ).toEqual([key]);
    expect(join(local.service.events.archiveDir, key)).toBe(join(local.dataDir, 'archive', key));
    expect(key).toMatch(new RegExp(`^orders/\\d{4}/\\d{2}/\\d{2}/${document.orderId}\\.json$`));
    expect(JSON.parse(await readFile(join(local.dataDir, 'archive', key), 'utf8'))).toEqual(
      orderAcceptedDetail(document),
    );
  });
});

describe('the data folder', () => {
  it("is its user's alone: every folder in it 0700, every file 0600 (DynamoDB Local's, the console's included)", async () => {
    // An archived order, so that every kind of file has been written; both deliveries done, so that no temporary
    // archive file comes and goes while the folder is read.
    const accepted = await postOrder(local.service, JSON.stringify(order('private-files')));
    await eventually('the archive has it', async () =>
      (await archivedFiles(local.service.events.archiveDir)).some((file) =>
        file.includes(String(accepted.json.orderId)),
      ),
    );
    await eventually('the archive rule has delivered everything', () => local.service.events.archiveBacklog() === 0);

    const entries = ['', ...(await readdir(local.dataDir, { recursive: true, encoding: 'utf8' }))];
    const modes = (
      await Promise.all(
        entries.map(async (entry) => {
          // A file can still go between the listing and its stat (a SQLite journal): only what exists is judged.
          const found = await stat(join(local.dataDir, entry)).catch(() => undefined);
          return found ? [{ entry, folder: found.isDirectory(), mode: (found.mode & 0o777).toString(8) }] : [];
        }),
      )
    ).flat();
    const names = modes.map(({ entry }) => entry);
    expect(names).toEqual(
      expect.arrayContaining(['console.sqlite', 'events.sqlite', 'events.sqlite-wal', 'dynamodb', 'archive']),
    );
    expect(names.some((name) => name.startsWith('dynamodb/') && name.endsWith('.db'))).toBe(true);
    expect(modes.filter(({ folder, mode }) => mode !== (folder ? '700' : '600'))).toEqual([]);
  });
});
