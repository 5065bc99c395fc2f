/**
 * The event side of the stack on one machine: the bus (OrderEvents) with the rules and consumers the stack subscribes
 * to it, and the outbox relay on the table's stream (OutboxRelay). One durable log under the data folder holds the
 * events, each rule's cursor, the stream checkpoints and the dead letters. local/service.ts composes it with the rest.
 */
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { createArchiveHandler } from '../../lambdas/persist/handler.js';
import { EventBridgePublisher } from '../../lambdas/publish/eventbridge-publisher.js';
import { createPublishHandler } from '../../lambdas/publish/handler.js';
import {
  ARCHIVE_CONSUMER,
  DEFAULT_FUNCTION_TIMEOUT_SECONDS,
  VISIBILITY_TIMEOUTS_PER_FUNCTION_TIMEOUT,
} from '../../src/deployed-settings.js';
import { orderAcceptedPattern } from '../../src/events/order-accepted.js';
import { SERVICE_NAME } from '../../src/service-name.js';
import { DynamoDbStreamSource } from '../event-sources/dynamodb-stream.js';
import { sqsQueueTarget, type SqsHandler } from '../event-sources/sqs-queue.js';
import type { RoleAuthorizer } from '../iam/role-authorizer.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../local-account.js';
import { ARCHIVE_FOLDER, openArchiveBucket } from '../s3/archive-bucket.js';
import { checkpointInBackground } from '../sqlite-checkpoints.js';
import { forgetRemovedSubscribers, type Subscriber } from '../subscriptions.js';
import type { LogSink } from '../waiting.js';
import { apiDestinationTarget } from './api-destination.js';
import { DEFAULT_EVENT_LOG_RETENTION_MS, keepEventLogPruned } from './event-log-retention.js';
import {
  commitsOf,
  EVENTS_DATABASE_FILE,
  openEventsDatabase,
  readDeadLetter,
  setDiskFull,
  type RedriveResult,
} from './events-database.js';
import { LocalEventBus, PUBLISHERS } from './local-event-bus.js';
import { localEventBridgeClient } from './local-eventbridge-client.js';
import { RuleDelivery, type LocalRule, type RetryPolicy, type RuleDeliveryOptions } from './rule-delivery.js';

export const ARCHIVE_RULE_NAME = 'order-accepted-to-archive';

/**
 * How webhooks are retried. EventBridge retries an API destination for 24 hours and up to 185 attempts; locally the
 * window is 5 minutes by default (ORDER_INTAKE_WEBHOOK_RETRY_SECONDS), so a dead letter shows up while you look.
 */
export const WEBHOOK_RETRY_POLICY = { maximumAttempts: 185, maximumRetryMs: 5 * 60_000 } as const;

export interface WebhookDelivery {
  /** How long a webhook may take to answer; default API destinations' 5 s. */
  timeoutMs?: number;
  /** Default WEBHOOK_RETRY_POLICY. */
  retryPolicy?: RetryPolicy;
}

export interface LocalEventsOptions {
  dataDir: string;
  busName: string;
  tableName: string;
  dynamodbEndpoint: string;
  /** The bus's fault switch at start; default true. */
  busAvailable?: boolean;
  /** Where warnings and errors of the event runtime go; silent if omitted. */
  log?: LogSink;
  /** The bucket the archive folder stands in for. */
  archiveBucketName: string;
  /** The deployed roles of the two functions: the relay's PutEvents and the archive's PutObject are authorized. */
  iam: { relay: RoleAuthorizer; archive: RoleAuthorizer };
  /** Local subscribers (local/subscriptions.ts): each is one more rule, with its own cursor. */
  subscribers?: readonly Subscriber[];
  webhooks?: WebhookDelivery;
  /** The delivery loops' pace (polling, backoff); tests make it fast. */
  delivery?: Pick<RuleDeliveryOptions, 'pollMs' | 'backoffMs' | 'maxBackoffMs'>;
  /** How long an event every rule has passed stays in the log; default DEFAULT_EVENT_LOG_RETENTION_MS. */
  eventLogRetentionMs?: number;
}

export interface LocalEvents {
  /** The bus the workflow's PutEvents task publishes to, with inspection helpers. */
  bus: LocalEventBus;
  /** The folder the archive consumer writes to. */
  archiveDir: string;
  setBusAvailable(available: boolean): void;
  /** The event log's disk is full (or has room again): a write that needs a new page of the log fails (SQLITE_FULL). */
  setDiskFull(full: boolean): void;
  /** Events on the bus that the archive rule has not yet delivered: 0 once the archive has caught up. */
  archiveBacklog(): number;
  /** The same for any rule, a subscriber's (Subscriber.ruleName) for instance. */
  backlogOf(ruleName: string): number;
  /** The event log (events, cursors, delivery attempts, dead letters), for the ops console to read. */
  database: DatabaseSync;
  /**
   * Delivers a dead letter again: a bus event to its rule's target (recorded in delivery_attempts), a stream record
   * to the outbox relay. The letter is removed once delivered.
   */
  redriveDeadLetter(id: number): Promise<RedriveResult>;
  /** The rules on the bus (the archive's, each subscriber's): a dead letter of any other can no longer be delivered. */
  ruleNames: readonly string[];
  /** Ends the loops after their current step and closes the database. */
  stop(): Promise<void>;
}

/**
 * The Lambda handlers' own logs stay off locally unless POWERTOOLS_LOG_LEVEL asks for them: the runtime reports
 * their failures through `log` already, once per streak rather than once per retry.
 */
const handlerLogger = (): Logger =>
  new Logger({ serviceName: SERVICE_NAME, ...(process.env.POWERTOOLS_LOG_LEVEL ? {} : { logLevel: 'SILENT' }) });

/** A consumer's function timeout, and its queue's visibility timeout as OrderAcceptedSubscription derives it. */
const consumerTimeouts = (timeoutSeconds: number) => ({
  timeoutSeconds,
  visibilityTimeoutSeconds: timeoutSeconds * VISIBILITY_TIMEOUTS_PER_FUNCTION_TIMEOUT,
});

/** The archive consumer's rule, as OrderArchive deploys it: its queue's timeouts and redrive policy. */
export const archiveRule = (handler: SqsHandler): LocalRule => ({
  name: ARCHIVE_RULE_NAME,
  eventPattern: orderAcceptedPattern,
  target: sqsQueueTarget('order-archive', handler, consumerTimeouts(ARCHIVE_CONSUMER.timeoutSeconds)),
  retryPolicy: { maximumAttempts: ARCHIVE_CONSUMER.maxReceiveCount },
});

/** A local subscriber's rule: a webhook called as an API destination, or a handler behind its own SQS queue. */
const subscriberRule = (subscriber: Subscriber, webhooks: WebhookDelivery = {}): LocalRule =>
  subscriber.kind === 'webhook'
    ? {
        name: subscriber.ruleName,
        eventPattern: subscriber.eventPattern,
        target: apiDestinationTarget({ url: subscriber.url, timeoutMs: webhooks.timeoutMs }),
        retryPolicy: webhooks.retryPolicy ?? WEBHOOK_RETRY_POLICY,
      }
    : {
        name: subscriber.ruleName,
        eventPattern: subscriber.eventPattern,
        target: sqsQueueTarget(subscriber.ruleName, subscriber.handler, {
          functionName: subscriber.name,
          ...consumerTimeouts(subscriber.timeoutSeconds ?? DEFAULT_FUNCTION_TIMEOUT_SECONDS),
        }),
      };

/**
 * Starts the bus's rules and the stream relay. Everything started is stopped in the reverse order, by stop() or
 * when a later step of the start fails: the loops before the clients they call, the database last.
 */
export async function startLocalEvents(options: LocalEventsOptions): Promise<LocalEvents> {
  const log: LogSink = (line) => options.log?.({ component: 'local-events', ...line });
  const archiveDir = join(options.dataDir, ARCHIVE_FOLDER);
  const started = new AsyncDisposableStack();
  try {
    const dbPath = join(options.dataDir, EVENTS_DATABASE_FILE);
    const db = openEventsDatabase(dbPath);
    started.defer(() => db.close());
    const checkpoints = checkpointInBackground(db, dbPath);
    started.defer(() => checkpoints.stop());
    const bus = new LocalEventBus(db, { busName: options.busName, available: options.busAvailable ?? true });

    const archive = await openArchiveBucket({
      folder: archiveDir,
      bucketName: options.archiveBucketName,
      iam: options.iam.archive,
    });
    // The stack's rules on the bus, each to its queue and consumer: a new consumer is one more line.
    const rules: LocalRule[] = [
      archiveRule(createArchiveHandler({ store: archive, logger: handlerLogger() })),
      ...(options.subscribers ?? []).map((subscriber) => subscriberRule(subscriber, options.webhooks)),
    ];
    forgetRemovedSubscribers(db, options.subscribers ?? []);
    const delivery = new RuleDelivery(db, bus, rules, { ...options.delivery, log });

    const endpoint = { endpoint: options.dynamodbEndpoint, region: LOCAL_REGION };
    const credentials = LOCAL_CREDENTIALS;
    // The relay retries on its own schedule, so the SDK's retries would only delay stop().
    const dynamodb = started.adopt(new DynamoDBClient({ ...endpoint, credentials, maxAttempts: 1 }), (client) =>
      client.destroy(),
    );
    const streams = started.adopt(new DynamoDBStreamsClient({ ...endpoint, credentials, maxAttempts: 1 }), (client) =>
      client.destroy(),
    );
    const relay = new DynamoDbStreamSource(db, {
      dynamodb,
      streams,
      tableName: options.tableName,
      handler: createPublishHandler({
        eventBusName: options.busName,
        publisher: new EventBridgePublisher(
          localEventBridgeClient(bus.publishingAs(PUBLISHERS.relay), options.iam.relay),
        ),
        logger: handlerLogger(),
      }),
      isTargetAvailable: () => bus.isAvailable(),
      log,
    });

    const retention = keepEventLogPruned(db, commitsOf(db), {
      maxAgeMs: options.eventLogRetentionMs ?? DEFAULT_EVENT_LOG_RETENTION_MS,
      log,
    });
    started.defer(() => retention.stop());
    delivery.start();
    started.defer(() => delivery.stop());
    relay.start();
    started.defer(() => relay.stop());

    const running = started.move();
    let stopped: Promise<void> | undefined;
    return {
      bus,
      archiveDir,
      setBusAvailable: (available) => bus.setAvailable(available),
      setDiskFull: (full) => setDiskFull(db, full),
      archiveBacklog: () => delivery.backlogOf(ARCHIVE_RULE_NAME),
      backlogOf: (ruleName) => delivery.backlogOf(ruleName),
      database: db,
      ruleNames: rules.map((rule) => rule.name),
      redriveDeadLetter: (id) =>
        readDeadLetter(db, id)?.origin.kind === 'stream' ? relay.redrive(id) : delivery.redrive(id),
      stop: () => (stopped ??= running.disposeAsync()),
    };
  } catch (error) {
    await started
      .disposeAsync()
      .catch((cleanup: unknown) => log({ level: 'error', message: 'cleanup after a failed start failed', cleanup }));
    throw error;
  }
}
