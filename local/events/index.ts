/**
 * The local event side of the service, in one call: a durable EventBridge stand-in (SQLite under the data folder),
 * the archive rule delivering OrderAccepted to the real archive consumer (writing under `<dataDir>/archive`), and
 * the outbox relay running the real lambdas/publish handler on DynamoDB Local's stream of the orders table.
 */
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { createPublishHandler } from '../../lambdas/publish/handler.js';
import { orderAcceptedPattern } from '../../src/events/order-accepted.js';
import type { RoleAuthorizer } from '../iam/role-authorizer.js';
import { archiveTarget } from './archive-target.js';
import { openEventsDatabase, setDiskFull } from './events-database.js';
import { LocalEventBus } from './local-event-bus.js';
import { localEventBridgeClient } from './local-eventbridge-client.js';
import { RuleDelivery } from './rule-delivery.js';
import { StreamRelay } from './stream-relay.js';
import type { LogSink } from './waiting.js';
import { SERVICE_NAME } from '../../src/service-name.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../local-account.js';

export { LocalEventBus } from './local-event-bus.js';
export type { EventEnvelope, StoredEvent } from './local-event-bus.js';

export const EVENTS_DATABASE_FILE = 'events.sqlite';
export const ARCHIVE_FOLDER = 'archive';
export const ARCHIVE_RULE_NAME = 'order-accepted-to-archive';

export interface LocalEventsOptions {
  dataDir: string;
  busName: string;
  tableName: string;
  dynamodbEndpoint: string;
  /** The bus's fault switch at start; default true. */
  busAvailable?: boolean;
  /** Where warnings and errors of the event runtime go; silent if omitted. */
  log?: (line: object) => void;
  /** The bucket the archive folder stands in for. */
  archiveBucketName: string;
  /** The deployed roles of the two functions: the relay's PutEvents and the archive's PutObject are authorized. */
  iam: { relay: RoleAuthorizer; archive: RoleAuthorizer };
}

export interface LocalEvents {
  /** The bus the workflow's PutEvents task uses (an EventBusPort), with inspection helpers. */
  bus: LocalEventBus;
  /** The folder the archive consumer writes to. */
  archiveDir: string;
  setBusAvailable(available: boolean): void;
  /** The event log's disk is full (or has room again): a write that needs a new page of the log fails (SQLITE_FULL). */
  setDiskFull(full: boolean): void;
  /** Events on the bus that the archive rule has not yet delivered: 0 once the archive has caught up. */
  archiveBacklog(): number;
  /** Ends the loops after their current step and closes the database. */
  stop(): Promise<void>;
}

/**
 * The Lambda handlers' own logs stay off locally unless POWERTOOLS_LOG_LEVEL asks for them: the runtime reports
 * their failures through `log` already, once per streak rather than once per retry.
 */
const handlerLogger = (): Logger =>
  new Logger({ serviceName: SERVICE_NAME, ...(process.env.POWERTOOLS_LOG_LEVEL ? {} : { logLevel: 'SILENT' }) });

export async function startLocalEvents(options: LocalEventsOptions): Promise<LocalEvents> {
  const log: LogSink = (line) => options.log?.({ component: 'local-events', ...line });
  const archiveDir = join(options.dataDir, ARCHIVE_FOLDER);
  const db = openEventsDatabase(join(options.dataDir, EVENTS_DATABASE_FILE));
  const bus = new LocalEventBus(db, { busName: options.busName, available: options.busAvailable ?? true });

  const delivery = new RuleDelivery(
    db,
    bus,
    [
      {
        name: ARCHIVE_RULE_NAME,
        eventPattern: orderAcceptedPattern,
        target: await archiveTarget({
          archiveDir,
          bucketName: options.archiveBucketName,
          iam: options.iam.archive,
          logger: handlerLogger(),
        }),
      },
    ],
    { log },
  );

  const endpoint = { endpoint: options.dynamodbEndpoint, region: LOCAL_REGION };
  const credentials = LOCAL_CREDENTIALS;
  // The relay retries on its own schedule, so the SDK's retries would only delay stop().
  const dynamodb = new DynamoDBClient({ ...endpoint, credentials, maxAttempts: 1 });
  const streams = new DynamoDBStreamsClient({ ...endpoint, credentials, maxAttempts: 1 });
  const relay = new StreamRelay(db, {
    dynamodb,
    streams,
    tableName: options.tableName,
    handler: createPublishHandler({
      eventBusName: options.busName,
      client: localEventBridgeClient(bus, options.iam.relay),
      logger: handlerLogger(),
    }),
    isTargetAvailable: () => bus.isAvailable(),
    log,
  });

  delivery.start();
  relay.start();

  let stopped: Promise<void> | undefined;
  return {
    bus,
    archiveDir,
    setBusAvailable: (available) => bus.setAvailable(available),
    setDiskFull: (full) => setDiskFull(db, full),
    archiveBacklog: () => delivery.backlogOf(ARCHIVE_RULE_NAME),
    stop: () =>
      (stopped ??= (async () => {
        await relay.stop();
        await delivery.stop();
        dynamodb.destroy();
        streams.destroy();
        db.close();
      })()),
  };
}
