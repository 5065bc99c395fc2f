/**
 * The whole service on one machine, from the definitions AWS runs, and the one place it is put together. Each
 * folder of local/ stands in for one AWS service and mirrors a construct of the stack (cdk/lib):
 * - apigateway/ (OrderApi): the HTTP server, routes and the api/ mapping templates, rendered as VTL;
 * - stepfunctions/ (OrderWorkflow): the ASL file in aws-local-stepfunctions, with its Task integrations;
 * - dynamodb/ (OrdersTable): DynamoDB Local on disk, with the stack's table definition;
 * - eventbridge/ (OrderEvents): the durable bus, its rules and patterns, and their store; local-events.ts composes
 *   the event side (the bus, its consumers, the stream relay);
 * - event-sources/ (the event source mappings): the table's stream to the outbox relay, and SQS-style targets;
 * - subscriptions.ts: local subscribers (webhooks as API destinations, handler modules), configured without code;
 * - s3/ (the archive bucket): a folder;
 * - iam/: every call above authorized against the deployed roles;
 * - console/: the local ops console (no AWS counterpart), on the same port under /console, before the API;
 * - faults.ts: the fault switches, and where they act.
 * Everything is built once here and shared by every request.
 */
import { join, resolve } from 'node:path';
import { traceStartup } from './startup-trace.js';
import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { validateHandlerFor } from '../lambdas/validate/handler.js';
import { CLIENT_KEY_RETENTION_HOURS, validateFunctionTimeoutSeconds } from '../src/deployed-settings.js';
import { validateEnvironment, validateSettingsFrom } from '../src/validation/validate-settings.js';
import { SERVICE_NAME } from '../src/service-name.js';
import { createApiGateway } from './apigateway/api-gateway.js';
import { RequestLog } from './apigateway/request-log.js';
import { startHttpServer } from './apigateway/server.js';
import { hostNamesFor, LOOPBACK_HOSTS } from './browser-guard.js';
import { makePrivateDataFolder } from './private-files.js';
import { DYNAMODB_FOLDER, startDynamoDbLocal, type DynamoDbLocal } from './dynamodb/dynamodb-local.js';
import { prepareOrdersTable } from './dynamodb/orders-table.js';
import { limitStoreCapacity } from './dynamodb/store-capacity.js';
import { PUBLISHERS } from './eventbridge/local-event-bus.js';
import { startLocalEvents, type LocalEvents, type LocalEventsOptions } from './eventbridge/local-events.js';
import { FAULT_DESCRIPTIONS, FaultSwitches, storeFaults, withValidateFault, type Fault } from './faults.js';
import { authorizersFor, deployedIam, type CallerAuthorizers, type DeployedIamSource } from './iam/index.js';
import { warmUpDynamoDbAuthorization } from './iam/dynamodb.js';
import { LOCAL_RESOURCES } from './local-account.js';
import { createOrderWorkflow } from './stepfunctions/order-workflow.js';
import { loadLocalDefinitions } from './definitions.js';
import { CONSOLE_DATABASE_FILE, ConsoleStore, type ConsoleRetention } from './console/console-store.js';
import { consoleRoutes } from './console/console-http.js';
import { CONSOLE_PATH, createOpsConsole, sendAgainThrough, type OpsConsoleOptions } from './console/console-routes.js';
import { newConsoleToken } from './console/console-token.js';
import type { Subscriber } from './subscriptions.js';
import { logSinkOnto } from './waiting.js';

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
   * The ops console's recording of every execution and HTTP exchange (console.sqlite in the data folder). `enabled`
   * defaults as `npm start`'s does (consoleEnabled). Off, nothing is recorded (the benchmark compares both).
   */
  console?: { enabled?: boolean; retention?: ConsoleRetention };
  /** Local subscribers (local/subscriptions.ts loads them from the environment and the subscribers file). */
  subscribers?: readonly Subscriber[];
  webhooks?: LocalEventsOptions['webhooks'];
  /** The bus's delivery loops' pace; tests make it fast (a failing subscriber dead-letters in milliseconds). */
  delivery?: LocalEventsOptions['delivery'];
  eventLogRetentionMs?: LocalEventsOptions['eventLogRetentionMs'];
  /** How long a client's Idempotency-Key is honoured (ORDER_INTAKE_CLIENT_KEY_RETENTION_HOURS); default 24 h. */
  clientKeyRetentionHours?: number;
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
  /**
   * Undefined when every socket but the API's answers this machine only; otherwise what else answers other machines,
   * for the start line (DynamoDB Local, where its loopback shim cannot be used: see local/dynamodb/dynamodb-local.ts).
   */
  exposure: string | undefined;
  /** Turns a fault switch on or off while the service runs. */
  setFault(fault: Fault, on: boolean): void;
  /** Stops HTTP first (no new work), then the event runtime, then DynamoDB Local. Idempotent. */
  stop(): Promise<void>;
}

const DEFAULT_HOST = '127.0.0.1';

/**
 * The console records every order's data and acts on dead letters with no login, so unless asked it serves this
 * machine only: on when the service listens on a loopback host, off otherwise.
 */
export const consoleEnabled = (options: Pick<ServiceOptions, 'host' | 'console'>): boolean =>
  options.console?.enabled ?? LOOPBACK_HOSTS.has(options.host ?? DEFAULT_HOST);

/**
 * Starts each part once the parts it calls are up. Whatever has started is stopped in the reverse order, by
 * RunningService.stop() or when a later step of the start fails: HTTP first (no new work), DynamoDB Local last.
 */
export async function startService(options: ServiceOptions): Promise<RunningService> {
  const dataDir = resolve(options.dataDir);
  const faults = new FaultSwitches(options.faults);
  const logger = options.logger ?? new Logger({ serviceName: SERVICE_NAME });
  makePrivateDataFolder(dataDir);
  const started = new AsyncDisposableStack();

  try {
    const starting = options.dynamodb ?? startDynamoDbLocal({ dataDir: join(dataDir, DYNAMODB_FOLDER) });
    // A failed start of the JVM is told by `await starting` below; here only a started one is stopped.
    started.defer(() =>
      starting.then(
        (dynamodb) => dynamodb.stop(),
        () => undefined,
      ),
    );
    // A first synthesis (nothing kept yet for this code) is CPU work in this process; the JVM boots meanwhile.
    const iam: CallerAuthorizers = authorizersFor(options.iam ?? (await deployedIam(LOCAL_RESOURCES)));
    traceStartup('service: IAM ready');
    // Reaching an exposed console's port proves nothing: it asks for a token made at each start (console-token.ts).
    const consoleToken = hostNamesFor(options.host ?? DEFAULT_HOST) === 'any' ? newConsoleToken() : undefined;
    const consoleStore = consoleEnabled(options)
      ? started.adopt(new ConsoleStore(join(dataDir, CONSOLE_DATABASE_FILE), options.console?.retention), (store) =>
          store.close(),
        )
      : undefined;
    // CPU work that needs no DynamoDB, done while the JVM boots rather than after it answers.
    const { stateMachine, templates, openApi, asyncApi } = loadLocalDefinitions();
    await warmUpDynamoDbAuthorization(iam.api, LOCAL_RESOURCES.tableName);
    traceStartup('service: prepared while the JVM boots');
    const dynamodb = await starting;
    const newClient = (): DynamoDBClient => started.adopt(dynamodb.client(), (client) => client.destroy());
    // The event runtime starts once the table exists (prepareOrdersTable), and the API's client has read once.
    const apiStore = newClient();
    const events = await prepareOrdersTable(
      { client: newClient(), reader: apiStore, tableName: LOCAL_RESOURCES.tableName },
      async () => {
        const runtime = await startLocalEvents({
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
          log: logSinkOnto(logger),
        });
        started.defer(() => runtime.stop());
        return runtime;
      },
    );
    traceStartup('service: table and events ready');

    const workflowStore = newClient();
    limitStoreCapacity(workflowStore);
    storeFaults(workflowStore, faults);
    faults.onChange((fault, on) => {
      if (fault === 'bus') events.setBusAvailable(!on);
      if (fault === 'events-disk-full') events.setDiskFull(on);
    });
    // The function's environment, as the stack sets it (cdk/lib/order-workflow.ts), read as the deployed handler reads it.
    const validateHandler = validateHandlerFor(
      validateSettingsFrom(
        validateEnvironment({
          tableName: LOCAL_RESOURCES.tableName,
          clientKeyRetentionHours: options.clientKeyRetentionHours ?? CLIENT_KEY_RETENTION_HOURS.default,
        }),
      ),
    );
    const workflow = createOrderWorkflow({
      stateMachine,
      backends: {
        dynamodb: workflowStore,
        bus: events.bus.publishingAs(PUBLISHERS.workflow),
        functions: { [LOCAL_RESOURCES.validateFunctionArn]: withValidateFault(validateHandler, faults) },
        iam: iam.workflow,
        functionTimeoutsMs: { [LOCAL_RESOURCES.validateFunctionArn]: validateFunctionTimeoutSeconds() * 1000 },
      },
      retryIntervalMs: options.retryIntervalMs,
      onExecutionEnd: consoleStore && ((execution) => consoleStore.recordExecution(execution)),
    });

    const gateway = createApiGateway({
      templates,
      stateMachineArn: LOCAL_RESOURCES.stateMachineArn,
      workflow,
      dynamodb: apiStore,
      iam: iam.api,
      openApi,
      asyncApi,
    });
    const host = options.host ?? DEFAULT_HOST;
    // The ops console reads what the console store recorded and the rest on demand; it changes nothing but dead
    // letters, and only on a same-origin POST.
    const api: { url?: string } = {};
    const opsConsole =
      consoleStore &&
      createOpsConsole({
        store: consoleStore,
        events: events.database,
        dynamodb: newClient(),
        tableName: LOCAL_RESOURCES.tableName,
        archiveDir: events.archiveDir,
        definition: stateMachine.definition as OpsConsoleOptions['definition'],
        redriveDeadLetter: (id) => events.redriveDeadLetter(id),
        ruleNames: events.ruleNames,
        sendAgain: sendAgainThrough(api),
        hosts: hostNamesFor(host),
        token: consoleToken,
      });
    const requestLog = started.adopt(new RequestLog(logger), (log) => log.close());
    const http = await startHttpServer({
      localRoutes: opsConsole && consoleRoutes(opsConsole),
      onExchange: consoleStore && ((exchange) => consoleStore.recordExchange(exchange)),
      gateway,
      requestLog,
      port: options.port,
      host,
    });
    started.defer(() => http.close());
    api.url = http.url;

    if (faults.active().length > 0) logger.warn('fault switches on', { faults: faults.active() });
    const running = started.move();
    let stopped: Promise<void> | undefined;
    return {
      url: http.url,
      port: http.port,
      dataDir,
      events,
      console: consoleStore,
      consoleUrl: consoleStore && `${http.url}${CONSOLE_PATH}${consoleToken ? `?token=${consoleToken}` : ''}`,
      exposure: dynamodb.exposure,
      setFault: (fault, on) => {
        faults.set(fault, on);
        logger.warn(`fault switch ${fault} ${on ? 'on' : 'off'}`, { fault, description: FAULT_DESCRIPTIONS[fault] });
      },
      stop: () => (stopped ??= running.disposeAsync()),
    };
  } catch (error) {
    await started
      .disposeAsync()
      .catch((cleanup: unknown) => logger.error('cleanup after a failed start failed', { cleanup }));
    throw error;
  }
}
