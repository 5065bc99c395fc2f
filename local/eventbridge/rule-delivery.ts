/**
 * Delivery of the local bus's events to rule targets, at least once and surviving kill -9. Each rule has a
 * durable cursor (the last event it is done with) in the bus's database. The loop hands the next matching events
 * to the target in batches of up to 10, as an SQS event source would, and moves the cursor only past events the
 * target took. A failed event is retried with backoff until the rule's retry policy is spent (by default
 * `maxReceives` attempts, as an SQS queue's redrive policy), then dead-lettered, so one poisoned event cannot stall
 * the rule; an event the target refuses for good is dead-lettered at once. Every attempt is recorded in
 * `delivery_attempts`, in the same transaction as the cursor move and the dead letters of its delivery call.
 */
import type { DatabaseSync } from 'node:sqlite';
import { SUBSCRIPTION_DEFAULTS } from '../../src/deployed-settings.js';
import {
  commitsOf,
  type Commits,
  advanceCursor,
  attemptsSoFar,
  createCursors,
  cursorOf,
  deleteDeadLetter,
  describeOrigin,
  eventsAfter,
  eventsBeyond,
  insertAttempt,
  progressBeyond,
  readDeadLetter,
  recordDeadLetter,
  seqOfEvent,
  type AttemptOutcome,
  type EventProgress,
  type RedriveResult,
} from './events-database.js';
import { assertSupportedPattern, matchesPattern, type EventPattern } from './event-pattern.js';
import type { EventEnvelope, LocalEventBus } from './local-event-bus.js';
import { describeError } from '../../src/json-value.js';
import { withoutUrlSecrets } from '../secrets.js';
import { backoff, pause, Wakeup, type LogSink } from '../waiting.js';

export interface DeliveryResult {
  /** Events the target did not take: retried with backoff until the rule's retry policy is spent. */
  failedEventIds: string[];
  /** Events the target refused for good (an API destination's 400): dead-lettered at once, never retried. */
  rejectedEventIds?: string[];
  /** What happened to an event (an HTTP status, an error), recorded with its attempt and in the logs. */
  details?: Readonly<Record<string, string>>;
}

export interface RuleTarget {
  /**
   * Delivers a batch; answers the ids of the events it did not take. Throwing fails the whole batch. `signal` aborts
   * when the runtime stops, so a target waiting on a slow endpoint gives up rather than holding the stop.
   */
  deliver(events: EventEnvelope[], options: { signal: AbortSignal }): Promise<DeliveryResult>;
}

/** When a failing event is given up on, as an EventBridge target's RetryPolicy: whichever limit comes first. */
export interface RetryPolicy {
  /** Attempts before the event is dead-lettered; default the delivery's `maxReceives`. */
  maximumAttempts?: number;
  /** How long after its first failed attempt an event is still retried; default without limit. */
  maximumRetryMs?: number;
}

export interface LocalRule {
  name: string;
  eventPattern: EventPattern;
  target: RuleTarget;
  retryPolicy?: RetryPolicy;
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

interface Attempt {
  event: EventEnvelope;
  seq: number;
  attempt: number;
  outcome: AttemptOutcome;
  detail: string | undefined;
}

const SCAN_LIMIT = 100;

/**
 * What a target says about a delivery is stored (delivery_attempts, dead letters), logged and shown in the console:
 * a URL in it keeps no query string or password (local/secrets.ts; a webhook's error may quote its URL).
 */
const toldSafely = (result: DeliveryResult): DeliveryResult =>
  result.details === undefined
    ? result
    : {
        ...result,
        details: Object.fromEntries(
          Object.entries(result.details).map(([id, detail]) => [id, withoutUrlSecrets(detail)]),
        ),
      };

export class RuleDelivery {
  private readonly controller = new AbortController();
  /** One per rule: a Wakeup wakes a single waiter. */
  private readonly wakeups = new Map<string, Wakeup>();
  private readonly loops: Promise<void>[] = [];
  private readonly unsubscribe: () => void;
  private readonly options: Required<RuleDeliveryOptions>;
  private readonly commits: Commits;
  /** Set while attempts cannot be stored, so that a full disk is logged once per streak, not per delivery. */
  private readonly attemptsUnrecorded = new Set<string>();
  /** Dead letters being redriven now: a second redrive of the same one waits for none and delivers nothing. */
  private readonly redriving = new Set<number>();

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
      // An SQS queue's redrive policy, as OrderAcceptedSubscription deploys one by default.
      maxReceives: SUBSCRIPTION_DEFAULTS.maxReceiveCount,
      log: () => undefined,
      ...options,
    };
    createCursors(
      db,
      bus.busName,
      rules.map((rule) => rule.name),
    );
    this.commits = commitsOf(db);
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
    return cursorOf(this.db, ruleName);
  }

  /** Events of the bus the rule has not yet dealt with. */
  backlogOf(ruleName: string): number {
    return eventsBeyond(this.db, this.bus.busName, this.cursorOf(ruleName));
  }

  /**
   * Delivers a dead-lettered event once more to its rule's target, as a redrive from an SQS dead-letter queue
   * would: one attempt, recorded in delivery_attempts like any other, and the dead letter removed in the same
   * transaction once the target took the event. A failed redrive leaves the letter where it was. The rule's own
   * loop is not involved: its cursor is already past the event, so nothing else is delivered again.
   */
  async redrive(deadLetterId: number): Promise<RedriveResult> {
    const letter = readDeadLetter(this.db, deadLetterId);
    if (!letter) return { outcome: 'not-found', detail: `no dead letter ${deadLetterId}` };
    const { origin } = letter;
    const rule =
      origin.kind === 'rule' ? this.rules.find((candidate) => candidate.name === origin.ruleName) : undefined;
    if (!rule) {
      return { outcome: 'not-redrivable', detail: `${describeOrigin(origin)}: not a rule of the running bus` };
    }
    if (this.redriving.has(deadLetterId)) return { outcome: 'in-progress', detail: 'already being redriven' };
    this.redriving.add(deadLetterId);
    try {
      const envelope = JSON.parse(letter.payload) as EventEnvelope;
      const startedAt = new Date();
      const started = performance.now();
      let result: DeliveryResult;
      let error: string | undefined;
      try {
        result = toldSafely(await rule.target.deliver([envelope], { signal: this.controller.signal }));
      } catch (thrown) {
        result = { failedEventIds: [envelope.id] };
        error = withoutUrlSecrets(describeError(thrown));
      }
      const durationMs = Math.round((performance.now() - started) * 10) / 10;
      const taken = !result.failedEventIds.includes(envelope.id) && !result.rejectedEventIds?.includes(envelope.id);
      const answered = result.details?.[envelope.id] ?? error;
      const detail = `redrive of dead letter ${deadLetterId}${answered === undefined ? '' : `; ${answered}`}`;
      await this.commits.commit(() => {
        insertAttempt(this.db, {
          ruleName: rule.name,
          eventId: envelope.id,
          eventSeq: seqOfEvent(this.db, envelope.id) ?? 0,
          attempt: attemptsSoFar(this.db, rule.name, envelope.id) + 1,
          startedAt: startedAt.toISOString(),
          durationMs,
          outcome: taken ? 'delivered' : 'failed',
          detail,
        });
        if (taken) deleteDeadLetter(this.db, deadLetterId);
      });
      this.options.log({
        level: taken ? 'info' : 'warn',
        message: taken ? 'dead letter redriven' : 'dead letter redrive failed',
        rule: rule.name,
        eventId: envelope.id,
        deadLetterId,
        detail: answered,
      });
      return { outcome: taken ? 'delivered' : 'failed', detail: answered ?? (taken ? 'taken by the target' : '') };
    } finally {
      this.redriving.delete(deadLetterId);
    }
  }

  private async run(rule: LocalRule): Promise<void> {
    const { signal } = this.controller;
    const wakeup = this.wakeups.get(rule.name) ?? new Wakeup();
    const progress = this.progressBeyondCursor(rule.name);
    let failures = 0;
    /** Passes events none of which is for the rule; answers false if the move could not be stored. */
    const skipTo = async (seq: number): Promise<boolean> => {
      try {
        await this.commits.commit(() => advanceCursor(this.db, rule.name, seq));
        return true;
      } catch (error) {
        this.options.log({
          level: 'error',
          message: 'delivery cursor not moved, scanning again',
          rule: rule.name,
          error: describeError(error),
        });
        return false;
      }
    };

    while (!signal.aborted) {
      const rows = eventsAfter(this.db, this.cursorOf(rule.name), { busName: this.bus.busName, limit: SCAN_LIMIT });
      if (rows.length === 0) {
        await wakeup.wait(this.options.pollMs, signal);
        continue;
      }
      // Take matching events in log order until the batch is full; `examined` is how far the scan got.
      const batch: { seq: number; envelope: EventEnvelope }[] = [];
      let examined = 0;
      for (const { seq, envelope } of rows) {
        if (batch.length === this.options.batchSize) break;
        examined = seq;
        if (!matchesPattern(rule.eventPattern, envelope)) continue;
        if (progress.get(envelope.id)?.deadLettered) continue;
        batch.push({ seq, envelope });
      }
      if (batch.length === 0) {
        // The next scan starts from the stored cursor: a move not stored would have it scan the same events again.
        if (!(await skipTo(examined))) {
          failures += 1;
          await pause(backoff(failures, this.options.backoffMs, this.options.maxBackoffMs), signal);
        }
        continue;
      }

      const startedAt = new Date();
      const started = performance.now();
      let result: DeliveryResult;
      let error: string | undefined;
      try {
        result = toldSafely(
          await rule.target.deliver(
            batch.map((item) => item.envelope),
            { signal },
          ),
        );
      } catch (thrown) {
        result = { failedEventIds: batch.map((item) => item.envelope.id) };
        error = withoutUrlSecrets(describeError(thrown));
      }
      const durationMs = performance.now() - started;
      // A delivery cut short by stop() is no attempt of the target's: what it did not take is simply delivered again.
      const interrupted = signal.aborted;

      const failed = new Set(result.failedEventIds);
      const rejected = new Set(result.rejectedEventIds ?? []);
      const attempts: Attempt[] = [];
      const letters: { envelope: EventEnvelope; reason: string }[] = [];
      const retrying: { seq: number; envelope: EventEnvelope }[] = [];
      for (const { seq, envelope } of batch) {
        const event = progress.get(envelope.id) ?? { seq, attempts: 0, failures: 0 };
        progress.set(envelope.id, event);
        event.attempts += 1;
        const detail = result.details?.[envelope.id] ?? error;
        const attempt = { event: envelope, seq, attempt: event.attempts, detail };
        if (!failed.has(envelope.id) && !rejected.has(envelope.id)) {
          attempts.push({ ...attempt, outcome: 'delivered' });
          continue;
        }
        if (interrupted) {
          event.attempts -= 1;
          retrying.push({ seq, envelope });
          continue;
        }
        event.failures += 1;
        event.firstFailedAt ??= startedAt.getTime();
        const reason = this.giveUpReason(rule, event, rejected.has(envelope.id), detail);
        if (reason === undefined) {
          attempts.push({ ...attempt, outcome: 'failed' });
          retrying.push({ seq, envelope });
        } else {
          event.deadLettered = true;
          attempts.push({ ...attempt, outcome: 'dead-lettered' });
          letters.push({ envelope, reason });
        }
      }
      // Everything before the first event to retry is done; from there on the batch is delivered again.
      const cursor = retrying[0] ? retrying[0].seq - 1 : examined;
      if (!(await this.record(rule, { attempts, letters, cursor, startedAt, durationMs }))) {
        // Neither the dead letters nor the cursor are stored: deliver it all again, dead-lettering afresh.
        for (const { envelope } of letters) delete progress.get(envelope.id)?.deadLettered;
        failures += 1;
        await pause(backoff(failures, this.options.backoffMs, this.options.maxBackoffMs), signal);
        continue;
      }
      for (const [id, event] of progress) if (event.seq <= cursor) progress.delete(id);
      for (const { envelope, reason } of letters) {
        this.options.log({
          level: 'error',
          message: 'event dead-lettered',
          rule: rule.name,
          eventId: envelope.id,
          reason,
        });
      }
      if (retrying.length === 0) {
        failures = 0;
        continue;
      }
      if (interrupted) break;
      failures += 1;
      const delayMs = backoff(failures, this.options.backoffMs, this.options.maxBackoffMs);
      this.options.log({
        level: 'warn',
        message: 'events not delivered, retrying',
        rule: rule.name,
        eventIds: retrying.map((item) => item.envelope.id),
        attempts: retrying.map((item) => progress.get(item.envelope.id)?.attempts),
        error,
        details: error === undefined ? retrying.map((item) => result.details?.[item.envelope.id]) : undefined,
        retryInMs: delayMs,
      });
      await pause(delayMs, signal);
    }
  }

  /** Why a failed event is given up on now, or undefined while its rule's retry policy still allows a retry. */
  private giveUpReason(
    rule: LocalRule,
    event: EventProgress,
    refused: boolean,
    detail: string | undefined,
  ): string | undefined {
    const last = detail === undefined ? '' : `; last: ${detail}`;
    if (refused) return `refused by the target, not retried${last}`;
    const { maximumAttempts = this.options.maxReceives, maximumRetryMs = Number.POSITIVE_INFINITY } =
      rule.retryPolicy ?? {};
    if (event.failures >= maximumAttempts) return `not delivered after ${event.failures} attempts${last}`;
    const retriedMs = Date.now() - (event.firstFailedAt ?? Date.now());
    if (retriedMs >= maximumRetryMs) {
      return `not delivered within ${maximumRetryMs / 1000} s of the first failure (${event.failures} attempts)${last}`;
    }
    return undefined;
  }

  /**
   * Stores a delivery call's attempts, its dead letters and the cursor move together, in one transaction, and
   * answers once they are committed: the loop delivers nothing further before its cursor move is stored.
   * If the attempts cannot be stored (a full disk), the dead letters and the cursor still are: they carry delivery,
   * the attempts only tell about it. Answers false if not even those could be stored.
   */
  private async record(
    rule: LocalRule,
    call: {
      attempts: Attempt[];
      letters: { envelope: EventEnvelope; reason: string }[];
      cursor: number;
      startedAt: Date;
      durationMs: number;
    },
  ): Promise<boolean> {
    const progress = (): void => {
      for (const { envelope, reason } of call.letters) {
        recordDeadLetter(this.db, {
          origin: { kind: 'rule', ruleName: rule.name },
          reference: envelope.id,
          payload: JSON.stringify(envelope),
          reason,
        });
      }
      advanceCursor(this.db, rule.name, call.cursor);
    };
    const startedAt = call.startedAt.toISOString();
    const durationMs = Math.round(call.durationMs * 10) / 10;
    try {
      await this.commits.commit(() => {
        for (const { event, seq, attempt, outcome, detail } of call.attempts) {
          insertAttempt(this.db, {
            ruleName: rule.name,
            eventId: event.id,
            eventSeq: seq,
            attempt,
            startedAt,
            durationMs,
            outcome,
            detail,
          });
        }
        progress();
      });
      if (this.attemptsUnrecorded.delete(rule.name)) {
        this.options.log({ level: 'info', message: 'delivery attempts recorded again', rule: rule.name });
      }
      return true;
    } catch (attemptsError) {
      try {
        await this.commits.commit(progress);
      } catch (progressError) {
        this.options.log({
          level: 'error',
          message: 'delivery progress not stored, delivering again',
          rule: rule.name,
          error: describeError(progressError),
        });
        return false;
      }
      if (!this.attemptsUnrecorded.has(rule.name)) {
        this.attemptsUnrecorded.add(rule.name);
        this.options.log({
          level: 'warn',
          message: 'delivery attempts not recorded until the events database takes them again',
          rule: rule.name,
          error: describeError(attemptsError),
        });
      }
      return true;
    }
  }

  /**
   * What the attempts table knows of the events the rule has not passed yet, so that a restart neither resets an
   * event's retry count nor delivers again what it dead-lettered ahead of the cursor.
   */
  private progressBeyondCursor(ruleName: string): Map<string, EventProgress> {
    return progressBeyond(this.db, ruleName, this.cursorOf(ruleName));
  }
}
