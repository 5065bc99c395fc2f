/**
 * The whole service on one machine, from the definitions AWS runs: DynamoDB Local on disk with the stack's table,
 * the local event bus with its archive rule and outbox relay, the workflow (the ASL file, the Validate handler
 * in-process), and API Gateway emulated over the project's mapping templates. Everything is built once here and
 * shared by every request.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBServiceException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { handler as validateHandler } from '../lambdas/validate/handler.js';
import { startDynamoDbLocal, type DynamoDbLocal } from './dynamodb-local.js';
import { startLocalEvents, type LocalEvents } from './events/index.js';
import { createApiGateway } from './http/api-gateway.js';
import { loadOpenApiDocument } from './http/openapi.js';
import { RequestLog } from './http/request-log.js';
import { startHttpServer, type RunningHttpServer } from './http/server.js';
import { ensureOrdersTable } from './orders-table.js';
import { loadApiMappingTemplates } from './vtl/api-templates.js';
import { authorizersFor, deployedIam, type CallerAuthorizers, type DeployedIamSource } from './iam/index.js';
import type { LocalResourceNames } from './iam/deployed-roles.js';
import { localArn } from './local-account.js';
import { FAULT_DESCRIPTIONS, FaultSwitches, type Fault } from './faults.js';
import { limitStoreCapacity } from './store-capacity.js';
import { createOrderWorkflow } from './workflow/order-workflow.js';
import { validateFunctionTimeout } from '../cdk/lib/order-workflow.js';
import { SERVICE_NAME } from '../src/service-name.js';

/** The local stand-ins for what the stack names per deployment. */
export const LOCAL_RESOURCES = {
  tableName: 'order-intake-orders',
  busName: 'order-intake',
  validateFunctionArn: localArn('lambda', 'function:order-intake-validate'),
  stateMachineArn: localArn('states', 'stateMachine:order-intake'),
  archiveBucketName: 'order-intake-archive',
} as const satisfies LocalResourceNames;

/** DynamoDB Local's files live here, under the data folder; the event runtime keeps its own beside them. */
export const DYNAMODB_FOLDER = 'dynamodb';

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
}

export interface RunningService {
  url: string;
  port: number;
  dataDir: string;
  events: LocalEvents;
  /** Turns a fault switch on or off while the service runs. */
  setFault(fault: Fault, on: boolean): void;
  /** Stops HTTP first (no new work), then the event runtime, then DynamoDB Local. Idempotent. */
  stop(): Promise<void>;
}

export async function startService(options: ServiceOptions): Promise<RunningService> {
  const dataDir = resolve(options.dataDir);
  const faults = new FaultSwitches(options.faults);
  const logger = options.logger ?? new Logger({ serviceName: SERVICE_NAME });
  mkdirSync(dataDir, { recursive: true });

  const running: { dynamodb?: DynamoDbLocal; events?: LocalEvents; http?: RunningHttpServer } = {};
  const clients: DynamoDBClient[] = [];
  let requestLog: RequestLog | undefined;
  const stopAll = async (): Promise<void> => {
    await running.http?.close();
    requestLog?.close();
    await running.events?.stop();
    for (const client of clients) client.destroy();
    await running.dynamodb?.stop();
  };

  try {
    const starting = startDynamoDbLocal({ dataDir: join(dataDir, DYNAMODB_FOLDER) });
    // Synthesis is CPU work in this process; the JVM boots in its own meanwhile.
    let iam: CallerAuthorizers;
    try {
      iam = authorizersFor(options.iam ?? deployedIam(LOCAL_RESOURCES));
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
    const workflow = createOrderWorkflow({
      resources: {
        ValidateFunctionArn: LOCAL_RESOURCES.validateFunctionArn,
        OrdersTableName: LOCAL_RESOURCES.tableName,
        EventBusName: LOCAL_RESOURCES.busName,
      },
      backends: {
        dynamodb: workflowStore,
        bus: running.events.bus,
        functions: { [LOCAL_RESOURCES.validateFunctionArn]: withValidateFault(faults) },
        iam: iam.workflow,
        functionTimeoutsMs: { [LOCAL_RESOURCES.validateFunctionArn]: validateFunctionTimeout().toMilliseconds() },
      },
      retryIntervalMs: options.retryIntervalMs,
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
      logger,
    });
    requestLog = new RequestLog(logger);
    running.http = await startHttpServer({
      gateway,
      logger,
      requestLog,
      port: options.port,
      host: options.host ?? '127.0.0.1',
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
    setFault: (fault, on) => {
      faults.set(fault, on);
      logger.warn(`fault switch ${fault} ${on ? 'on' : 'off'}`, { fault, description: FAULT_DESCRIPTIONS[fault] });
    },
    stop: () => (stopped ??= stopAll()),
  };
}

export { FAULTS, parseFaults, type Fault } from './faults.js';
