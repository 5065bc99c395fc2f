/**
 * The local event source mapping of the orders table's stream: it reads DynamoDB Local's real stream
 * (DescribeTable -> DescribeStream -> GetShardIterator -> GetRecords, parents before children), hands each batch
 * to the real outbox relay handler as a DynamoDBStreamEvent, and checkpoints per shard in the bus's database, so
 * that a restart neither loses nor replays what was done. A batch that reports failures is read again from its
 * first failure after a backoff: while the bus is down nothing is lost, and once it is back every order's event
 * arrives. A record that keeps failing while the bus is up is dead-lettered, as bisect-and-DLQ would in AWS.
 */
import { Buffer } from 'node:buffer';
import type { DatabaseSync } from 'node:sqlite';
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
  type DynamoDBStreamsClient,
  type Shard,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import {
  commitsOf,
  type Commits,
  deleteDeadLetter,
  describeOrigin,
  readDeadLetter,
  recordDeadLetter,
  saveShardCheckpoint,
  shardCheckpoints,
  type RedriveResult,
  type ShardCheckpoint,
} from '../eventbridge/events-database.js';
import { LocalEventsError } from '../eventbridge/errors.js';
import { describeError } from '../../src/json-value.js';
import { OUTBOX_RELAY, relayAttemptsPerRecord } from '../../src/deployed-settings.js';
import { backoff, pause, type LogSink } from '../waiting.js';

export type StreamHandler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>;

export interface DynamoDbStreamSourceOptions {
  dynamodb: DynamoDBClient;
  streams: DynamoDBStreamsClient;
  tableName: string;
  handler: StreamHandler;
  /** Whether the handler's destination is up: failures while it is down are waited out, never dead-lettered. */
  isTargetAvailable?: () => boolean;
  pollMs?: number;
  batchSize?: number;
  backoffMs?: number;
  maxBackoffMs?: number;
  /**
   * Failed attempts (while the target is up) before a record is dead-lettered; default the deployed mapping's
   * first invocation plus its MaximumRetryAttempts.
   */
  maxAttempts?: number;
  /** A failing record older than this (while the target is up) is dead-lettered; default the deployed mapping's. */
  maxRecordAgeMs?: number;
  /** Shards are described again at least this often, and whenever one ends. */
  describeEveryMs?: number;
  log?: LogSink;
}

type DeadLetterInput = Parameters<typeof recordDeadLetter>[1];

const errorName = (error: unknown): string =>
  typeof error === 'object' && error !== null && 'name' in error ? String(error.name) : '';

/** A shard iterator is dead (expired, or its records trimmed): read again from the checkpoint. */
const STALE_ITERATOR = new Set(['ExpiredIteratorException', 'TrimmedDataAccessException']);

/** What Lambda hands the function: epoch seconds for the time, base64 for binary, the stream ARN as source. */
function lambdaRecordOf(record: StreamRecord, streamArn: string): DynamoDBRecord {
  const { ApproximateCreationDateTime, ...streamRecord } = record.dynamodb ?? {};
  const dynamodb = JSON.parse(
    JSON.stringify(streamRecord, (_key, value: unknown) =>
      value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value,
    ),
  ) as DynamoDBRecord['dynamodb'];
  return {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion,
    eventSource: record.eventSource,
    awsRegion: record.awsRegion,
    eventSourceARN: streamArn,
    dynamodb: {
      ...(ApproximateCreationDateTime
        ? { ApproximateCreationDateTime: Math.floor(ApproximateCreationDateTime.getTime() / 1000) }
        : {}),
      ...dynamodb,
    },
  };
}

export class DynamoDbStreamSource {
  private readonly controller = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly options: Required<DynamoDbStreamSourceOptions>;

  private streamArn: string | undefined;
  private shards: Shard[] = [];
  private describedAt = 0;
  private readonly iterators = new Map<string, string>();
  /** Failed attempts of the record a shard is stuck on, keyed by shard. */
  private readonly stuck = new Map<string, { sequenceNumber: string; attempts: number }>();
  private failures = 0;
  private readonly commits: Commits;

  constructor(
    private readonly db: DatabaseSync,
    options: DynamoDbStreamSourceOptions,
  ) {
    this.commits = commitsOf(db);
    this.options = {
      isTargetAvailable: () => true,
      pollMs: 250,
      batchSize: OUTBOX_RELAY.batchSize,
      backoffMs: 250,
      maxBackoffMs: 5_000,
      maxAttempts: relayAttemptsPerRecord(),
      maxRecordAgeMs: OUTBOX_RELAY.maxRecordAgeSeconds * 1000,
      describeEveryMs: 10_000,
      log: () => undefined,
      ...options,
    };
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await this.loop;
  }

  /**
   * Hands a dead-lettered stream record to the relay handler once more, as reprocessing an on-failure destination's
   * record would; the letter is removed once the handler took it, and kept if it fails again.
   */
  async redrive(deadLetterId: number): Promise<RedriveResult> {
    const letter = readDeadLetter(this.db, deadLetterId);
    if (!letter) return { outcome: 'not-found', detail: `no dead letter ${deadLetterId}` };
    if (letter.origin.kind !== 'stream') {
      return { outcome: 'not-redrivable', detail: `${describeOrigin(letter.origin)}: not a stream record` };
    }
    let detail: string;
    try {
      const { batchItemFailures } = await this.options.handler({ Records: [JSON.parse(letter.payload)] });
      detail = batchItemFailures.length === 0 ? 'relayed' : 'the relay handler reported the record failed';
      if (batchItemFailures.length > 0) return { outcome: 'failed', detail };
    } catch (error) {
      return { outcome: 'failed', detail: describeError(error) };
    }
    await this.commits.commit(() => deleteDeadLetter(this.db, deadLetterId));
    this.options.log({ level: 'info', message: 'stream dead letter redriven', deadLetterId });
    return { outcome: 'delivered', detail };
  }

  private async run(): Promise<void> {
    const { signal } = this.controller;
    while (!signal.aborted) {
      let progressed = false;
      let failure: string | undefined;
      try {
        const outcome = await this.poll();
        progressed = outcome === 'progressed';
        if (outcome === 'failed') failure = 'records not relayed';
      } catch (error) {
        if (signal.aborted) break;
        this.forgetStream(error);
        failure = describeError(error);
      }
      if (failure) {
        this.failures += 1;
        const delayMs = backoff(this.failures, this.options.backoffMs, this.options.maxBackoffMs);
        // One line when trouble starts and one when it ends: a down bus must not flood the log.
        if (this.failures === 1) {
          this.options.log({ level: 'warn', message: 'stream relay failing, retrying', error: failure });
        }
        await pause(delayMs, signal);
        continue;
      }
      if (this.failures > 0) {
        this.options.log({ level: 'info', message: 'stream relay recovered', failedAttempts: this.failures });
        this.failures = 0;
      }
      if (!progressed) await pause(this.options.pollMs, signal);
    }
  }

  /** One pass over the readable shards. */
  private async poll(): Promise<'idle' | 'progressed' | 'failed'> {
    const streamArn = await this.currentStreamArn();
    if (this.shards.length === 0 || Date.now() - this.describedAt > this.options.describeEveryMs) {
      this.shards = await this.describeShards(streamArn);
      this.describedAt = Date.now();
    }
    const checkpoints = shardCheckpoints(this.db, streamArn);
    const known = new Set(this.shards.map((shard) => shard.ShardId));
    // A child shard holds later changes of the same items: it waits until its parent is read to the end.
    const readable = this.shards.filter((shard) => {
      if (!shard.ShardId || checkpoints.get(shard.ShardId)?.finished) return false;
      const parent = shard.ParentShardId;
      return !parent || !known.has(parent) || checkpoints.get(parent)?.finished === true;
    });
    let outcome: 'idle' | 'progressed' | 'failed' = 'idle';
    for (const shard of readable) {
      if (this.controller.signal.aborted) break;
      const result = await this.readShard(streamArn, String(shard.ShardId), checkpoints.get(String(shard.ShardId)));
      if (result === 'failed') outcome = 'failed';
      else if (result === 'progressed' && outcome === 'idle') outcome = 'progressed';
    }
    return outcome;
  }

  private async readShard(
    streamArn: string,
    shardId: string,
    checkpoint: ShardCheckpoint | undefined,
  ): Promise<'idle' | 'progressed' | 'failed'> {
    let iterator = this.iterators.get(shardId) ?? (await this.iteratorFrom(streamArn, shardId, checkpoint));
    let page;
    try {
      page = await this.options.streams.send(
        new GetRecordsCommand({ ShardIterator: iterator, Limit: this.options.batchSize }),
      );
    } catch (error) {
      if (!STALE_ITERATOR.has(errorName(error))) throw error;
      this.iterators.delete(shardId);
      iterator = await this.iteratorFrom(streamArn, shardId, checkpoint);
      page = await this.options.streams.send(
        new GetRecordsCommand({ ShardIterator: iterator, Limit: this.options.batchSize }),
      );
    }
    const records = page.Records ?? [];
    if (records.length > 0) {
      const handled = await this.handle(streamArn, shardId, records);
      if (handled === 'failed') {
        // Read again from the checkpoint, which now stands just before the first failed record.
        this.iterators.delete(shardId);
        return 'failed';
      }
    }
    if (page.NextShardIterator) {
      this.iterators.set(shardId, page.NextShardIterator);
    } else {
      this.iterators.delete(shardId);
      await this.saveCheckpoint(streamArn, shardId, records.at(-1)?.dynamodb?.SequenceNumber, true);
      this.describedAt = 0;
    }
    return records.length > 0 ? 'progressed' : 'idle';
  }

  /** Runs the handler on one page of records and checkpoints what it took. */
  private async handle(streamArn: string, shardId: string, records: StreamRecord[]): Promise<'done' | 'failed'> {
    const batch = records.map((record) => lambdaRecordOf(record, streamArn));
    let failedIds: Set<string>;
    try {
      const { batchItemFailures } = await this.options.handler({ Records: batch });
      failedIds = new Set(batchItemFailures.map((failure) => failure.itemIdentifier));
    } catch (error) {
      this.options.log({ level: 'warn', message: 'stream handler threw', error: describeError(error) });
      failedIds = new Set(batch.map((record) => String(record.dynamodb?.SequenceNumber)));
    }
    let firstFailed = batch.findIndex((record) => failedIds.has(String(record.dynamodb?.SequenceNumber)));
    // As in Lambda: an identifier that names no record of the batch fails the whole batch.
    if (firstFailed < 0 && failedIds.size > 0) firstFailed = 0;
    if (firstFailed < 0) {
      await this.saveCheckpoint(streamArn, shardId, batch.at(-1)?.dynamodb?.SequenceNumber, false);
      this.stuck.delete(shardId);
      return 'done';
    }
    const failedRecord = records[firstFailed] as StreamRecord;
    const sequenceNumber = String(failedRecord.dynamodb?.SequenceNumber);
    const previous = this.stuck.get(shardId);
    const targetAvailable = this.options.isTargetAvailable();
    const attempts = (previous?.sequenceNumber === sequenceNumber ? previous.attempts : 0) + (targetAvailable ? 1 : 0);
    const created = failedRecord.dynamodb?.ApproximateCreationDateTime;
    const ageMs = created ? Date.now() - created.getTime() : 0;
    const expired = targetAvailable && ageMs > this.options.maxRecordAgeMs;
    if (attempts >= this.options.maxAttempts || expired) {
      await this.saveCheckpoint(streamArn, shardId, sequenceNumber, false, {
        origin: { kind: 'stream', shardId },
        reference: sequenceNumber,
        payload: JSON.stringify(batch[firstFailed]),
        reason: expired
          ? `not relayed within the maximum record age of ${this.options.maxRecordAgeMs / 1000} s (${attempts} attempts)`
          : `not relayed after ${attempts} attempts`,
      });
      this.options.log({ level: 'error', message: 'stream record dead-lettered', shardId, sequenceNumber });
      this.stuck.delete(shardId);
      return 'failed';
    }
    this.stuck.set(shardId, { sequenceNumber, attempts });
    const before = firstFailed > 0 ? batch[firstFailed - 1]?.dynamodb?.SequenceNumber : undefined;
    if (before) await this.saveCheckpoint(streamArn, shardId, before, false);
    return 'failed';
  }

  private async currentStreamArn(): Promise<string> {
    if (this.streamArn) return this.streamArn;
    const { Table } = await this.options.dynamodb.send(new DescribeTableCommand({ TableName: this.options.tableName }));
    if (!Table?.LatestStreamArn) throw new LocalEventsError(`table ${this.options.tableName} has no stream`);
    this.streamArn = Table.LatestStreamArn;
    return this.streamArn;
  }

  private async describeShards(streamArn: string): Promise<Shard[]> {
    const shards: Shard[] = [];
    let exclusiveStartShardId: string | undefined;
    do {
      const { StreamDescription } = await this.options.streams.send(
        new DescribeStreamCommand({ StreamArn: streamArn, ExclusiveStartShardId: exclusiveStartShardId }),
      );
      shards.push(...(StreamDescription?.Shards ?? []));
      exclusiveStartShardId = StreamDescription?.LastEvaluatedShardId;
    } while (exclusiveStartShardId);
    return shards;
  }

  private async iteratorFrom(
    streamArn: string,
    shardId: string,
    checkpoint: ShardCheckpoint | undefined,
  ): Promise<string> {
    const request = checkpoint?.sequenceNumber
      ? {
          ShardIteratorType: 'AFTER_SEQUENCE_NUMBER' as const,
          SequenceNumber: checkpoint.sequenceNumber,
        }
      : { ShardIteratorType: 'TRIM_HORIZON' as const };
    try {
      const { ShardIterator } = await this.options.streams.send(
        new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shardId, ...request }),
      );
      if (!ShardIterator) throw new LocalEventsError(`no iterator for shard ${shardId}`);
      return ShardIterator;
    } catch (error) {
      if (errorName(error) !== 'TrimmedDataAccessException') throw error;
      // The checkpoint is older than the stream keeps records (24 h): what lay between is gone for good.
      this.options.log({ level: 'error', message: 'stream records trimmed past the checkpoint', shardId });
      const { ShardIterator } = await this.options.streams.send(
        new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }),
      );
      if (!ShardIterator) throw new LocalEventsError(`no iterator for shard ${shardId}`, { cause: error });
      return ShardIterator;
    }
  }

  /** After an error the stream may have changed (table re-created): find it again. */
  private forgetStream(error: unknown): void {
    if (errorName(error) !== 'ResourceNotFoundException') return;
    this.streamArn = undefined;
    this.shards = [];
    this.iterators.clear();
  }

  /**
   * Stores the shard's checkpoint in one transaction and answers once it is committed: the next page is read
   * from it. A dead letter that lets the checkpoint pass its record is stored with it, so that a crash between the
   * two can neither lose the record nor dead-letter it twice.
   */
  private async saveCheckpoint(
    streamArn: string,
    shardId: string,
    sequenceNumber: string | undefined,
    finished: boolean,
    deadLetter?: DeadLetterInput,
  ): Promise<void> {
    await this.commits.commit(() => {
      if (deadLetter) recordDeadLetter(this.db, deadLetter);
      saveShardCheckpoint(this.db, streamArn, shardId, { sequenceNumber, finished });
    });
  }
}
