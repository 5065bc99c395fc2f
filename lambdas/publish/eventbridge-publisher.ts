import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { PutEventsEntry } from '../../src/events/order-accepted.js';
import type { EventPublisher, PutEventsResultEntry } from '../../src/outbox/relay-order-events.js';

let sharedClient: EventBridgeClient | undefined;
/** One client per container, created on first use. */
export const defaultEventBridgeClient = (): EventBridgeClient => (sharedClient ??= new EventBridgeClient({}));

/** The relay's EventPublisher on EventBridge. Errors of the call itself propagate: the relay retries them. */
export class EventBridgePublisher implements EventPublisher {
  constructor(private readonly client: EventBridgeClient = defaultEventBridgeClient()) {}

  async putEvents(entries: PutEventsEntry[]): Promise<{ FailedEntryCount?: number; Entries?: PutEventsResultEntry[] }> {
    const { FailedEntryCount, Entries } = await this.client.send(new PutEventsCommand({ Entries: entries }));
    return { FailedEntryCount, Entries };
  }
}
