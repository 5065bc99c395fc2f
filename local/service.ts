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

export const FAULTS = ['bus', 'store'] as const;
export type Fault = (typeof FAULTS)[number];

/** `ORDER_INTAKE_FAULTS`: a comma list of FAULTS; anything else is a mistake worth stopping for. */
export function parseFaults(value: string | undefined): Fault[] {
  const names = (value ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  const unknown = names.filter((name) => !(FAULTS as readonly string[]).includes(name));
  if (unknown.length > 0) throw new Error(`unknown fault(s) ${unknown.join(', ')}; known: ${FAULTS.join(', ')}`);
  return [...new Set(names)] as Fault[];
}

/** Every call of the client fails as an unreachable DynamoDB would, before anything is sent. */
export function failEveryCall(client: DynamoDBClient): void {
  client.middlewareStack.add(
    () => async () => {
      throw new DynamoDBServiceException({
        name: 'InternalServerError',
        $fault: 'server',
        $metadata: { httpStatusCode: 500 },
        message: 'the order store is unavailable (fault switch ORDER_INTAKE_FAULTS=store)',
      });
    },
    { step: 'initialize', name: 'orderIntakeStoreFault' },
  );
}

export interface ServiceOptions {
  /** Data folder: DynamoDB Local's files, the event log, the archive. Created if missing. */
  dataDir: string;
  /** 0 picks a free port. */
  port: number;
  /** Default 127.0.0.1: a local service answers this machine only. */
  host?: string;
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
  /** Stops HTTP first (no new work), then the event runtime, then DynamoDB Local. Idempotent. */
  stop(): Promise<void>;
}

export async function startService(options: ServiceOptions): Promise<RunningService> {
  const dataDir = resolve(options.dataDir);
  const faults = new Set(options.faults ?? []);
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
      busAvailable: !faults.has('bus'),
      archiveBucketName: LOCAL_RESOURCES.archiveBucketName,
      iam: { relay: iam.relay, archive: iam.archive },
      log: ({ level, message, ...details }: { level?: string; message?: string }) => {
        const write = level === 'error' ? logger.error : level === 'warn' ? logger.warn : logger.info;
        write.call(logger, String(message ?? 'local events'), details);
      },
    });

    const workflowStore = newClient();
    if (faults.has('store')) failEveryCall(workflowStore);
    const workflow = createOrderWorkflow({
      resources: {
        ValidateFunctionArn: LOCAL_RESOURCES.validateFunctionArn,
        OrdersTableName: LOCAL_RESOURCES.tableName,
        EventBusName: LOCAL_RESOURCES.busName,
      },
      backends: {
        dynamodb: workflowStore,
        bus: running.events.bus,
        functions: { [LOCAL_RESOURCES.validateFunctionArn]: validateHandler },
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

  if (faults.size > 0) logger.warn('fault switches on', { faults: [...faults] });
  let stopped: Promise<void> | undefined;
  return {
    url: running.http.url,
    port: running.http.port,
    dataDir,
    events: running.events,
    stop: () => (stopped ??= stopAll()),
  };
}
