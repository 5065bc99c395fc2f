/**
 * A local event bus with EventBridge's PutEvents semantics, durable in SQLite: an event is committed before
 * putEvents returns ("stored before acknowledged"; it survives the process killed, see events-database.ts for a power
 * loss). Rules read the log through their own cursors
 * (rule-delivery.ts).
 */
import { randomUUID } from 'node:crypto';
import type { DatabaseSync } from 'node:sqlite';
import {
  isEntryFailure,
  PUT_EVENTS_MAX_ENTRIES,
  type EventPublisher,
  type PutEventsEntry,
  type PutEventsEntryFailure,
  type PutEventsResult,
  type PutEventsResultEntry,
} from '../../src/events/event-publisher.js';
import { commitsOf, type Commits, insertEvents, storedEvents } from './events-database.js';
import { InternalException, ValidationException } from './errors.js';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from '../local-account.js';
import { isObject } from '../../src/json-value.js';

export const MAX_ENTRY_BYTES = 256 * 1024;
/** A Time given in an entry counts as 14 bytes towards its size, as EventBridge counts it. */
const TIME_BYTES = 14;

/** The event as EventBridge hands it to targets. */
export interface EventEnvelope {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

/** A stored event: its place in the log and its envelope. */
export interface StoredEvent {
  seq: number;
  busName: string;
  envelope: EventEnvelope;
  /** Who called PutEvents (LocalEventBus.publishingAs), if it said; undefined for events stored before it was kept. */
  publishedBy?: string;
}

/** The callers of the local bus that say who they are: the workflow's Publish state and the outbox relay. */
export const PUBLISHERS = { workflow: 'workflow', relay: 'outbox-relay' } as const;

/**
 * An entry as a caller may send it: the bus judges every field as EventBridge does, so a missing one is a per-entry
 * failure rather than a type error (the local EventBridge client passes the SDK's input through unchecked).
 */
export type LocalPutEventsEntry = Partial<Omit<PutEventsEntry, 'Time'>> & { Time?: Date | string };

export interface LocalEventBusOptions {
  busName: string;
  account?: string;
  region?: string;
  available?: boolean;
}

const bytes = (text: string | undefined): number => (text === undefined ? 0 : Buffer.byteLength(text, 'utf8'));

/** EventBridge writes event times to the second. */
const eventTime = (time: Date): string => time.toISOString().replace(/\.\d{3}Z$/, 'Z');

const failure = (ErrorCode: string, ErrorMessage: string): PutEventsEntryFailure => ({ ErrorCode, ErrorMessage });

export class LocalEventBus implements EventPublisher {
  readonly busName: string;
  private readonly account: string;
  private readonly region: string;
  private available: boolean;
  private readonly listeners = new Set<() => void>();
  private readonly commits: Commits;

  constructor(
    private readonly db: DatabaseSync,
    options: LocalEventBusOptions,
  ) {
    this.commits = commitsOf(db);
    this.busName = options.busName;
    this.account = options.account ?? LOCAL_ACCOUNT_ID;
    this.region = options.region ?? LOCAL_REGION;
    this.available = options.available ?? true;
  }

  get arn(): string {
    return `arn:aws:events:${this.region}:${this.account}:event-bus/${this.busName}`;
  }

  /** The fault switch: an unavailable bus refuses every call with InternalException and stores nothing. */
  setAvailable(available: boolean): void {
    this.available = available;
  }

  isAvailable(): boolean {
    return this.available;
  }

  /** Called after each commit that stored at least one event; returns the unsubscribe function. */
  onStored(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * The bus as one caller sees it: what it publishes is stored with its name (the `published_by` column), so that
   * the ops console can tell the workflow's fast path from the outbox relay.
   */
  publishingAs(publisher: string): EventPublisher {
    return { putEvents: (entries) => this.putEvents(entries, publisher) };
  }

  async putEvents(entries: LocalPutEventsEntry[], publishedBy?: string): Promise<PutEventsResult> {
    if (!this.available) throw new InternalException('the local event bus is unavailable (fault switch)');
    if (!Array.isArray(entries) || entries.length < 1 || entries.length > PUT_EVENTS_MAX_ENTRIES) {
      const count = Array.isArray(entries) ? entries.length : 0;
      throw new ValidationException(
        `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length ` +
          `less than or equal to ${PUT_EVENTS_MAX_ENTRIES} and greater than or equal to 1 (got ${count})`,
      );
    }
    const now = new Date();
    const judged = entries.map((entry) => this.envelopeOf(entry, now));
    const stored = judged.filter((result): result is EventEnvelope => !('ErrorCode' in result));
    if (stored.length > 0) {
      try {
        // One transaction for the call's events: all of them are committed when it resolves, or none.
        await this.commits.commit(() =>
          insertEvents(this.db, this.busName, stored, { by: publishedBy, at: now.getTime() }),
        );
      } catch (error) {
        // Not stored: nothing acknowledged, EventBridge's 500.
        throw new InternalException(`the local event log could not store the events: ${String(error)}`, {
          cause: error,
        });
      }
      for (const listener of this.listeners) listener();
    }
    const results: PutEventsResultEntry[] = judged.map((result) =>
      'ErrorCode' in result ? result : { EventId: result.id },
    );
    return { FailedEntryCount: results.filter(isEntryFailure).length, Entries: results };
  }

  /** Every stored event of this bus, oldest first (for tests and inspection). */
  storedEvents(): StoredEvent[] {
    return storedEvents(this.db, this.busName);
  }

  private targetsThisBus(name: string | undefined): boolean {
    const busName = name ?? 'default';
    return busName === this.busName || busName === this.arn;
  }

  /** The envelope for a valid entry, or the per-entry error EventBridge would give it. */
  private envelopeOf(entry: LocalPutEventsEntry, now: Date): EventEnvelope | PutEventsEntryFailure {
    if (!isObject(entry)) return failure('InvalidArgument', 'Entry is not an object.');
    const { Source, DetailType, Detail, Resources = [], Time } = entry;
    for (const [name, value] of Object.entries({ Source, DetailType, Detail })) {
      if (typeof value !== 'string' || value.length === 0) {
        return failure('InvalidArgument', `Parameter ${name} is not valid. Reason: ${name} is a required argument.`);
      }
    }
    let detail: unknown;
    try {
      detail = JSON.parse(Detail as string);
    } catch {
      detail = undefined;
    }
    if (!isObject(detail)) return failure('MalformedDetail', 'Detail is malformed.');
    const size =
      (Time === undefined ? 0 : TIME_BYTES) +
      bytes(Source) +
      bytes(DetailType) +
      bytes(Detail) +
      Resources.reduce((sum, resource) => sum + bytes(resource), 0);
    if (size > MAX_ENTRY_BYTES) {
      return failure('InvalidArgument', `Entry size ${size} bytes exceeds the limit of ${MAX_ENTRY_BYTES} bytes.`);
    }
    if (!this.targetsThisBus(entry.EventBusName)) {
      return failure('ResourceNotFoundException', `Event bus ${entry.EventBusName ?? 'default'} does not exist.`);
    }
    const time = Time === undefined ? now : new Date(Time);
    if (Number.isNaN(time.getTime())) return failure('InvalidArgument', 'Parameter Time is not valid.');
    return {
      version: '0',
      id: randomUUID(),
      'detail-type': DetailType as string,
      source: Source as string,
      account: this.account,
      time: eventTime(time),
      region: this.region,
      resources: Resources,
      detail,
    };
  }
}
