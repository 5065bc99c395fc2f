/**
 * The one port through which anything publishes events: the outbox relay's domain code, the workflow's local Publish
 * task and the local bus all speak it. Its shapes are EventBridge's PutEvents, so that the AWS adapter
 * (lambdas/publish) is a thin translation and the local bus can be checked against EventBridge's documentation.
 */

/** EventBridge's limit on entries per PutEvents call. */
export const PUT_EVENTS_MAX_ENTRIES = 10;

/** A PutEvents request entry, in the shape EventBridge takes (Detail is a JSON string). */
export interface PutEventsEntry {
  EventBusName: string;
  Source: string;
  DetailType: string;
  Detail: string;
  Time?: Date;
  Resources?: string[];
}

export interface PutEventsEntryFailure {
  ErrorCode: string;
  ErrorMessage: string;
}

/** One entry's outcome, at the entry's index: an event id, or why that entry was not stored. */
export type PutEventsResultEntry = { EventId: string } | PutEventsEntryFailure;

export interface PutEventsResult {
  FailedEntryCount: number;
  Entries: PutEventsResultEntry[];
}

export const isEntryFailure = (entry: PutEventsResultEntry): entry is PutEventsEntryFailure => 'ErrorCode' in entry;

export interface EventPublisher {
  /** Throws when the call as a whole fails (nothing stored); otherwise answers per entry, in request order. */
  putEvents(entries: PutEventsEntry[]): Promise<PutEventsResult>;
}
