/**
 * Errors of the local event runtime. The bus's two are named exactly as EventBridge's API errors, because callers
 * (the workflow's Retry/Catch, the SDK-shaped relay) match on `name`.
 */
export class LocalEventsError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LocalEventsError';
  }
}

/** The request as a whole is invalid (for example more than 10 entries); nothing is stored. */
export class ValidationException extends LocalEventsError {
  /** As the SDK marks a service's errors: the caller's fault, HTTP 400. */
  readonly $fault = 'client';
  readonly $metadata = { httpStatusCode: 400 };
  constructor(message: string) {
    super(message);
    this.name = 'ValidationException';
  }
}

/**
 * The bus cannot take events now (the fault switch, or its log could not store them); nothing is stored, the caller
 * may retry. EventBridge's HTTP 500.
 */
export class InternalException extends LocalEventsError {
  readonly $fault = 'server';
  readonly $metadata = { httpStatusCode: 500 };
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InternalException';
  }
}

/** An event pattern uses a form the local matcher does not implement; refusing beats matching wrongly. */
export class UnsupportedPatternError extends LocalEventsError {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedPatternError';
  }
}
