/**
 * `npm start`: the whole service on this machine. Environment: PORT (default 3000), HOST (default 127.0.0.1),
 * DATA_DIR (default .data), ORDER_INTAKE_FAULTS (see local/faults.ts), LOG_LEVEL (default INFO), LOG_FORMAT (text on a
 * terminal, else json); the ops console:
 * ORDER_INTAKE_CONSOLE (on|off), ORDER_INTAKE_CONSOLE_RETENTION_HOURS, ORDER_INTAKE_CONSOLE_MAX_EXECUTIONS; the local
 * subscribers: ORDER_INTAKE_WEBHOOKS, ORDER_INTAKE_SUBSCRIBERS, ORDER_INTAKE_WEBHOOK_RETRY_SECONDS (see
 * local/subscriptions.ts); ORDER_INTAKE_CLIENT_KEY_RETENTION_HOURS (how long a client's Idempotency-Key is honoured,
 * whole hours 1..720, default 24, as the stack's clientKeyRetentionHours). See docs/local.md.
 */
import { traceStartup } from './startup-trace.js';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { DYNAMODB_FOLDER, startDynamoDbLocal } from './dynamodb/dynamodb-local.js';
import { SERVICE_NAME } from '../src/service-name.js';
import type { RunningService } from './service.js';
import { logFormat } from './log-format.js';
import type { Subscriber } from './subscriptions.js';
import { withoutUrlSecrets } from './secrets.js';
import { errorMessage } from '../src/json-value.js';

// The service's own modules take seconds to load on a loaded machine: they are loaded (below) once the port is known
// to be free and DynamoDB Local's JVM is booting, so that the two overlap.

const DEFAULT_PORT = 3000;

/** A start refused for a reason its message says in full (a setting, a busy port): no stack to bury it. */
class StartError extends Error {}
const STOP_DEADLINE_MS = 10_000;

function portFrom(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_PORT;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new StartError(`PORT must be 0..65535, not ${value}`);
  return port;
}

function positiveNumber(name: string): number | undefined {
  const value = process.env[name];
  if (value === undefined || value === '') return undefined;
  const number = Number(value);
  if (!(Number.isFinite(number) && number > 0)) throw new StartError(`${name} must be a positive number, not ${value}`);
  return number;
}

const hoursInMs = (hours: number | undefined): number | undefined =>
  hours === undefined ? undefined : hours * 60 * 60 * 1000;

/** ORDER_INTAKE_CLIENT_KEY_RETENTION_HOURS, by the rule of the stack's clientKeyRetentionHours (loaded with the rest). */
async function clientKeyRetention(): Promise<number> {
  const name = 'ORDER_INTAKE_CLIENT_KEY_RETENTION_HOURS';
  const { clientKeyRetentionHours } = await import('../src/deployed-settings.js');
  try {
    return clientKeyRetentionHours(process.env[name], name);
  } catch (error) {
    throw new StartError(errorMessage(error));
  }
}

/** ORDER_INTAKE_CONSOLE=on|off; unset, startService's default holds (on for a loopback HOST only). */
function consoleSettings() {
  const asked = process.env.ORDER_INTAKE_CONSOLE;
  if (asked !== undefined && asked !== '' && asked !== 'on' && asked !== 'off') {
    throw new StartError(`ORDER_INTAKE_CONSOLE must be on or off, not ${asked}`);
  }
  return {
    ...(asked ? { enabled: asked === 'on' } : {}),
    retention: {
      maxAgeMs: hoursInMs(positiveNumber('ORDER_INTAKE_CONSOLE_RETENTION_HOURS')),
      maxExecutions: positiveNumber('ORDER_INTAKE_CONSOLE_MAX_EXECUTIONS'),
    },
  };
}
/** A webhook's URL is printed without its query string, which may hold a key (local/secrets.ts). */
const describeSubscriber = (subscriber: Subscriber): string =>
  `  OrderAccepted -> ${subscriber.kind === 'webhook' ? withoutUrlSecrets(subscriber.url) : `handler ${subscriber.name}`}` +
  ` (rule ${subscriber.ruleName})`;

const SAMPLE_ORDER = '{"customerId":"CUST-7Q2K9M4X","items":[{"sku":"SKU-00012345","quantity":3}]}';

/** Whether logs are printed as readable lines (LOG_FORMAT, or stdout being a terminal) rather than JSON. */
function readableLogs(): boolean {
  try {
    return logFormat() === 'text';
  } catch (error) {
    throw new StartError(errorMessage(error));
  }
}

/** Fails at once, naming the port, when another process holds it: before the JVM and the rest start for nothing. */
async function ensurePortFree(port: number, host: string): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((free, busy) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) =>
      busy(
        new StartError(
          error.code === 'EADDRINUSE'
            ? `port ${port} on ${host} is in use by another process: stop it, or choose another port with PORT=<port> (PORT=0 picks a free one)`
            : `cannot listen on ${host}:${port} (${error.code ?? error.message}); PORT and HOST choose where`,
        ),
      ),
    );
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => free()));
  });
}

async function main(): Promise<void> {
  const started = performance.now();
  const dataDir = resolve(process.env.DATA_DIR || '.data');
  const host = process.env.HOST || '127.0.0.1';
  const port = portFrom(process.env.PORT);
  const readable = readableLogs();
  traceStartup('main: static modules evaluated');
  await ensurePortFree(port, host);
  traceStartup('main: port free');
  // The JVM is spawned before the service's modules load: loading them holds the event loop for a while.
  let spawned = (): void => undefined;
  const jvmSpawned = new Promise<void>((done) => (spawned = done));
  const dynamodb = startDynamoDbLocal({ dataDir: join(dataDir, DYNAMODB_FOLDER), onSpawn: () => spawned() });
  await Promise.race([jvmSpawned, dynamodb.then(spawned, spawned)]);
  let service: RunningService;
  let subscribers: Subscriber[];
  try {
    const [{ startService }, { WEBHOOK_RETRY_POLICY }, { parseFaults }] = await Promise.all([
      import('./service.js'),
      import('./eventbridge/local-events.js'),
      import('./faults.js'),
    ]);
    const { loadSubscribers, parseRetrySeconds } = await import('./subscriptions.js');
    const logger = readable
      ? new (await import('./terminal-logger.js')).TerminalLogger({ serviceName: SERVICE_NAME })
      : undefined;
    traceStartup('main: service modules loaded');
    // A subscriber that cannot be set up fails the start at once.
    subscribers = await loadSubscribers({
      webhooks: process.env.ORDER_INTAKE_WEBHOOKS,
      subscribersFile: process.env.ORDER_INTAKE_SUBSCRIBERS,
    });
    const retrySeconds = parseRetrySeconds(
      process.env.ORDER_INTAKE_WEBHOOK_RETRY_SECONDS,
      WEBHOOK_RETRY_POLICY.maximumRetryMs / 1000,
    );
    service = await startService({
      dataDir,
      port,
      host,
      faults: parseFaults(process.env.ORDER_INTAKE_FAULTS),
      console: consoleSettings(),
      eventLogRetentionMs: hoursInMs(positiveNumber('ORDER_INTAKE_EVENTS_RETENTION_HOURS')),
      clientKeyRetentionHours: await clientKeyRetention(),
      subscribers,
      webhooks: { retryPolicy: { ...WEBHOOK_RETRY_POLICY, maximumRetryMs: retrySeconds * 1000 } },
      dynamodb,
      logger,
    });
  } catch (error) {
    // The service stops DynamoDB Local once it runs; a start that failed before must not leave the JVM behind.
    await dynamodb.then((store) => store.stop()).catch(() => undefined);
    throw error;
  }
  traceStartup('main: listening');
  // A loopback address reads better as localhost, which is what the README promises.
  const url = host === '127.0.0.1' ? `http://localhost:${service.port}` : service.url;
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  process.stdout.write(
    [
      `Order Intake listening on ${url} (started in ${seconds} s; data in ${dataDir}; Ctrl-C stops it)`,
      `  curl -i ${url}/orders -H 'Content-Type: application/json' -d '${SAMPLE_ORDER}'`,
      `  curl -i ${url}/orders/<orderId>        OpenAPI: ${url}/openapi.json  AsyncAPI: ${url}/asyncapi.json`,
      service.consoleUrl
        ? `  Ops console: ${service.consoleUrl.replace(service.url, url)}`
        : '  Ops console: off (ORDER_INTAKE_CONSOLE=on turns it on)',
      ...subscribers.map(describeSubscriber),
      ...(service.exposure ? [`  WARNING: ${service.exposure}`] : []),
      '',
    ].join('\n'),
  );

  // One Ctrl-C may reach this process twice (from the terminal, and relayed by a parent such as tsx's CLI), so a repeated signal
  // is not a request to hurry; a stop that hangs is cut short instead.
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${signal}: stopping\n`);
    setTimeout(() => {
      process.stderr.write(`stop took over ${STOP_DEADLINE_MS} ms: exiting anyway\n`);
      process.exit(1);
    }, STOP_DEADLINE_MS).unref();
    service.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`stop failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  // A configuration mistake is said in its message; its stack would only bury it.
  const told =
    error instanceof StartError || (error instanceof Error && error.name === 'SubscriptionsConfigError')
      ? error.message
      : undefined;
  process.stderr.write(
    `Order Intake did not start: ${told ?? (error instanceof Error ? (error.stack ?? error.message) : String(error))}\n`,
  );
  process.exit(1);
});
