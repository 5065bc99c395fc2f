/**
 * Delivery of the local bus's events to rule targets, at least once and surviving kill -9. Each rule has a
 * durable cursor (the last event it is done with) in the bus's database. The loop hands the next matching events
 * to the target in batches of up to 10, as an SQS event source would, and moves the cursor only past events the
 * target took. A failed event is retried with backoff; after `maxReceives` deliveries it is dead-lettered, as an
 * SQS queue with a redrive policy would, so one poisoned event cannot stall the rule.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { recordDeadLetter } from './events-database.js';
import { assertSupportedPattern, matchesPattern, type EventPattern } from './event-pattern.js';
import type { EventEnvelope, LocalEventBus } from './local-event-bus.js';
import { describeError } from '../../src/json-value.js';
import { backoff, pause, Wakeup, type LogSink } from '../waiting.js';

export interface RuleTarget {
  /** Delivers a batch; answers the ids of the events it did not take. Throwing fails the whole batch. */
  deliver(events: EventEnvelope[]): Promise<{ failedEventIds: string[] }>;
}

export interface LocalRule {
  name: string;
  eventPattern: EventPattern;
  target: RuleTarget;
}

export interface RuleDeliveryOptions {
  batchSize?: number;
  /** How often an idle loop looks at the log; new events wake it at once anyway. */
  pollMs?: number;
  backoffMs?: number;
  maxBackoffMs?: number;
  maxReceives?: number;
  log?: LogSink;
}

const SCAN_LIMIT = 100;

export class RuleDelivery {
  private readonly controller = new AbortController();
  /** One per rule: a Wakeup wakes a single waiter. */
  private readonly wakeups = new Map<string, Wakeup>();
  private readonly loops: Promise<void>[] = [];
  private readonly unsubscribe: () => void;
  private readonly options: Required<RuleDeliveryOptions>;
  private readonly readCursor: StatementSync;

  constructor(
    private readonly db: DatabaseSync,
    private readonly bus: LocalEventBus,
    private readonly rules: LocalRule[],
    options: RuleDeliveryOptions = {},
  ) {
    for (const rule of rules) assertSupportedPattern(rule.eventPattern);
    this.options = {
      batchSize: 10,
      pollMs: 250,
      backoffMs: 200,
      maxBackoffMs: 5_000,
      maxReceives: 8,
      log: () => undefined,
      ...options,
    };
    // A rule sees the events put after it was created, as in EventBridge; its cursor then persists.
    const createCursor = db.prepare(
      `INSERT OR IGNORE INTO delivery_cursors (rule_name, last_seq)
       SELECT ?, COALESCE(MAX(seq), 0) FROM events WHERE bus_name = ?`,
    );
    for (const rule of rules) createCursor.run(rule.name, bus.busName);
    // Read on every turn of every delivery loop: prepared once.
    this.readCursor = db.prepare('SELECT last_seq FROM delivery_cursors WHERE rule_name = ?');
    for (const rule of rules) this.wakeups.set(rule.name, new Wakeup());
    this.unsubscribe = bus.onStored(() => {
      for (const wakeup of this.wakeups.values()) wakeup.notify();
    });
  }

  start(): void {
    for (const rule of this.rules) this.loops.push(this.run(rule));
  }

  /** Ends the loops after their current step; the cursors stay where the last success left them. */
  async stop(): Promise<void> {
    this.unsubscribe();
    this.controller.abort();
    await Promise.all(this.loops);
  }

  /** The rule's cursor: every event up to this seq has been delivered (or dead-lettered). */
  cursorOf(ruleName: string): number {
    const row = this.readCursor.get(ruleName);
    return Number(row?.last_seq ?? 0);
  }

  /** Events of the bus the rule has not yet dealt with. */
  backlogOf(ruleName: string): number {
    const row = this.db
      .prepare('SELECT COUNT(*) AS backlog FROM events WHERE bus_name = ? AND seq > ?')
      .get(this.bus.busName, this.cursorOf(ruleName));
    return Number(row?.backlog ?? 0);
  }

  private async run(rule: LocalRule): Promise<void> {
    const { signal } = this.controller;
    const wakeup = this.wakeups.get(rule.name) ?? new Wakeup();
    const receives = new Map<string, number>();
    const deadLettered = new Set<string>();
    let failures = 0;
    const next = this.db.prepare(
      'SELECT seq, envelope FROM events WHERE bus_name = ? AND seq > ? ORDER BY seq LIMIT ?',
    );
    const advance = this.db.prepare('UPDATE delivery_cursors SET last_seq = ? WHERE rule_name = ? AND last_seq < ?');
    const moveTo = (seq: number): void => {
      advance.run(seq, rule.name, seq);
    };

    while (!signal.aborted) {
      const rows = next.all(this.bus.busName, this.cursorOf(rule.name), SCAN_LIMIT);
      if (rows.length === 0) {
        await wakeup.wait(this.options.pollMs, signal);
        continue;
      }
      // Take matching events in log order until the batch is full; `examined` is how far the scan got.
      const batch: { seq: number; envelope: EventEnvelope }[] = [];
      let examined = 0;
      for (const row of rows) {
        const seq = Number(row.seq);
        const envelope = JSON.parse(String(row.envelope)) as EventEnvelope;
        if (batch.length === this.options.batchSize) break;
        examined = seq;
        if (!matchesPattern(rule.eventPattern, envelope)) continue;
        if (deadLettered.has(envelope.id)) continue;
        if ((receives.get(envelope.id) ?? 0) >= this.options.maxReceives) {
          this.deadLetter(rule, envelope, receives.get(envelope.id) ?? 0);
          deadLettered.add(envelope.id);
          receives.delete(envelope.id);
          continue;
        }
        batch.push({ seq, envelope });
      }
      if (batch.length === 0) {
        moveTo(examined);
        continue;
      }

      let failed: Set<string>;
      let error: string | undefined;
      try {
        const result = await rule.target.deliver(batch.map((item) => item.envelope));
        failed = new Set(result.failedEventIds);
      } catch (thrown) {
        failed = new Set(batch.map((item) => item.envelope.id));
        error = describeError(thrown);
      }
      const firstFailed = batch.find((item) => failed.has(item.envelope.id));
      if (!firstFailed) {
        moveTo(examined);
        failures = 0;
        for (const item of batch) receives.delete(item.envelope.id);
        continue;
      }
      // Everything before the first failure is done; from there on the batch is delivered again.
      moveTo(firstFailed.seq - 1);
      for (const id of failed) receives.set(id, (receives.get(id) ?? 0) + 1);
      failures += 1;
      const delayMs = backoff(failures, this.options.backoffMs, this.options.maxBackoffMs);
      this.options.log({
        level: 'warn',
        message: 'events not delivered, retrying',
        rule: rule.name,
        eventIds: [...failed],
        error,
        retryInMs: delayMs,
      });
      await pause(delayMs, signal);
    }
  }

  private deadLetter(rule: LocalRule, envelope: EventEnvelope, receives: number): void {
    const reason = `not delivered after ${receives} attempts`;
    recordDeadLetter(this.db, {
      origin: `rule:${rule.name}`,
      reference: envelope.id,
      payload: JSON.stringify(envelope),
      reason,
    });
    this.options.log({ level: 'error', message: 'event dead-lettered', rule: rule.name, eventId: envelope.id, reason });
  }
}
