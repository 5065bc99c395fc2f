/**
 * The settings the stack deploys and the local runtime must behave by, written once: cdk/ builds the stack from
 * them, local/ emulates the deployed services with them, and lambdas/ read the few they need. Plain values, so that
 * every side imports them without loading the CDK. test/infra/deployed-settings.test.ts reads each back from the
 * synthesized template and runs the local behaviour against it.
 */
import { readFileSync } from 'node:fs';
import { ORDER_INTAKE_ASL_PATH } from '../asl/order-intake.js';

/** The payload rule's duplicate window (DESIGN section 3): the lock's lifetime in epoch seconds. */
export const IDEMPOTENCY_WINDOW_SECONDS = 15;

/**
 * How long a client's Idempotency-Key is honoured after its acceptance, in hours (a stack's CDK context
 * clientKeyRetentionHours, ORDER_INTAKE_CLIENT_KEY_RETENTION_HOURS locally). Stripe's is 24 h. Each hour more keeps
 * more key items (one per keyed order, TTL-deleted after it): docs/capacity.md.
 */
export const CLIENT_KEY_RETENTION_HOURS = { default: 24, min: 1, max: 720 } as const;

/** A retention setting, from a context key or an environment variable: a whole number of hours in range, or throws. */
export function clientKeyRetentionHours(value: unknown, source: string): number {
  if (value === undefined || value === '') return CLIENT_KEY_RETENTION_HOURS.default;
  const hours = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
  const { min, max } = CLIENT_KEY_RETENTION_HOURS;
  if (typeof hours !== 'number' || !Number.isInteger(hours) || hours < min || hours > max) {
    throw new Error(`${source} must be a whole number of hours from ${min} to ${max}, not ${JSON.stringify(value)}`);
  }
  return hours;
}

/** Every function of the app unless it says otherwise (NodeFunction). */
export const DEFAULT_FUNCTION_TIMEOUT_SECONDS = 10;

/** SQS's advice for a Lambda consumer: a visibility timeout of at least six times the function timeout. */
export const VISIBILITY_TIMEOUTS_PER_FUNCTION_TIMEOUT = 6;

/** A consumer behind its own SQS queue, as OrderAcceptedSubscription deploys one unless told otherwise. */
export const SUBSCRIPTION_DEFAULTS = {
  batchSize: 10,
  /** Receives of one message before SQS moves it to the DLQ. */
  maxReceiveCount: 5,
  maxConcurrency: 10,
} as const;

/** The archive consumer (OrderArchive): the bus's rule to its queue, the queue to lambdas/persist. */
export const ARCHIVE_CONSUMER = {
  timeoutSeconds: 30,
  batchSize: 10,
  maxReceiveCount: 5,
} as const;

/**
 * The outbox relay (OutboxRelay): the table's stream to lambdas/publish. A failing batch is bisected (which does not
 * count), retried `retryAttempts` times, and what still fails, or is older than `maxRecordAgeSeconds`, goes to the
 * DLQ: an hour leaves ops 23 hours to replay it from the stream before DynamoDB trims it.
 */
export const OUTBOX_RELAY = {
  timeoutSeconds: 30,
  batchSize: 100,
  retryAttempts: 8,
  maxRecordAgeSeconds: 3_600,
} as const;

/** Invocations of a stream batch before its failing record is given up: the first, then each retry. */
export const relayAttemptsPerRecord = (): number => OUTBOX_RELAY.retryAttempts + 1;

/**
 * The Validate function's timeout: one second past the workflow's Validate task timeout, so that a slow function
 * always ends as the task's States.Timeout (a retryable 503), never as the function's own timeout error (a 500).
 */
export function validateFunctionTimeoutSeconds(): number {
  const definition = JSON.parse(readFileSync(ORDER_INTAKE_ASL_PATH, 'utf8')) as {
    States: { Validate: { TimeoutSeconds: number } };
  };
  return definition.States.Validate.TimeoutSeconds + 1;
}
