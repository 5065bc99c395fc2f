import type { PutEventsEntry } from '../../src/events/order-accepted.js';
import type { EventBusPort } from '../../local/workflow/task-integrations.js';

/** An event bus that records what it is given, or fails the way it is told to. */
export class RecordingBus implements EventBusPort {
  readonly accepted: PutEventsEntry[] = [];
  calls = 0;

  constructor(private readonly failure: 'none' | 'throws' | 'failed-entries' = 'none') {}

  async putEvents(entries: PutEventsEntry[]): Promise<{ FailedEntryCount: number; Entries: object[] }> {
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
