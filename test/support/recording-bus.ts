import type { EventPublisher, PutEventsEntry, PutEventsResult } from '../../src/events/event-publisher.js';

/** An event bus that records what it is given, or fails the way it is told to. */
export class RecordingBus implements EventPublisher {
  readonly accepted: PutEventsEntry[] = [];
  calls = 0;

  constructor(private readonly failure: 'none' | 'throws' | 'failed-entries' = 'none') {}

  async putEvents(entries: PutEventsEntry[]): Promise<PutEventsResult> {
    this.calls += 1;
    if (this.failure === 'throws') {
      throw Object.assign(new Error('bus unavailable'), { name: 'InternalException' });
    }
    if (this.failure === 'failed-entries') {
      return {
        FailedEntryCount: entries.length,
        Entries: entries.map(() => ({ ErrorCode: 'InternalFailure', ErrorMessage: 'injected' })),
      };
    }
    this.accepted.push(...entries);
    return { FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `event-${this.calls}-${i}` })) };
  }
}
