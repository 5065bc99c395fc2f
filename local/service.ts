/**
 * The whole service on one machine, from the definitions AWS runs, and the one place it is put together. Each
 * folder of local/ stands in for one AWS service and mirrors a construct of the stack (cdk/lib):
 * - apigateway/ (OrderApi): the HTTP server, routes and the api/ mapping templates, rendered as VTL;
 * - stepfunctions/ (OrderWorkflow): the ASL file in aws-local-stepfunctions, with its Task integrations;
 * - dynamodb/ (OrdersTable): DynamoDB Local on disk, with the stack's table definition;
 * - eventbridge/ (OrderEvents): the durable bus, its rules and patterns, and their store;
 * - event-sources/ (the event source mappings): the table's stream to the outbox relay, and SQS-style targets;
 * - subscriptions.ts: local subscribers (webhooks as API destinations, handler modules), configured without code;
 * - s3/ (the archive bucket): a folder;
 * - iam/: every call above authorized against the deployed roles;
 * - console/: the local ops console (no AWS counterpart), on the same port under /console, before the API.
 * Everything is built once here and shared by every request.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient, DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { createArchiveHandler } from '../lambdas/persist/handler.js';
import { EventBridgePublisher } from '../lambdas/publish/eventbridge-publisher.js';
import { createPublishHandler } from '../lambdas/publish/handler.js';
import { handler as validateHandler } from '../lambdas/validate/handler.js';
import {
  ARCHIVE_CONSUMER,
  DEFAULT_FUNCTION_TIMEOUT_SECONDS,
  VISIBILITY_TIMEOUTS_PER_FUNCTION_TIMEOUT,
  validateFunctionTimeoutSeconds,
} from '../src/deployed-settings.js';
import { loadOrderIntakeDefinition } from '../asl/order-intake.js';
import { orderAcceptedPattern } from '../src/events/order-accepted.js';
import { SERVICE_NAME } from '../src/service-name.js';
import { createApiGateway } from './apigateway/api-gateway.js';
import { loadAsyncApiDocument, loadOpenApiDocument } from './apigateway/openapi.js';
import { RequestLog } from './apigateway/request-log.js';
import { startHttpServer, type RunningHttpServer } from './apigateway/server.js';
import { loadApiMappingTemplates } from './apigateway/vtl/api-templates.js';
import { DYNAMODB_FOLDER, startDynamoDbLocal, type DynamoDbLocal } from './dynamodb/dynamodb-local.js';
import { ensureOrdersTable } from './dynamodb/orders-table.js';
import { limitStoreCapacity } from './dynamodb/store-capacity.js';
import { DynamoDbStreamSource } from './event-sources/dynamodb-stream.js';
import { sqsQueueTarget, type SqsHandler } from './event-sources/sqs-queue.js';
import { DEFAULT_EVENT_LOG_RETENTION_MS, keepEventLogPruned } from './eventbridge/event-log-retention.js';
import {
  groupCommitOf,
  openEventsDatabase,
  readDeadLetter,
  setDiskFull,
  type RedriveResult,
} from './eventbridge/events-database.js';
import { apiDestinationTarget } from './eventbridge/api-destination.js';
import { LocalEventBus, PUBLISHERS } from './eventbridge/local-event-bus.js';
import { localEventBridgeClient } from './eventbridge/local-eventbridge-client.js';
import {
  RuleDelivery,
  type LocalRule,
  type RetryPolicy,
  type RuleDeliveryOptions,
} from './eventbridge/rule-delivery.js';
import { hostNamesFor } from './browser-guard.js';
import { FAULT_DESCRIPTIONS, FaultSwitches, type Fault } from './faults.js';
import { authorizersFor, deployedIam, type CallerAuthorizers, type DeployedIamSource } from './iam/index.js';
import type { LocalResourceNames } from './iam/deployed-roles.js';
import type { RoleAuthorizer } from './iam/role-authorizer.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION, localArn } from './local-account.js';
import { openArchiveBucket } from './s3/archive-bucket.js';
import { createOrderWorkflow } from './stepfunctions/order-workflow.js';
import { CONSOLE_DATABASE_FILE, ConsoleStore, type ConsoleRetention } from './console/console-store.js';
import { consoleRoutes } from './console/console-http.js';
import { CONSOLE_PATH, createOpsConsole, type OpsConsoleOptions } from './console/console-routes.js';
import { newConsoleToken } from './console/console-token.js';
import { forgetRemovedSubscribers, type Subscriber } from './subscriptions.js';
import type { LogSink } from './waiting.js';

/** The local stand-ins for what the stack names per deployment. */
export const LOCAL_RESOURCES = {
  tableName: 'order-intake-orders',
  busName: 'order-intake',
  validateFunctionArn: localArn('lambda', 'function:order-intake-validate'),
  stateMachineArn: localArn('states', 'stateMachine:order-intake'),
  archiveBucketName: 'order-intake-archive',
} as const satisfies LocalResourceNames;

/** DynamoDB Local's files live here, under the data folder; the event runtime keeps its own beside them. */
export { DYNAMODB_FOLDER } from './dynamodb/dynamodb-local.js';

export const EVENTS_DATABASE_FILE = 'events.sqlite';
export const ARCHIVE_FOLDER = 'archive';
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
 * The event side of the stack: the bus (OrderEvents) with the rules and consumers the stack subscribes to it, and
 * the outbox relay on the table's stream (OutboxRelay). One durable log under the data folder holds the events,
 * each rule's cursor, the stream checkpoints and the dead letters.
 */
export async function startLocalEvents(options: LocalEventsOptions): Promise<LocalEvents> {
  const log: LogSink = (line) => options.log?.({ component: 'local-events', ...line });
  const archiveDir = join(options.dataDir, ARCHIVE_FOLDER);
  const db = openEventsDatabase(join(options.dataDir, EVENTS_DATABASE_FILE));
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
  const dynamodb = new DynamoDBClient({ ...endpoint, credentials, maxAttempts: 1 });
  const streams = new DynamoDBStreamsClient({ ...endpoint, credentials, maxAttempts: 1 });
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

  delivery.start();
  relay.start();
  const retention = keepEventLogPruned(db, groupCommitOf(db), {
    maxAgeMs: options.eventLogRetentionMs ?? DEFAULT_EVENT_LOG_RETENTION_MS,
    log,
  });

  let stopped: Promise<void> | undefined;
  return {
    bus,
    archiveDir,
    setBusAvailable: (available) => bus.setAvailable(available),
    setDiskFull: (full) => setDiskFull(db, full),
    archiveBacklog: () => delivery.backlogOf(ARCHIVE_RULE_NAME),
    backlogOf: (ruleName) => delivery.backlogOf(ruleName),
    database: db,
    redriveDeadLetter: (id) =>
      readDeadLetter(db, id)?.origin.startsWith('stream:') ? relay.redrive(id) : delivery.redrive(id),
    stop: () =>
      (stopped ??= (async () => {
        await relay.stop();
        await delivery.stop();
        await retention.stop();
        dynamodb.destroy();
        streams.destroy();
        db.close();
      })()),
  };
}

const randomBetween = (lowMs: number, highMs: number): number => lowMs + Math.random() * (highMs - lowMs);
const sleep = (ms: number): Promise<void> => new Promise((wake) => setTimeout(wake, ms));

/**
 * The store's fault switches on the workflow's client: `store` fails every call with DynamoDB's own service fault
 * (500 InternalServerError) before anything is sent; `slow-store` delays a call before it is sent or its answer after (the write committed,
 * the answer late), either way around the Persist task's timeout.
 */
export function storeFaults(client: DynamoDBClient, switches: FaultSwitches): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      if (switches.isOn('store')) {
        throw new DynamoDBServiceException({
          name: 'InternalServerError',
          $fault: 'server',
          $metadata: { httpStatusCode: 500 },
          message: 'the order store is unavailable (fault switch store)',
        });
      }
      if (!switches.isOn('slow-store')) return next(args);
      const delayAnswer = Math.random() < 0.5;
      if (!delayAnswer) await sleep(randomBetween(500, 3_000));
      const result = await next(args);
      if (delayAnswer) await sleep(randomBetween(500, 3_000));
      return result;
    },
    { step: 'initialize', name: 'orderIntakeStoreFaults' },
  );
}

/** The Validate function, failing while the `validate` switch is on (as a function with a bug would). */
const withValidateFault =
  (switches: FaultSwitches): typeof validateHandler =>
  async (event) => {
    if (switches.isOn('validate')) throw new Error('Validate failed (fault switch validate)');
    return validateHandler(event);
  };

export interface ServiceOptions {
  /** Data folder: DynamoDB Local's files, the event log, the archive. Created if missing. */
  dataDir: string;
  /** 0 picks a free port. */
  port: number;
  /** Default 127.0.0.1: a local service answers this machine only. */
  host?: string;
  /** Fault switches on at start; RunningService.setFault flips them while it runs. */
  faults?: readonly Fault[];
  /** Default: Powertools Logger at LOG_LEVEL (INFO if unset). */
  logger?: Logger;
  /** Replaces the workflow's Retry intervals (ms); by default the ASL's own intervals apply, as in AWS. */
  retryIntervalMs?: number;
  /**
   * The policies every local AWS call is authorized against. Default: the stack synthesized in process with
   * cdk.json's context, resolved to LOCAL_RESOURCES. Tests pass a changed template to see what AWS would refuse.
   */
  iam?: DeployedIamSource;
  /**
   * The ops console's recording of every execution and HTTP exchange (console.sqlite in the data folder); default
   * on. Off, nothing is recorded (the benchmark compares both).
   */
  console?: { enabled: boolean; retention?: ConsoleRetention };
  /** Local subscribers (local/subscriptions.ts loads them from the environment and the subscribers file). */
  subscribers?: readonly Subscriber[];
  webhooks?: WebhookDelivery;
  /** The bus's delivery loops' pace; tests make it fast (a failing subscriber dead-letters in milliseconds). */
  delivery?: LocalEventsOptions['delivery'];
  eventLogRetentionMs?: LocalEventsOptions['eventLogRetentionMs'];
  /**
   * DynamoDB Local, already starting in the data folder's dynamodb/ (npm start starts it before it loads the rest, so
   * that the JVM boots while the modules load); the service stops it. Default: started here.
   */
  dynamodb?: Promise<DynamoDbLocal>;
}

export interface RunningService {
  url: string;
  port: number;
  dataDir: string;
  events: LocalEvents;
  /** What the ops console shows; undefined when recording is off. */
  console: ConsoleStore | undefined;
  /**
   * The ops console (served on the same port), when it is on; on a HOST open to the network, with this start's
   * token (`?token=…`), which the console asks for.
   */
  consoleUrl: string | undefined;
  /** Turns a fault switch on or off while the service runs. */
  setFault(fault: Fault, on: boolean): void;
  /** Stops HTTP first (no new work), then the event runtime, then DynamoDB Local. Idempotent. */
  stop(): Promise<void>;
}

export { LOOPBACK_HOSTS } from './browser-guard.js';

export async function startService(options: ServiceOptions): Promise<RunningService> {
  const dataDir = resolve(options.dataDir);
  const faults = new FaultSwitches(options.faults);
  const logger = options.logger ?? new Logger({ serviceName: SERVICE_NAME });
  mkdirSync(dataDir, { recursive: true });

  const running: { dynamodb?: DynamoDbLocal; events?: LocalEvents; http?: RunningHttpServer } = {};
  const clients: DynamoDBClient[] = [];
  let requestLog: RequestLog | undefined;
  // Reaching an exposed console's port proves nothing: it asks for a token made at each start (console-token.ts).
  const consoleToken = hostNamesFor(options.host ?? '127.0.0.1') === 'any' ? newConsoleToken() : undefined;
  const consoleStore =
    (options.console?.enabled ?? true)
      ? new ConsoleStore(join(dataDir, CONSOLE_DATABASE_FILE), options.console?.retention)
      : undefined;
  const stopAll = async (): Promise<void> => {
    await running.http?.close();
    requestLog?.close();
    consoleStore?.close();
    await running.events?.stop();
    for (const client of clients) client.destroy();
    await running.dynamodb?.stop();
  };

  try {
    const starting = options.dynamodb ?? startDynamoDbLocal({ dataDir: join(dataDir, DYNAMODB_FOLDER) });
    // A first synthesis (nothing kept yet for this code) is CPU work in this process; the JVM boots meanwhile.
    let iam: CallerAuthorizers;
    try {
      iam = authorizersFor(options.iam ?? (await deployedIam(LOCAL_RESOURCES)));
    } catch (error) {
      await starting.then((started) => started.stop()).catch(() => undefined);
      throw error;
    }
    const dynamodb = await starting;
    running.dynamodb = dynamodb;
    const newClient = (): DynamoDBClient => {
      const client = dynamodb.client();
      clients.push(client);
      return client;
    };
    await ensureOrdersTable(newClient(), LOCAL_RESOURCES.tableName);

    running.events = await startLocalEvents({
      dataDir,
      busName: LOCAL_RESOURCES.busName,
      tableName: LOCAL_RESOURCES.tableName,
      dynamodbEndpoint: dynamodb.endpoint,
      busAvailable: !faults.isOn('bus'),
      archiveBucketName: LOCAL_RESOURCES.archiveBucketName,
      iam: { relay: iam.relay, archive: iam.archive },
      subscribers: options.subscribers,
      webhooks: options.webhooks,
      delivery: options.delivery,
      eventLogRetentionMs: options.eventLogRetentionMs,
      log: ({ level, message, ...details }: { level?: string; message?: string }) => {
        const write = level === 'error' ? logger.error : level === 'warn' ? logger.warn : logger.info;
        write.call(logger, String(message ?? 'local events'), details);
      },
    });

    const workflowStore = newClient();
    limitStoreCapacity(workflowStore);
    storeFaults(workflowStore, faults);
    faults.onChange((fault, on) => {
      if (fault === 'bus') running.events?.setBusAvailable(!on);
      if (fault === 'events-disk-full') running.events?.setDiskFull(on);
    });
    const workflowResources = {
      ValidateFunctionArn: LOCAL_RESOURCES.validateFunctionArn,
      OrdersTableName: LOCAL_RESOURCES.tableName,
      EventBusName: LOCAL_RESOURCES.busName,
    };
    const workflow = createOrderWorkflow({
      resources: workflowResources,
      backends: {
        dynamodb: workflowStore,
        bus: running.events.bus.publishingAs(PUBLISHERS.workflow),
        functions: { [LOCAL_RESOURCES.validateFunctionArn]: withValidateFault(faults) },
        iam: iam.workflow,
        functionTimeoutsMs: { [LOCAL_RESOURCES.validateFunctionArn]: validateFunctionTimeoutSeconds() * 1000 },
      },
      retryIntervalMs: options.retryIntervalMs,
      onExecutionEnd: consoleStore && ((execution) => consoleStore.recordExecution(execution)),
    });

    const gateway = createApiGateway({
      templates: loadApiMappingTemplates({
        StateMachineArn: LOCAL_RESOURCES.stateMachineArn,
        OrdersTableName: LOCAL_RESOURCES.tableName,
      }),
      stateMachineArn: LOCAL_RESOURCES.stateMachineArn,
      workflow,
      dynamodb: newClient(),
      iam: iam.api,
      openApi: loadOpenApiDocument(),
      asyncApi: loadAsyncApiDocument(),
      logger,
    });
    const events = running.events;
    const host = options.host ?? '127.0.0.1';
    // The ops console reads what the console store recorded and the rest on demand; it changes nothing but dead
    // letters, and only on a same-origin POST.
    const opsConsole =
      consoleStore &&
      createOpsConsole({
        store: consoleStore,
        events: events.database,
        dynamodb: newClient(),
        tableName: LOCAL_RESOURCES.tableName,
        archiveDir: events.archiveDir,
        states: (loadOrderIntakeDefinition(workflowResources) as { States: OpsConsoleOptions['states'] }).States,
        redriveDeadLetter: (id) => events.redriveDeadLetter(id),
        hosts: hostNamesFor(host),
        token: consoleToken,
      });
    requestLog = new RequestLog(logger);
    running.http = await startHttpServer({
      localRoutes: opsConsole && consoleRoutes(opsConsole),
      onExchange: consoleStore && ((exchange) => consoleStore.recordExchange(exchange)),
      gateway,
      logger,
      requestLog,
      port: options.port,
      host,
    });
  } catch (error) {
    await stopAll().catch((cleanup: unknown) => logger.error('cleanup after a failed start failed', { cleanup }));
    throw error;
  }

  if (faults.active().length > 0) logger.warn('fault switches on', { faults: faults.active() });
  let stopped: Promise<void> | undefined;
  return {
    url: running.http.url,
    port: running.http.port,
    dataDir,
    events: running.events,
    console: consoleStore,
    consoleUrl: consoleStore && `${running.http.url}${CONSOLE_PATH}${consoleToken ? `?token=${consoleToken}` : ''}`,
    setFault: (fault, on) => {
      faults.set(fault, on);
      logger.warn(`fault switch ${fault} ${on ? 'on' : 'off'}`, { fault, description: FAULT_DESCRIPTIONS[fault] });
    },
    stop: () => (stopped ??= stopAll()),
  };
}

export { FAULTS, parseFaults, type Fault } from './faults.js';
