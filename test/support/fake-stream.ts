/** A fake DynamoDB stream for the local relay's tests: what DynamoDB Streams serves, without DynamoDB Local. */
import {
  DescribeTableCommand,
  type DynamoDBClientResolvedConfig,
  type ServiceInputTypes as DynamoDbInput,
  type ServiceOutputTypes as DynamoDbOutput,
} from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  TrimmedDataAccessException,
  type DynamoDBStreamsClientResolvedConfig,
  type ServiceInputTypes as StreamsInput,
  type ServiceOutputTypes as StreamsOutput,
  type _Record as StreamRecord,
  type GetShardIteratorCommandInput,
} from '@aws-sdk/client-dynamodb-streams';
import type { AwsStub } from 'aws-sdk-client-mock';

export const STREAM_ARN = 'arn:aws:dynamodb:ddblocal:000000000000:table/orders/stream/2026-11-25T00:00:00.000';

export const seq = (n: number): string => String(n).padStart(21, '0');

/** A stream as DynamoDB Streams serves it: shards with records, iterators as positions, parents closed. */
export class FakeStream {
  readonly shards = new Map<string, { parent?: string; records: StreamRecord[]; closed: boolean }>();
  /** Sequence numbers before this one are trimmed. */
  trimmedBefore = 0;
  /** When the records appended next were written: recent, so that no record is past the relay's maximum age. */
  createdAt = new Date(Date.now() - 60_000);

  addShard(id: string, numbers: number[], options: { parent?: string; closed?: boolean } = {}): void {
    this.shards.set(id, { parent: options.parent, records: [], closed: options.closed ?? false });
    this.append(id, ...numbers);
  }

  append(shardId: string, ...numbers: number[]): void {
    this.shards.get(shardId)?.records.push(
      ...numbers.map((n) => ({
        eventName: 'INSERT' as const,
        eventSource: 'aws:dynamodb',
        awsRegion: 'ddblocal',
        dynamodb: {
          ApproximateCreationDateTime: this.createdAt,
          SequenceNumber: seq(n),
          NewImage: { pk: { S: `ORDER#${n}` } },
        },
      })),
    );
  }

  iterator(input: GetShardIteratorCommandInput): string {
    const shard = this.shards.get(String(input.ShardId));
    if (!shard) throw new Error(`no shard ${input.ShardId}`);
    if (input.ShardIteratorType === 'TRIM_HORIZON') {
      const first = shard.records.findIndex((r) => Number(r.dynamodb?.SequenceNumber) >= this.trimmedBefore);
      return `${input.ShardId}|${first < 0 ? shard.records.length : first}`;
    }
    if (Number(input.SequenceNumber) < this.trimmedBefore) {
      throw new TrimmedDataAccessException({ message: 'trimmed', $metadata: {} });
    }
    const index = shard.records.findIndex((r) => r.dynamodb?.SequenceNumber === input.SequenceNumber);
    return `${input.ShardId}|${index + 1}`;
  }

  read(iterator: string, limit: number): { Records: StreamRecord[]; NextShardIterator?: string } {
    const [shardId = '', position = '0'] = iterator.split('|');
    const shard = this.shards.get(shardId);
    const start = Number(position);
    const records = shard?.records.slice(start, start + limit) ?? [];
    const next = start + records.length;
    const done = shard?.closed && next >= (shard?.records.length ?? 0);
    return { Records: records, ...(done ? {} : { NextShardIterator: `${shardId}|${next}` }) };
  }
}

/** Answers the relay's DescribeTable and stream calls from `stream`, through aws-sdk-client-mock's stubs. */
export function serveFakeStream(
  stream: FakeStream,
  dynamodbMock: AwsStub<DynamoDbInput, DynamoDbOutput, DynamoDBClientResolvedConfig>,
  streamsMock: AwsStub<StreamsInput, StreamsOutput, DynamoDBStreamsClientResolvedConfig>,
): void {
  dynamodbMock.on(DescribeTableCommand).resolves({ Table: { LatestStreamArn: STREAM_ARN } });
  streamsMock.on(DescribeStreamCommand).callsFake(() => ({
    StreamDescription: {
      StreamArn: STREAM_ARN,
      Shards: [...stream.shards].map(([ShardId, shard]) => ({ ShardId, ParentShardId: shard.parent })),
    },
  }));
  streamsMock.on(GetShardIteratorCommand).callsFake((input) => ({ ShardIterator: stream.iterator(input) }));
  streamsMock.on(GetRecordsCommand).callsFake((input) => stream.read(input.ShardIterator, input.Limit ?? 100));
}
