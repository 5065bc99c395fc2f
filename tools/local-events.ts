/**
 * What `npm run events` does, as functions the CLI and its tests share: follow the local bus's log, and judge an
 * event against the stack's own rules (read from the synthesized template, so they are the rules AWS would run).
 */
import type { DatabaseSync } from 'node:sqlite';
import { assertSupportedPattern, matchesPattern, type EventPattern } from '../local/eventbridge/event-pattern.js';
import { eventsAfter, lastSeq, openEventsReader } from '../local/eventbridge/events-database.js';
import type { StoredEvent } from '../local/eventbridge/local-event-bus.js';
import type { CloudFormationTemplate } from '../cdk/lib/synthesize.js';
import { isObject } from '../src/json-value.js';

export interface NamedRule {
  /** The rule's logical id in the stack. */
  name: string;
  description: string;
  eventPattern: EventPattern;
}

/** Every EventBridge rule of the template that has an event pattern. */
export function rulesOf(template: CloudFormationTemplate): NamedRule[] {
  return Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === 'AWS::Events::Rule' && isObject(resource.Properties?.EventPattern))
    .map(([name, resource]) => {
      const pattern = resource.Properties?.EventPattern;
      assertSupportedPattern(pattern);
      return { name, description: String(resource.Properties?.Description ?? ''), eventPattern: pattern };
    });
}

/** As EventBridge's TestEventPattern wants it: the whole event, envelope included. */
export function parseEvent(text: string): Record<string, unknown> {
  const event: unknown = JSON.parse(text);
  if (!isObject(event) || !isObject(event.detail) || typeof event.source !== 'string') {
    throw new Error(
      'the event must be a whole EventBridge event: {"source": ..., "detail-type": ..., "detail": {...}}',
    );
  }
  return event;
}

export function parsePattern(text: string): EventPattern {
  const pattern: unknown = JSON.parse(text);
  assertSupportedPattern(pattern);
  return pattern;
}

/** Reads the bus's log beside a running service without disturbing it: read-only, one short query per poll. */
export class EventLogReader {
  private readonly db: DatabaseSync;

  constructor(path: string) {
    this.db = openEventsReader(path);
  }

  lastSeq(): number {
    return lastSeq(this.db);
  }

  eventsAfter(seq: number, pattern?: EventPattern): { events: StoredEvent[]; lastSeq: number } {
    const events = eventsAfter(this.db, seq, { limit: 500 });
    return {
      events: pattern ? events.filter((event) => matchesPattern(pattern, event.envelope)) : events,
      lastSeq: events.at(-1)?.seq ?? seq,
    };
  }

  close(): void {
    this.db.close();
  }
}
