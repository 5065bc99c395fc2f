/** Failures of the archive consumer. Each record that throws one is reported as a batch item failure. */
export class ArchiveError extends Error {
  override name = 'ArchiveError';
}

/** The event is not an OrderAccepted this consumer can archive; redelivery will not help, the DLQ keeps it. */
export class MalformedOrderEventError extends ArchiveError {
  override name = 'MalformedOrderEventError';
}

/** The archive store failed for a reason other than "already there". */
export class ArchiveStoreError extends ArchiveError {
  constructor(
    message: string,
    readonly key: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ArchiveStoreError';
  }
}
