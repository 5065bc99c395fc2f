/**
 * Local subscribers to OrderAccepted, configured without code: webhooks named in ORDER_INTAKE_WEBHOOKS (a comma
 * list of URLs), and the entries of a subscribers file (order-intake.subscribers.json in the project folder, or the
 * file ORDER_INTAKE_SUBSCRIBERS names), each a webhook or a handler module called as a Lambda function behind an SQS
 * queue. local/service.ts makes each one a rule of the local bus with its own durable cursor; the rule's name is
 * derived from the URL or the subscriber's name, so the same subscriber finds its cursor again after a restart.
 * Anything wrong in the configuration fails the start with a message that names the file, the entry and the field.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { pathToFileURL } from 'node:url';
import { orderAcceptedPattern } from '../src/events/order-accepted.js';
import { errorMessage, isObject } from '../src/json-value.js';
import type { SqsHandler } from './event-sources/sqs-queue.js';
import { assertSupportedPattern, type EventPattern } from './eventbridge/event-pattern.js';
import { cursorRuleNames, deleteCursor } from './eventbridge/events-database.js';
import { withoutUrlSecrets } from './secrets.js';

export const DEFAULT_SUBSCRIBERS_FILE = 'order-intake.subscribers.json';

/** A subscriber of the local bus; `eventPattern` is OrderAccepted's, narrowed by the entry's own pattern if any. */
export type Subscriber = { ruleName: string; eventPattern: EventPattern } & (
  | { kind: 'webhook'; url: string }
  | {
      kind: 'handler';
      name: string;
      handler: SqsHandler;
      /** The deployed function's timeout, when it is not NodeFunction's default. */
      timeoutSeconds?: number;
    }
);

/** The local subscriptions cannot be set up as configured; the message says where and why. */
export class SubscriptionsConfigError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SubscriptionsConfigError';
  }
}

const WEBHOOK_RULE_PREFIX = 'webhook-';
const SUBSCRIBER_RULE_PREFIX = 'subscriber-';
/** An EventBridge rule name's characters; the subscriber's name becomes part of its rule's name. */
const NAME = /^[A-Za-z0-9._-]{1,64}$/;
const ENTRY_FIELDS = new Set(['name', 'handler', 'webhook', 'pattern', 'timeoutSeconds']);
/** Lambda's longest function timeout; its shortest is 1 s. */
const MAX_FUNCTION_TIMEOUT_SECONDS = 900;

/**
 * A webhook's URL, checked. Said back without its query string, which may hold a key (local/secrets.ts). One with a
 * user or password is refused: an API destination takes its credentials from a connection, not from the URL, Node's
 * fetch refuses such a URL anyway (its error quoting the password), and the start line would print it.
 */
function webhookUrl(value: string, where: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new SubscriptionsConfigError(`${where}: "${withoutUrlSecrets(value)}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new SubscriptionsConfigError(`${where}: "${withoutUrlSecrets(value)}" is not an http or https URL`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new SubscriptionsConfigError(
      `${where}: "${withoutUrlSecrets(url.href)}" carries a user or password (user:pass@): webhooks take no ` +
        'credentials in the URL (an API destination takes them from its connection)',
    );
  }
  return url.href;
}

/**
 * The rule of a webhook given in ORDER_INTAKE_WEBHOOKS: readable (host, port and path) and stable (a hash of the
 * whole URL), so that the webhook keeps its cursor across restarts and two URLs never share one.
 */
export function webhookRuleName(url: string): string {
  const { host, pathname } = new URL(url);
  const readable = `${host}${pathname}`
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  const hash = createHash('sha256').update(url).digest('hex').slice(0, 8);
  return `${WEBHOOK_RULE_PREFIX}${readable}-${hash}`;
}

/** The webhooks of ORDER_INTAKE_WEBHOOKS: a comma list of URLs, each one its own rule. */
export function parseWebhooks(value: string | undefined): Subscriber[] {
  const urls = (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
    .map((item) => webhookUrl(item, 'ORDER_INTAKE_WEBHOOKS'));
  const repeated = urls.find((url, index) => urls.indexOf(url) !== index);
  if (repeated !== undefined) {
    throw new SubscriptionsConfigError(`ORDER_INTAKE_WEBHOOKS: ${withoutUrlSecrets(repeated)} is listed twice`);
  }
  return urls.map((url) => ({
    kind: 'webhook',
    url,
    ruleName: webhookRuleName(url),
    eventPattern: orderAcceptedPattern,
  }));
}

/** OrderAccepted's pattern narrowed by an entry's own: it may add conditions, not subscribe to other events. */
function narrowedPattern(pattern: unknown, where: string): EventPattern {
  if (pattern === undefined) return orderAcceptedPattern;
  if (!isObject(pattern)) throw new SubscriptionsConfigError(`${where}: "pattern" must be an event pattern object`);
  for (const field of Object.keys(orderAcceptedPattern)) {
    if (field in pattern) {
      throw new SubscriptionsConfigError(
        `${where}: "pattern" may not set "${field}": local subscribers receive OrderAccepted, the pattern narrows it`,
      );
    }
  }
  const narrowed = { ...pattern, ...orderAcceptedPattern };
  try {
    assertSupportedPattern(narrowed);
  } catch (error) {
    throw new SubscriptionsConfigError(`${where}: ${errorMessage(error)}`);
  }
  return narrowed;
}

/** Imports `<module path>#<export>` (default export name `handler`), the path relative to the subscribers file. */
async function importHandler(reference: unknown, folder: string, where: string): Promise<SqsHandler> {
  if (typeof reference !== 'string' || reference === '' || reference.startsWith('#')) {
    throw new SubscriptionsConfigError(
      `${where}: "handler" must be "<module path>#<export>", e.g. "./audit.ts#handler"`,
    );
  }
  const hash = reference.lastIndexOf('#');
  const [path, exportName] = hash < 0 ? [reference, 'handler'] : [reference.slice(0, hash), reference.slice(hash + 1)];
  const file = resolve(folder, path);
  if (!existsSync(file)) throw new SubscriptionsConfigError(`${where}: no module at ${file}`);
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    throw new SubscriptionsConfigError(`${where}: importing ${file} failed: ${String(error)}`, { cause: error });
  }
  const handler = module[exportName];
  if (typeof handler !== 'function') {
    const exported = Object.keys(module).join(', ') || 'nothing';
    throw new SubscriptionsConfigError(`${where}: ${file} has no function "${exportName}" (it exports ${exported})`);
  }
  return handler as SqsHandler;
}

async function subscriberOf(entry: unknown, index: number, file: string): Promise<Subscriber> {
  let where = `${file}: subscriber ${index + 1}`;
  if (!isObject(entry)) throw new SubscriptionsConfigError(`${where}: must be an object`);
  if (typeof entry.name !== 'string' || !NAME.test(entry.name)) {
    throw new SubscriptionsConfigError(`${where}: "name" must be 1 to 64 of A-Z a-z 0-9 . _ -`);
  }
  where = `${file}: subscriber "${entry.name}"`;
  const unknown = Object.keys(entry).filter((field) => !ENTRY_FIELDS.has(field));
  if (unknown.length > 0) {
    throw new SubscriptionsConfigError(`${where}: unknown field ${unknown.map((field) => `"${field}"`).join(', ')}`);
  }
  if ('handler' in entry === 'webhook' in entry) {
    throw new SubscriptionsConfigError(`${where}: needs either "handler" or "webhook", not both or neither`);
  }
  const common = {
    ruleName: `${SUBSCRIBER_RULE_PREFIX}${entry.name}`,
    eventPattern: narrowedPattern(entry.pattern, where),
  };
  if ('webhook' in entry && 'timeoutSeconds' in entry) {
    throw new SubscriptionsConfigError(
      `${where}: "timeoutSeconds" is for a handler; a webhook has an API destination's fixed timeout`,
    );
  }
  if (typeof entry.webhook === 'string') return { ...common, kind: 'webhook', url: webhookUrl(entry.webhook, where) };
  if ('webhook' in entry) throw new SubscriptionsConfigError(`${where}: "webhook" must be a URL string`);
  const timeoutSeconds = entry.timeoutSeconds;
  if (
    timeoutSeconds !== undefined &&
    !(
      Number.isInteger(timeoutSeconds) &&
      Number(timeoutSeconds) >= 1 &&
      Number(timeoutSeconds) <= MAX_FUNCTION_TIMEOUT_SECONDS
    )
  ) {
    throw new SubscriptionsConfigError(
      `${where}: "timeoutSeconds" must be a whole number of seconds from 1 to ${MAX_FUNCTION_TIMEOUT_SECONDS}, as a Lambda function's timeout`,
    );
  }
  const handler = await importHandler(entry.handler, dirname(file), where);
  return {
    ...common,
    kind: 'handler',
    name: entry.name,
    handler,
    ...(typeof timeoutSeconds === 'number' && { timeoutSeconds }),
  };
}

/**
 * The subscribers of a subscribers file: a JSON array of `{"name", "handler": "./module.ts#export", "pattern"?}`
 * and `{"name", "webhook": "http://…", "pattern"?}`. Handler modules are imported now (under tsx, TypeScript too).
 */
export async function readSubscribersFile(file: string): Promise<Subscriber[]> {
  let entries: unknown;
  try {
    entries = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new SubscriptionsConfigError(`${file}: not readable as JSON: ${String(error)}`, { cause: error });
  }
  if (!Array.isArray(entries)) throw new SubscriptionsConfigError(`${file}: must be a JSON array of subscribers`);
  const subscribers: Subscriber[] = [];
  for (const [index, entry] of entries.entries()) subscribers.push(await subscriberOf(entry, index, file));
  const names = subscribers.map((subscriber) => subscriber.ruleName);
  const repeated = names.find((name, index) => names.indexOf(name) !== index);
  if (repeated !== undefined) {
    throw new SubscriptionsConfigError(`${file}: "${repeated.slice(SUBSCRIBER_RULE_PREFIX.length)}" is named twice`);
  }
  return subscribers;
}

export interface SubscriptionSettings {
  /** ORDER_INTAKE_WEBHOOKS. */
  webhooks?: string;
  /** ORDER_INTAKE_SUBSCRIBERS: a file that must exist; without it, DEFAULT_SUBSCRIBERS_FILE if there is one. */
  subscribersFile?: string;
  /** Where relative paths start and the default file is looked for; default the working folder. */
  projectDir?: string;
}

/** Every local subscriber the settings name: ORDER_INTAKE_WEBHOOKS first, then the subscribers file's. */
export async function loadSubscribers(settings: SubscriptionSettings): Promise<Subscriber[]> {
  const projectDir = settings.projectDir ?? process.cwd();
  const webhooks = parseWebhooks(settings.webhooks);
  const named = settings.subscribersFile !== undefined && settings.subscribersFile !== '';
  const file = resolve(projectDir, named ? String(settings.subscribersFile) : DEFAULT_SUBSCRIBERS_FILE);
  if (!existsSync(file)) {
    if (named) throw new SubscriptionsConfigError(`ORDER_INTAKE_SUBSCRIBERS: no file at ${file}`);
    return webhooks;
  }
  return [...webhooks, ...(await readSubscribersFile(file))];
}

/** ORDER_INTAKE_WEBHOOK_RETRY_SECONDS: how long a webhook's failing event is retried before it is dead-lettered. */
export function parseRetrySeconds(value: string | undefined, defaultSeconds: number): number {
  if (value === undefined || value === '') return defaultSeconds;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new SubscriptionsConfigError(`ORDER_INTAKE_WEBHOOK_RETRY_SECONDS must be a number of seconds, not ${value}`);
  }
  return seconds;
}

/**
 * A subscriber no longer configured is a rule deleted: its cursor goes, so that configured again it starts from new
 * events, as a re-created EventBridge rule does, rather than with everything published meanwhile. Its attempts
 * and dead letters stay.
 */
export function forgetRemovedSubscribers(db: DatabaseSync, subscribers: readonly Subscriber[]): void {
  const current = new Set(subscribers.map((subscriber) => subscriber.ruleName));
  const subscriberRules = cursorRuleNames(db).filter(
    (rule) => rule.startsWith(WEBHOOK_RULE_PREFIX) || rule.startsWith(SUBSCRIBER_RULE_PREFIX),
  );
  for (const rule of subscriberRules) if (!current.has(rule)) deleteCursor(db, rule);
}
