import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Logger } from '@aws-lambda-powertools/logger';
import { PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import type { SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { ulid } from 'ulid';
import { archiveStoreFromEnvironment, createArchiveHandler } from '../../lambdas/persist/handler.js';
import { FolderArchiveStore } from '../../local/s3/folder-archive-store.js';
import { S3ArchiveStore } from '../../lambdas/persist/s3-archive-store.js';
import { archiveKeyOf, type ArchiveStore } from '../../src/archive/archive-order.js';
import { ConfigurationError } from '../../src/configuration.js';
import { ORDER_ACCEPTED_DETAIL_TYPE, ORDER_EVENT_SOURCE } from '../../src/events/order-accepted.js';
import { validOrder } from '../support/order-samples.js';
import { folderForEachTest } from '../support/temp-folder.js';

const BUCKET = 'order-archive-test';
const silent = new Logger({ serviceName: 'order-intake-test', logLevel: 'SILENT' });

const detailOf = (overrides: Record<string, unknown> = {}) => ({
  orderId: ulid(),
  status: 'ACCEPTED',
  acceptedAt: '2026-11-25T10:00:00.000Z',
  idempotencyKey: 'a'.repeat(64),
  ...validOrder,
  ...overrides,
});

/** An EventBridge event as the rule's SQS target delivers it: the envelope is the record's body. */
const envelopeOf = (detail: unknown) => ({
  version: '0',
  id: ulid(),
  'detail-type': ORDER_ACCEPTED_DETAIL_TYPE,
  source: ORDER_EVENT_SOURCE,
  account: '000000000000',
  time: '2026-11-25T10:00:00Z',
  region: 'eu-west-1',
  resources: [],
  detail,
});

let messages = 0;
const sqsEvent = (...bodies: string[]): SQSEvent => ({
  Records: bodies.map((body) => {
    messages += 1;
    return {
      messageId: `message-${messages}`,
      receiptHandle: `receipt-${messages}`,
      body,
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: '0',
        SenderId: 'events',
        ApproximateFirstReceiveTimestamp: '0',
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-west-1:000000000000:order-archive',
      awsRegion: 'eu-west-1',
    };
  }),
});
const eventFor = (detail: unknown): string => JSON.stringify(envelopeOf(detail));
const failedIds = (response: { batchItemFailures: { itemIdentifier: string }[] }): string[] =>
  response.batchItemFailures.map((failure) => failure.itemIdentifier);

const s3Error = (name: string, httpStatusCode: number): S3ServiceException =>
  new S3ServiceException({ name, $fault: httpStatusCode >= 500 ? 'server' : 'client', $metadata: { httpStatusCode } });

describe('the archive key', () => {
  it('is the acceptance day in UTC and the orderId', () => {
    const orderId = ulid();
    expect(archiveKeyOf({ orderId, acceptedAt: '2026-11-25T23:30:00-05:00' })).toBe(
      `orders/2026/11/26/${orderId}.json`,
    );
    expect(archiveKeyOf({ orderId, acceptedAt: '2027-01-02T00:00:00.000Z' })).toBe(`orders/2027/01/02/${orderId}.json`);
  });
});

describe('the archive consumer on S3', () => {
  const s3 = mockClient(S3Client);
  const handle = createArchiveHandler({ store: new S3ArchiveStore(BUCKET, new S3Client({})), logger: silent });

  afterEach(() => {
    s3.reset();
  });

  it('writes a new order once, under its day, with a create-only condition', async () => {
    s3.on(PutObjectCommand).resolves({});
    const detail = detailOf();

    const response = await handle(sqsEvent(eventFor(detail)));

    expect(response.batchItemFailures).toEqual([]);
    expect(s3).toHaveReceivedCommandTimes(PutObjectCommand, 1);
    const input = s3.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      Bucket: BUCKET,
      Key: `orders/2026/11/25/${detail.orderId}.json`,
      IfNoneMatch: '*',
      ContentType: 'application/json',
    });
    expect(JSON.parse(String(input?.Body))).toEqual(detail);
  });

  it.each([
    ['PreconditionFailed', 412],
    ['ConditionalRequestConflict', 409],
  ])('treats a redelivery refused with %s (%i) as done', async (name, status) => {
    s3.on(PutObjectCommand).resolvesOnce({}).rejects(s3Error(name, status));
    const event = eventFor(detailOf());

    const first = await handle(sqsEvent(event));
    const second = await handle(sqsEvent(event));

    expect([first.batchItemFailures, second.batchItemFailures]).toEqual([[], []]);
    expect(s3).toHaveReceivedCommandTimes(PutObjectCommand, 2);
  });

  it('reports only the record whose write failed', async () => {
    const failing = detailOf();
    const succeeding = detailOf();
    s3.on(PutObjectCommand).resolves({});
    s3.on(PutObjectCommand, { Key: archiveKeyOf(failing) }).rejects(s3Error('InternalError', 500));
    const event = sqsEvent(eventFor(succeeding), eventFor(failing));

    const response = await handle(event);

    expect(failedIds(response)).toEqual([event.Records[1]?.messageId]);
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, { Key: archiveKeyOf(succeeding) });
  });
});

describe('the archive consumer with malformed events', () => {
  const writes: string[] = [];
  const store: ArchiveStore = {
    createIfAbsent: async (key) => {
      writes.push(key);
      return 'created';
    },
  };
  const handle = createArchiveHandler({ store, logger: silent });

  beforeEach(() => {
    writes.length = 0;
  });

  it.each([
    ['a body that is not JSON', '{"detail": '],
    ['an event without detail', JSON.stringify({ source: ORDER_EVENT_SOURCE })],
    ['a detail without orderId', eventFor(detailOf({ orderId: undefined }))],
    ['an orderId that is not a ULID', eventFor(detailOf({ orderId: '../../etc/passwd' }))],
    ['an acceptedAt that is not a date', eventFor(detailOf({ acceptedAt: 'yesterday' }))],
  ])('fails %s and archives the rest of the batch', async (_label, body) => {
    const good = detailOf();
    const event = sqsEvent(body, eventFor(good));

    const response = await handle(event);

    expect(failedIds(response)).toEqual([event.Records[0]?.messageId]);
    expect(writes).toEqual([archiveKeyOf(good)]);
  });
});

describe('the archive consumer on a local folder', () => {
  const folderOfTest = folderForEachTest('archive');
  let folder: string;
  beforeEach(() => {
    folder = folderOfTest();
  });

  const filesUnder = async (path: string): Promise<string[]> =>
    (await readdir(path, { recursive: true, withFileTypes: true }))
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name).slice(path.length + 1));

  it('writes the order once however often it is delivered, and leaves no temporary file', async () => {
    const handle = createArchiveHandler({ store: new FolderArchiveStore(folder), logger: silent });
    const detail = detailOf();
    const event = eventFor(detail);

    const first = await handle(sqsEvent(event));
    const second = await handle(sqsEvent(event));
    const concurrent = await Promise.all(Array.from({ length: 5 }, () => handle(sqsEvent(event))));

    for (const response of [first, second, ...concurrent]) expect(response.batchItemFailures).toEqual([]);
    const key = archiveKeyOf(detail);
    expect(await filesUnder(folder)).toEqual([key]);
    expect(JSON.parse(await readFile(join(folder, key), 'utf8'))).toEqual(detail);
  });

  it('each event delivered three times, concurrently and out of order, leaves one byte-identical object per order', async () => {
    const details = Array.from({ length: 30 }, () => detailOf());
    const reference = await mkdtemp(join(tmpdir(), 'archive-reference-'));
    try {
      // What one delivery of each event writes.
      const once = createArchiveHandler({ store: new FolderArchiveStore(reference), logger: silent });
      for (const detail of details) await once(sqsEvent(JSON.stringify(envelopeOf(detail))));

      // Three copies of each (two publications and a replay: each copy has its own EventBridge id), shuffled, in
      // concurrent batches of up to 10 records, as SQS would hand them to several consumers at once.
      const copies = details.flatMap((detail) => [0, 1, 2].map(() => JSON.stringify(envelopeOf(detail))));
      for (let i = copies.length - 1; i > 0; i -= 1) {
        const j = (i * 7919) % (i + 1);
        [copies[i], copies[j]] = [copies[j] as string, copies[i] as string];
      }
      const handle = createArchiveHandler({ store: new FolderArchiveStore(folder), logger: silent });
      const batches = Array.from({ length: Math.ceil(copies.length / 10) }, (_, b) =>
        copies.slice(b * 10, b * 10 + 10),
      );
      const responses = await Promise.all(batches.map((batch) => handle(sqsEvent(...batch))));

      expect(responses.flatMap((response) => response.batchItemFailures)).toEqual([]);
      const files = await filesUnder(folder);
      expect(files.sort()).toEqual(details.map(archiveKeyOf).sort());
      for (const file of files) {
        expect(await readFile(join(folder, file))).toEqual(await readFile(join(reference, file)));
      }
    } finally {
      await rm(reference, { recursive: true, force: true });
    }
  });

  it('answers created for the first write and exists for every later one', async () => {
    const store = new FolderArchiveStore(folder);
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => store.createIfAbsent('orders/a.json', '{}')));

    expect(outcomes.filter((outcome) => outcome === 'created')).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome === 'exists')).toHaveLength(7);
  });

  it('sweeps the temporary files of writes a crash interrupted, and nothing else', async () => {
    const store = new FolderArchiveStore(folder);
    await store.createIfAbsent('orders/2026/12/01/A.json', '{"orderId":"A"}');
    await mkdir(join(folder, 'orders/2026/12/01'), { recursive: true });
    const interrupted = 'orders/2026/12/01/.B.json.0b9c3a5e-2f4d-4e7a-9c1b-8d6e5f4a3b2c.tmp';
    await writeFile(join(folder, interrupted), '{"orderId":"B", "half');

    expect(await store.sweepInterruptedWrites()).toEqual([interrupted]);
    expect(await filesUnder(folder)).toEqual(['orders/2026/12/01/A.json']);
    expect(await new FolderArchiveStore(join(folder, 'absent')).sweepInterruptedWrites()).toEqual([]);
  });

  it('refuses a key that leaves the folder', async () => {
    const store = new FolderArchiveStore(folder);
    await expect(store.createIfAbsent('../outside.json', '{}')).rejects.toMatchObject({ name: 'ArchiveStoreError' });
  });
});

describe('the archive backend', () => {
  it('is the S3 bucket the environment names, and an error when it names none', () => {
    expect(archiveStoreFromEnvironment({ ARCHIVE_BUCKET_NAME: BUCKET })).toBeInstanceOf(S3ArchiveStore);
    expect(() => archiveStoreFromEnvironment({})).toThrow(ConfigurationError);
  });
});
