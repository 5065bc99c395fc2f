import type { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { listDeadLetters, openEventsDatabase } from '../../local/eventbridge/events-database.js';
import { DynamoDbStreamSource, type DynamoDbStreamSourceOptions } from '../../local/event-sources/dynamodb-stream.js';
import { eventually } from '../support/eventually.js';
import { FakeStream, seq, serveFakeStream, STREAM_ARN } from '../support/fake-stream.js';

const dynamodbMock = mockClient(DynamoDBClient);
const streamsMock = mockClient(DynamoDBStreamsClient);
let stream: FakeStream;
let db: DatabaseSync;
let relay: DynamoDbStreamSource | undefined;

/** A handler that records the sequence numbers it sees and fails those it is told to, a number of times. */
function recordingHandler() {
  const seen: string[][] = [];
  const failuresLeft = new Map<string, number>();
  const handler = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
    const numbers = event.Records.map((record) => String(record.dynamodb?.SequenceNumber));
    seen.push(numbers);
    const failed = numbers.filter((n) => {
      const left = failuresLeft.get(n) ?? 0;
      if (left > 0) failuresLeft.set(n, left - 1);
      return left > 0;
    });
    return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
  };
  return { handler, seen, failuresLeft, all: () => seen.flat() };
}

function startRelay(
  handler: DynamoDbStreamSourceOptions['handler'],
  options: Partial<DynamoDbStreamSourceOptions> = {},
): DynamoDbStreamSource {
  relay = new DynamoDbStreamSource(db, {
    dynamodb: new DynamoDBClient({}),
    streams: new DynamoDBStreamsClient({}),
    tableName: 'orders',
    handler,
    pollMs: 5,
    backoffMs: 1,
    maxBackoffMs: 5,
    describeEveryMs: 0,
    ...options,
  });
  relay.start();
  return relay;
}

beforeEach(() => {
  stream = new FakeStream();
  db = openEventsDatabase(':memory:');
  serveFakeStream(stream, dynamodbMock, streamsMock);
});
afterEach(async () => {
  await relay?.stop();
  relay = undefined;
  db.close();
  dynamodbMock.reset();
  streamsMock.reset();
});

describe('the stream relay', () => {
  it('reads a parent shard to its end before its child, and hands Lambda-shaped records to the handler', async () => {
    // Listed child first, as nothing promises DescribeStream's order.
    stream.addShard('child', [4, 5], { parent: 'parent' });
    stream.addShard('parent', [1, 2, 3], { closed: true });
    const { handler, seen, all } = recordingHandler();

    startRelay(handler);
    await eventually('both shards are read', () => all().length === 5);

    expect(all()).toEqual([1, 2, 3, 4, 5].map(seq));
    expect(seen[0]).toEqual([1, 2, 3].map(seq));
    // The checkpoint of a batch commits after the handler returned.
    const checkpoints = () =>
      db
        .prepare('SELECT shard_id, sequence_number, finished FROM stream_checkpoints')
        .all()
        .map((row) => ({ ...row }));
    await eventually('the child shard is checkpointed', () =>
      checkpoints().some((row) => row.shard_id === 'child' && row.sequence_number === seq(5)),
    );
    expect(checkpoints()).toEqual(
      expect.arrayContaining([
        { shard_id: 'parent', sequence_number: seq(3), finished: 1 },
        { shard_id: 'child', sequence_number: seq(5), finished: 0 },
      ]),
    );
  });

  it('gives the handler epoch seconds and the stream ARN, as Lambda does', async () => {
    stream.createdAt = new Date('2026-11-25T10:00:00Z');
    stream.addShard('only', [1]);
    const events: DynamoDBStreamEvent[] = [];
    startRelay(async (event) => {
      events.push(event);
      return { batchItemFailures: [] };
    });
    await eventually('the record reaches the handler', () => events.length === 1);

    expect(events[0]?.Records[0]).toMatchObject({
      eventName: 'INSERT',
      eventSourceARN: STREAM_ARN,
      dynamodb: {
        ApproximateCreationDateTime: Date.parse('2026-11-25T10:00:00Z') / 1000,
        SequenceNumber: seq(1),
        NewImage: { pk: { S: 'ORDER#1' } },
      },
    });
  });

  it('resumes after its checkpoint when restarted: nothing lost, nothing replayed', async () => {
    stream.addShard('only', [1, 2]);
    const first = recordingHandler();
    startRelay(first.handler);
    await eventually('the first relay reads both records', () => first.all().length === 2);
    await relay?.stop();

    stream.append('only', 3);
    const second = recordingHandler();
    startRelay(second.handler);
    await eventually('the second relay reads the new record', () => second.all().length === 1);

    expect(second.all()).toEqual([seq(3)]);
    expect(streamsMock).toHaveReceivedCommandWith(GetShardIteratorCommand, {
      ShardIteratorType: 'AFTER_SEQUENCE_NUMBER',
      SequenceNumber: seq(2),
    });
  });

  it('has a page’s checkpoint stored before it reads the next page', async () => {
    stream.addShard('only', [1, 2, 3, 4, 5]);
    const checkpoint = db.prepare('SELECT sequence_number FROM stream_checkpoints WHERE shard_id = ?');
    const checkpointsSeen: unknown[] = [];
    const { handler, all } = recordingHandler();
    startRelay(
      async (event) => {
        checkpointsSeen.push(checkpoint.get('only')?.sequence_number);
        return handler(event);
      },
      { batchSize: 2 },
    );
    await eventually('every page is read', () => all().length === 5);

    expect(checkpointsSeen).toEqual([undefined, seq(2), seq(4)]);
  });

  it('reads a batch again from its first failed record until the handler takes it', async () => {
    stream.addShard('only', [1, 2, 3]);
    const { handler, seen, failuresLeft, all } = recordingHandler();
    failuresLeft.set(seq(2), 2);

    startRelay(handler);
    await eventually('the batch is read three times', () => all().filter((n) => n === seq(3)).length === 3);

    expect(seen).toEqual([[1, 2, 3].map(seq), [2, 3].map(seq), [2, 3].map(seq)]);
  });

  it('starts again from its checkpoint when an iterator expires', async () => {
    stream.addShard('only', [1]);
    const { handler, all } = recordingHandler();
    startRelay(handler);
    await eventually('the first record is read', () => all().length === 1);

    streamsMock
      .on(GetRecordsCommand)
      .rejectsOnce(new ExpiredIteratorException({ message: 'expired', $metadata: {} }))
      .callsFake((input) => stream.read(input.ShardIterator, input.Limit ?? 100));
    stream.append('only', 2);
    await eventually('the record after the expiry is read', () => all().length === 2);

    expect(all()).toEqual([1, 2].map(seq));
  });

  it('starts from the oldest record kept when its checkpoint has been trimmed away, and says so', async () => {
    stream.addShard('only', [5, 6]);
    db.prepare('INSERT INTO stream_checkpoints (stream_arn, shard_id, sequence_number) VALUES (?, ?, ?)').run(
      STREAM_ARN,
      'only',
      seq(2),
    );
    stream.trimmedBefore = 5;
    const logs: object[] = [];
    const { handler, all } = recordingHandler();
    startRelay(handler, { log: (line) => logs.push(line) });
    await eventually('the records kept are read', () => all().length === 2);

    expect(all()).toEqual([5, 6].map(seq));
    expect(logs).toContainEqual(expect.objectContaining({ level: 'error', shardId: 'only' }));
  });

  it('never dead-letters while the target is down, and does once it keeps failing with the target up', async () => {
    stream.addShard('only', [1, 2]);
    const { handler, failuresLeft, all } = recordingHandler();
    failuresLeft.set(seq(1), Number.POSITIVE_INFINITY);
    let targetUp = false;
    startRelay(handler, { maxAttempts: 3, isTargetAvailable: () => targetUp });

    await eventually('the target-down retries go on', () => all().length >= 10);
    const letters = () => db.prepare('SELECT reference FROM dead_letters').all();
    expect(letters()).toEqual([]);

    targetUp = true;
    await eventually('the failing record is dead-lettered', () => all().at(-1) === seq(2) && letters().length === 1);
    expect(letters().map((row) => row.reference)).toEqual([seq(1)]);
  });

  it('dead-letters a record only with the checkpoint that passes it, so never twice', async () => {
    stream.addShard('only', [1, 2]);
    const { handler, failuresLeft, seen, all } = recordingHandler();
    failuresLeft.set(seq(1), Number.POSITIVE_INFINITY);
    db.exec(`CREATE TRIGGER refuse_checkpoints BEFORE INSERT ON stream_checkpoints
             BEGIN SELECT RAISE(ABORT, 'checkpoint refused'); END`);
    const logs: Record<string, unknown>[] = [];
    startRelay(handler, { maxAttempts: 1, log: (line) => logs.push(line as Record<string, unknown>) });

    await eventually('the record is tried three times', () => all().filter((n) => n === seq(1)).length >= 3);
    expect(listDeadLetters(db)).toEqual([]);
    db.exec('DROP TRIGGER refuse_checkpoints');
    await eventually('the next record is read alone', () => seen.at(-1)?.join() === seq(2));

    expect(listDeadLetters(db).map((letter) => letter.reference)).toEqual([seq(1)]);
    expect(logs.filter((line) => line.message === 'stream record dead-lettered')).toHaveLength(1);
    expect(logs[0]).toMatchObject({ level: 'warn', message: 'stream relay failing, retrying' });
  });

  it('redrives a dead-lettered record to the handler, and removes the letter once the handler took it', async () => {
    stream.addShard('only', [1]);
    const { handler, failuresLeft } = recordingHandler();
    failuresLeft.set(seq(1), 2);
    const source = startRelay(handler, { maxAttempts: 1 });
    await eventually('the record is dead-lettered', () => listDeadLetters(db).length === 1);
    const id = listDeadLetters(db)[0]?.id ?? 0;

    expect(await source.redrive(id)).toMatchObject({ outcome: 'failed' });
    expect(listDeadLetters(db)).toHaveLength(1);
    expect(await source.redrive(id)).toEqual({ outcome: 'delivered', detail: 'relayed' });
    expect(listDeadLetters(db)).toEqual([]);
  });
});
