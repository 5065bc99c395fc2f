import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsResultEntry as SdkResultEntry,
} from '@aws-sdk/client-eventbridge';
import type {
  EventPublisher,
  PutEventsEntry,
  PutEventsResult,
  PutEventsResultEntry,
} from '../../src/events/event-publisher.js';

let sharedClient: EventBridgeClient | undefined;
/** One client per container, created on first use. */
export const defaultEventBridgeClient = (): EventBridgeClient => (sharedClient ??= new EventBridgeClient({}));

/**
 * The SDK marks every field optional. An entry with neither an id nor an error code was not confirmed stored, so it
 * counts as EventBridge's retryable InternalFailure rather than as published.
 */
const resultEntryOf = ({ EventId, ErrorCode, ErrorMessage }: SdkResultEntry): PutEventsResultEntry =>
  ErrorCode
    ? { ErrorCode, ErrorMessage: ErrorMessage ?? '' }
    : EventId
      ? { EventId }
      : { ErrorCode: 'InternalFailure', ErrorMessage: 'EventBridge answered no EventId for this entry' };

/** The EventPublisher port on EventBridge. Errors of the call itself propagate: the relay retries them. */
export class EventBridgePublisher implements EventPublisher {
  constructor(private readonly client: EventBridgeClient = defaultEventBridgeClient()) {}

  async putEvents(entries: PutEventsEntry[]): Promise<PutEventsResult> {
    const { FailedEntryCount = 0, Entries = [] } = await this.client.send(new PutEventsCommand({ Entries: entries }));
    return { FailedEntryCount, Entries: Entries.map(resultEntryOf) };
  }
}
