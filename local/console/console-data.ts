/**
 * What the ops console reads, hop by hop, gathered into one timeline: the HTTP exchanges and executions (the
 * console store), the stored items (GetItem on the local table), the bus's events with their publisher and every
 * delivery attempt (the event log), the archive object (the archive folder) and the dead letters. Read on demand,
 * when a page is asked for: nothing here runs on the request path of the API.
 */
import { readFile, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { archiveKeyOf } from '../../src/archive/archive-order.js';
import { describeError, isObject } from '../../src/json-value.js';
import { idempotencyLockKey, orderKey, ORDERS_TABLE } from '../../src/store/orders-table.js';
import type { HttpExchange } from '../apigateway/server.js';
import {
  attemptsOf,
  describeOrigin,
  eventsOfOrder,
  listDeadLetters,
  type DeadLetter,
  type DeliveryAttempt,
  type PublishedEvent,
} from '../eventbridge/events-database.js';
import { PUBLISHERS } from '../eventbridge/local-event-bus.js';
import type { RecordedExecution } from '../stepfunctions/execution-history.js';
import { redactHeaders } from '../secrets.js';
import type { ConsoleStore, ExecutionSummary } from './console-store.js';
import { stateAnchor } from './state-graph.js';

export type Hop = 'http' | 'execution' | 'state' | 'store' | 'bus' | 'delivery' | 'archive' | 'dead-letter';

export interface TimelineEntry {
  /** Epoch ms. */
  at: number;
  hop: Hop;
  title: string;
  /** ok: as it should be; warn: a retry, a duplicate; error: a failure, a dead letter. */
  tone?: 'ok' | 'warn' | 'error';
  /** A console page about this entry. */
  link?: string;
  /** The entry's id on its page (a state's first visit: the state graph links to it). */
  anchor?: string;
  details: { label: string; value: unknown }[];
}

export interface ConsoleDataOptions {
  store: ConsoleStore;
  /** The local bus's event log. */
  events: DatabaseSync;
  dynamodb: DynamoDBClient;
  tableName: string;
  archiveDir: string;
}

const PUBLISHER_NAMES: Record<string, string> = {
  [PUBLISHERS.workflow]: 'the workflow’s Publish state (fast path)',
  [PUBLISHERS.relay]: 'the outbox relay (from the table’s stream)',
};
export const publisherName = (publishedBy: string | undefined): string =>
  publishedBy === undefined ? 'a publisher not recorded' : (PUBLISHER_NAMES[publishedBy] ?? publishedBy);

/** The request body as API Gateway's request template passed it: base64 of the raw bytes. */
const decodedBody = (base64: string): string => Buffer.from(base64, 'base64').toString('utf8');

const pathOfKey = (path: string, key: string): string =>
  /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;

/**
 * What a state changed: each JSONPath whose value was added, removed or changed from its input to its output, the
 * deepest object that differs (arrays and other values are compared whole). Empty when the output is the input.
 */
export function changesOf(input: unknown, output: unknown, path = '$'): Record<string, unknown> {
  if (isObject(input) && isObject(output)) {
    const changes: Record<string, unknown> = {};
    for (const key of new Set([...Object.keys(input), ...Object.keys(output)])) {
      const at = pathOfKey(path, key);
      if (!(key in output)) changes[`removed ${at}`] = input[key];
      else if (!(key in input)) changes[`added ${at}`] = output[key];
      else Object.assign(changes, changesOf(input[key], output[key], at));
    }
    return changes;
  }
  return JSON.stringify(input) === JSON.stringify(output) ? {} : { [`changed ${path}`]: { from: input, to: output } };
}

/** The execution's path through the state graph, and each state visit with its input and what it changed. */
export function stateVisits(execution: RecordedExecution): TimelineEntry[] {
  const entries: TimelineEntry[] = [];
  const open = new Map<string, TimelineEntry>();
  const anchored = new Set<string>();
  const inputs = new Map<string, unknown>();
  for (const event of execution.events) {
    switch (event.type) {
      case 'ExecutionStarted':
        entries.push({
          at: event.timestamp,
          hop: 'execution',
          title: `execution started: ${execution.name}`,
          link: `/console/executions/${encodeURIComponent(execution.name)}`,
          details: [
            { label: 'input', value: event.input },
            ...(isObject(event.input) && typeof event.input.body === 'string'
              ? [{ label: 'input body, decoded from base64', value: decodedBody(event.input.body) }]
              : []),
          ],
        });
        break;
      case 'ExecutionSucceeded':
        entries.push({
          at: event.timestamp,
          hop: 'execution',
          title: 'execution succeeded',
          tone: 'ok',
          details: [{ label: 'output', value: event.output }],
        });
        break;
      case 'ExecutionFailed':
        entries.push({
          at: event.timestamp,
          hop: 'execution',
          title: `execution failed: ${event.Error}`,
          tone: 'error',
          details: [{ label: 'cause', value: event.Cause }],
        });
        break;
      case 'StateEntered': {
        const entry: TimelineEntry = {
          at: event.timestamp,
          hop: 'state',
          title: `${event.state.name} (${event.state.type})`,
          ...(anchored.has(event.state.name) ? {} : { anchor: stateAnchor(event.state.name) }),
          details: [{ label: 'input', value: event.state.input }],
        };
        anchored.add(event.state.name);
        inputs.set(event.state.name, event.state.input);
        open.set(event.state.name, entry);
        entries.push(entry);
        break;
      }
      case 'StateExited': {
        const entry = open.get(event.state.name);
        open.delete(event.state.name);
        if (!entry) break;
        entry.title += ` — ${event.timestamp - entry.at} ms`;
        // The output in full is the next state's input: here, only what this state changed.
        const changes = changesOf(inputs.get(event.state.name), event.state.output);
        entry.details.push(
          Object.keys(changes).length === 0
            ? { label: 'output: the input, unchanged', value: '(no change)' }
            : { label: `output: ${Object.keys(changes).length} change(s) from the input`, value: changes },
        );
        break;
      }
      case 'StateRetried':
        entries.push({
          at: event.timestamp,
          hop: 'state',
          title: `${event.state.name} retried (attempt ${event.retry.attempt})`,
          tone: 'warn',
          details: [],
        });
        break;
      case 'StateFailed':
        entries.push({
          at: event.timestamp,
          hop: 'state',
          title: `${event.state.name} failed: ${event.Error}`,
          tone: 'error',
          details: [{ label: 'cause', value: event.Cause }],
        });
        break;
      case 'StateCaught':
        entries.push({
          at: event.timestamp,
          hop: 'state',
          title: `${event.state.name}: error caught`,
          tone: 'warn',
          details: [],
        });
        break;
      default:
        break;
    }
  }
  if (execution.status === 'TIMED_OUT') {
    entries.push({
      at: execution.stoppedAt,
      hop: 'execution',
      title: 'execution timed out',
      tone: 'error',
      details: [],
    });
  }
  return entries;
}

/** The state names an execution entered, in order. */
export const pathOf = (execution: RecordedExecution): string[] =>
  execution.events.flatMap((event) => (event.type === 'StateEntered' ? [event.state.name] : []));

/** Headers are redacted again as shown: an exchange recorded by an older version may carry a secret. */
export function exchangeEntries(exchange: HttpExchange): TimelineEntry[] {
  return [
    {
      at: exchange.startedAt,
      hop: 'http',
      title: `${exchange.method} ${exchange.path}`,
      details: [
        { label: 'request headers', value: redactHeaders(exchange.requestHeaders) },
        { label: 'request body', value: exchange.requestBody },
      ],
    },
    {
      at: exchange.startedAt + exchange.durationMs,
      hop: 'http',
      title: `answered ${exchange.status} in ${exchange.durationMs} ms`,
      tone: exchange.status < 300 ? 'ok' : exchange.status < 500 ? 'warn' : 'error',
      details: [
        { label: 'response headers', value: redactHeaders(exchange.responseHeaders) },
        { label: 'response body', value: exchange.responseBody },
      ],
    },
  ];
}

/** One execution's hops: the HTTP exchange (if recorded) and its states. */
export function executionTimeline(store: ConsoleStore, name: string): TimelineEntry[] {
  const execution = store.execution(name);
  const exchange = store.exchange(name);
  return byTime([...(exchange ? exchangeEntries(exchange) : []), ...(execution ? stateVisits(execution) : [])]);
}

const byTime = (entries: TimelineEntry[]): TimelineEntry[] =>
  entries
    .map((entry, index) => ({ entry, index }))
    .sort((a, b) => a.entry.at - b.entry.at || a.index - b.index)
    .map(({ entry }) => entry);

export interface OrderView {
  orderId: string;
  executions: ExecutionSummary[];
  timeline: TimelineEntry[];
  events: PublishedEvent[];
  deadLetters: DeadLetter[];
}

export class ConsoleData {
  constructor(private readonly options: ConsoleDataOptions) {}

  get store(): ConsoleStore {
    return this.options.store;
  }

  /** Every OrderAccepted (or any event) on the bus whose detail names the order, oldest first. */
  busEvents(orderId: string): PublishedEvent[] {
    return eventsOfOrder(this.options.events, orderId);
  }

  deliveryAttempts(eventIds: readonly string[]): DeliveryAttempt[] {
    return attemptsOf(this.options.events, eventIds);
  }

  deadLetters(containing?: string): DeadLetter[] {
    return listDeadLetters(this.options.events, containing === undefined ? {} : { containing });
  }

  /** The order and every hop it took, or undefined when nothing anywhere knows the order. */
  async order(orderId: string): Promise<OrderView | undefined> {
    const executions = this.store.executions({ orderId, limit: 50 }).reverse();
    const events = this.busEvents(orderId);
    const deadLetters = this.deadLetters(orderId);
    const item = await this.getItem(orderKey(orderId));
    if (executions.length === 0 && events.length === 0 && item.value === undefined && deadLetters.length === 0) {
      return undefined;
    }
    const entries: TimelineEntry[] = executions.flatMap((summary) => executionTimeline(this.store, summary.name));

    const order = isObject(item.value) ? item.value : undefined;
    const acceptedAt = typeof order?.acceptedAt === 'string' ? order.acceptedAt : undefined;
    const idempotencyKey =
      typeof order?.idempotencyKey === 'string'
        ? order.idempotencyKey
        : executions.find((summary) => summary.idempotencyKey)?.idempotencyKey;
    // The items are shown where the workflow's Persist state wrote them (or at acceptance, if not recorded).
    const storedAt = this.persistedAt(executions) ?? (acceptedAt ? Date.parse(acceptedAt) : Date.now());
    entries.push(this.itemEntry(orderKey(orderId), item, storedAt));
    if (idempotencyKey) {
      const lock = await this.getItem(idempotencyLockKey(idempotencyKey));
      entries.push(this.itemEntry(idempotencyLockKey(idempotencyKey), lock, storedAt));
    }

    for (const event of events) {
      const relayed = event.publishedBy === PUBLISHERS.relay;
      entries.push({
        at: event.publishedAt,
        hop: 'bus',
        title: `${event.envelope['detail-type']} ${event.envelope.id} published by ${publisherName(event.publishedBy)}`,
        tone: 'ok',
        details: [
          ...(relayed
            ? [{ label: 'stream record', value: 'read from the table’s stream and relayed to the bus' }]
            : []),
          { label: 'event', value: event.envelope },
        ],
      });
    }
    for (const attempt of this.deliveryAttempts(events.map((event) => event.envelope.id))) {
      entries.push({
        at: Date.parse(attempt.startedAt),
        hop: 'delivery',
        title:
          `${attempt.ruleName}: ${attempt.outcome} (event ${attempt.eventId}, attempt ${attempt.attempt}, ` +
          `${attempt.durationMs} ms)${attempt.detail ? ` — ${attempt.detail}` : ''}`,
        tone: attempt.outcome === 'delivered' ? 'ok' : attempt.outcome === 'failed' ? 'warn' : 'error',
        details: [],
      });
    }
    if (acceptedAt) entries.push(await this.archiveEntry(orderId, acceptedAt));
    for (const letter of deadLetters) {
      entries.push({
        at: Date.parse(letter.failedAt),
        hop: 'dead-letter',
        title: `dead letter ${letter.id} (${describeOrigin(letter.origin)}): ${letter.reason}`,
        tone: 'error',
        link: `/console/dead-letters/${letter.id}`,
        details: [],
      });
    }
    return { orderId, executions, timeline: byTime(entries), events, deadLetters };
  }

  private persistedAt(executions: ExecutionSummary[]): number | undefined {
    for (const summary of executions) {
      if (summary.outcome !== 'accepted') continue;
      const exited = this.store
        .execution(summary.name)
        ?.events.findLast((event) => event.type === 'StateExited' && event.state.name === 'Persist');
      if (exited) return exited.timestamp;
    }
    return undefined;
  }

  private async getItem(pk: string): Promise<{ value?: Record<string, unknown>; error?: string }> {
    try {
      const { Item } = await this.options.dynamodb.send(
        new GetItemCommand({
          TableName: this.options.tableName,
          Key: { [ORDERS_TABLE.partitionKey]: { S: pk } },
          ConsistentRead: true,
        }),
      );
      return Item ? { value: unmarshall(Item) } : {};
    } catch (error) {
      return { error: describeError(error) };
    }
  }

  private itemEntry(pk: string, item: { value?: Record<string, unknown>; error?: string }, at: number): TimelineEntry {
    if (item.error) {
      return { at, hop: 'store', title: `item ${pk}: not read (${item.error})`, tone: 'error', details: [] };
    }
    if (!item.value) {
      const why = pk.startsWith(ORDERS_TABLE.idempotencyKeyPrefix) ? ' (the lock expired and was removed)' : '';
      return { at, hop: 'store', title: `item ${pk}: not in the table${why}`, tone: 'warn', details: [] };
    }
    const expiresAt = item.value[ORDERS_TABLE.timeToLiveAttribute];
    const expiry =
      typeof expiresAt === 'number'
        ? `; ${expiresAt * 1000 < Date.now() ? 'expired' : 'expires'} at ${new Date(expiresAt * 1000).toISOString()}`
        : '';
    return {
      at,
      hop: 'store',
      title: `item ${pk} stored${expiry}`,
      tone: 'ok',
      details: [{ label: 'item (GetItem, consistent read)', value: item.value }],
    };
  }

  private async archiveEntry(orderId: string, acceptedAt: string): Promise<TimelineEntry> {
    const key = archiveKeyOf({ orderId, acceptedAt });
    const root = resolve(this.options.archiveDir);
    const file = resolve(join(root, key));
    if (!file.startsWith(root + sep)) {
      return { at: Date.now(), hop: 'archive', title: `archive object ${key}: outside the archive`, details: [] };
    }
    try {
      const [body, info] = await Promise.all([readFile(file, 'utf8'), stat(file)]);
      return {
        at: info.mtimeMs,
        hop: 'archive',
        title: `archive object ${key} written`,
        tone: 'ok',
        details: [{ label: file, value: body }],
      };
    } catch {
      return {
        at: Date.now(),
        hop: 'archive',
        title: `archive object ${key}: not written (yet)`,
        tone: 'warn',
        details: [],
      };
    }
  }
}
