/**
 * `npm start`: the whole service on this machine. Environment: PORT (default 3000), HOST (default 127.0.0.1),
 * DATA_DIR (default .data), ORDER_INTAKE_FAULTS (see local/faults.ts), LOG_LEVEL (default INFO); the ops console:
 * ORDER_INTAKE_CONSOLE (on|off), ORDER_INTAKE_CONSOLE_RETENTION_HOURS, ORDER_INTAKE_CONSOLE_MAX_EXECUTIONS; the local
 * subscribers: ORDER_INTAKE_WEBHOOKS, ORDER_INTAKE_SUBSCRIBERS, ORDER_INTAKE_WEBHOOK_RETRY_SECONDS (see
 * local/subscriptions.ts). See docs/local.md.
 */
import { resolve } from 'node:path';
import { LOOPBACK_HOSTS, parseFaults, startService, WEBHOOK_RETRY_POLICY } from './service.js';
import { withoutUrlSecrets } from './secrets.js';
import { loadSubscribers, parseRetrySeconds, SubscriptionsConfigError, type Subscriber } from './subscriptions.js';

const DEFAULT_PORT = 3000;
const STOP_DEADLINE_MS = 10_000;

function portFrom(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_PORT;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be 0..65535, not ${value}`);
  return port;
}

function positiveNumber(name: string): number | undefined {
  const value = process.env[name];
  if (value === undefined || value === '') return undefined;
  const number = Number(value);
  if (!(Number.isFinite(number) && number > 0)) throw new Error(`${name} must be a positive number, not ${value}`);
  return number;
}

const hoursInMs = (hours: number | undefined): number | undefined =>
  hours === undefined ? undefined : hours * 60 * 60 * 1000;

/**
 * The console records every order's data and acts on dead letters with no login, so it serves this machine only:
 * on by default on a loopback address, off when HOST opens the service to others unless ORDER_INTAKE_CONSOLE=on.
 */
function consoleSettings(host: string) {
  const asked = process.env.ORDER_INTAKE_CONSOLE;
  if (asked !== undefined && asked !== '' && asked !== 'on' && asked !== 'off') {
    throw new Error(`ORDER_INTAKE_CONSOLE must be on or off, not ${asked}`);
  }
  return {
    enabled: asked ? asked === 'on' : LOOPBACK_HOSTS.has(host),
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

async function main(): Promise<void> {
  const started = performance.now();
  const dataDir = resolve(process.env.DATA_DIR || '.data');
  const host = process.env.HOST || '127.0.0.1';
  // Before anything starts: a subscriber that cannot be set up fails the start at once.
  const subscribers = await loadSubscribers({
    webhooks: process.env.ORDER_INTAKE_WEBHOOKS,
    subscribersFile: process.env.ORDER_INTAKE_SUBSCRIBERS,
  });
  const retrySeconds = parseRetrySeconds(
    process.env.ORDER_INTAKE_WEBHOOK_RETRY_SECONDS,
    WEBHOOK_RETRY_POLICY.maximumRetryMs / 1000,
  );
  const service = await startService({
    dataDir,
    port: portFrom(process.env.PORT),
    host,
    faults: parseFaults(process.env.ORDER_INTAKE_FAULTS),
    console: consoleSettings(host),
    eventLogRetentionMs: hoursInMs(positiveNumber('ORDER_INTAKE_EVENTS_RETENTION_HOURS')),
    subscribers,
    webhooks: { retryPolicy: { ...WEBHOOK_RETRY_POLICY, maximumRetryMs: retrySeconds * 1000 } },
  });
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
      '',
    ].join('\n'),
  );

  // One Ctrl-C reaches this process twice (from the terminal, and relayed by the tsx parent), so a repeated signal
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
  const told = error instanceof SubscriptionsConfigError ? error.message : undefined;
  process.stderr.write(
    `Order Intake did not start: ${told ?? (error instanceof Error ? (error.stack ?? error.message) : String(error))}\n`,
  );
  process.exit(1);
});
