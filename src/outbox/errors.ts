/** Failures of the outbox relay. A record that fails is reported to the stream's event source mapping. */
export class OutboxError extends Error {
  override name = 'OutboxError';
}

/** An ORDER# item whose document cannot become an OrderAccepted; the mapping's DLQ keeps it for a human. */
export class MalformedOrderItemError extends OutboxError {
  override name = 'MalformedOrderItemError';
}
