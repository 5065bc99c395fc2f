/**
 * The ops console's pages, rendered on the server. Every value goes through `html`, which escapes it: order and
 * request data are shown as text, never as markup. The pages carry no inline script or style (the
 * Content-Security-Policy forbids both); the live list and the rest of the behaviour are /console/assets/console.js.
 */
import { isObject } from '../../src/json-value.js';
import {
  describeOrigin,
  type DeadLetter,
  type DeliveryAttempt,
  type RedriveResult,
} from '../eventbridge/events-database.js';
import type { RecordedExecution } from '../stepfunctions/execution-history.js';
import type { HttpExchange } from '../apigateway/server.js';
import type { ExecutionStats, MinuteStats } from './console-stats.js';
import {
  OUTCOMES,
  type ConsoleAction,
  type ExecutionFilter,
  type ExecutionPage,
  type ExecutionSummary,
} from './console-store.js';
import { pathOf, publisherName, type OrderView, type TimelineEntry } from './console-data.js';
import { html, prettyJson, type SafeHtml } from './html.js';
import { describeGroup, groupOf, isOfRemovedRule, type LetterGroup } from './dead-letter-actions.js';
import { stateAnchor, stateGraphSvg, type StateMachineDefinition } from './state-graph.js';

export const STATUSES = ['SUCCEEDED', 'FAILED', 'TIMED_OUT'] as const;

const time = (at: number): string => (Number.isFinite(at) ? new Date(at).toISOString() : '');

/** How long ago, in the largest unit that makes it short ("4 min ago"), for a person scanning a list. */
export function ago(at: number, now = Date.now()): string {
  const seconds = Math.round((now - at) / 1000);
  if (!Number.isFinite(seconds)) return '';
  if (seconds < 0) return 'in the future';
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min ago`;
  return `${Math.floor(seconds / 86_400)} d ago`;
}

/** A time as ISO (exact, for logs and searches) with how long ago beside it. */
const when = (at: number): SafeHtml =>
  html`<time datetime="${time(at)}">${time(at)}</time> <small class="ago">${ago(at)}</small>`;

function layout(title: string, main: SafeHtml): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} — Order Intake console</title>
        <link rel="stylesheet" href="/console/assets/console.css" />
        <script src="/console/assets/console.js" defer></script>
      </head>
      <body>
        <header>
          <nav><a href="/console">Executions</a> <a href="/console/dead-letters">Dead letters</a></nav>
          <span class="service">Order Intake — local ops console</span>
        </header>
        <main>${main}</main>
      </body>
    </html> `.markup;
}

/** Where a request id leads when it has an order: the order's page (the execution page links it too). */
export const rowLink = (summary: Pick<ExecutionSummary, 'name' | 'orderId'>): string =>
  summary.orderId ? orderPath(summary.orderId) : executionPath(summary.name);

export const executionPath = (name: string): string => `/console/executions/${encodeURIComponent(name)}`;
export const orderPath = (orderId: string): string => `/console/orders/${encodeURIComponent(orderId)}`;

const summaryRow = (summary: ExecutionSummary): SafeHtml =>
  html`<tr data-name="${summary.name}">
    <td>${when(summary.startedAt)}</td>
    <td><a class="open" href="${executionPath(summary.name)}">${summary.name}</a></td>
    <td>${summary.status}</td>
    <td class="outcome-${summary.outcome}">${summary.outcome}</td>
    <td class="http">${summary.httpStatus ?? ''}</td>
    <td>
      ${summary.orderId ? html`<a class="order" href="${orderPath(summary.orderId)}">${summary.orderId}</a>` : ''}
    </td>
    <td>${summary.customerId ?? ''}</td>
    <td class="number">${summary.durationMs} ms</td>
  </tr>`;

const option = (value: string, selected: string | undefined, label = value): SafeHtml =>
  html`<option value="${value}" ${selected === value ? html` selected` : ''}>${label}</option>`;

/** A time for a datetime-local input, in UTC as the form says. */
const localInput = (at: number | undefined): string =>
  at === undefined ? '' : new Date(at).toISOString().slice(0, 19);

/** The list's own address with some parameters changed (undefined removes one). */
function listHref(query: URLSearchParams, changes: Record<string, string | undefined>): string {
  const next = new URLSearchParams(query);
  for (const [name, value] of Object.entries(changes)) {
    if (value === undefined) next.delete(name);
    else next.set(name, value);
  }
  const text = next.toString();
  return text ? `/console?${text}` : '/console';
}

const RANGES = [
  ['last 15 min', 15 * 60_000],
  ['last hour', 60 * 60_000],
  ['last day', 24 * 60 * 60_000],
] as const;

const gatewayTable = (exchanges: HttpExchange[]): SafeHtml =>
  html`<h2>Answered by API Gateway itself (no execution)</h2>
    <div class="scroll">
      <table id="gateway-exchanges">
        <thead>
          <tr>
            <th>Started (UTC)</th>
            <th>Request id</th>
            <th>Request</th>
            <th>HTTP</th>
          </tr>
        </thead>
        <tbody>
          ${exchanges.map(
            (exchange) =>
              html`<tr>
                <td>${when(exchange.startedAt)}</td>
                <td><a href="${executionPath(exchange.requestId)}">${exchange.requestId}</a></td>
                <td>${exchange.method} ${exchange.path}</td>
                <td class="http">${exchange.status}</td>
              </tr>`,
          )}
        </tbody>
      </table>
    </div>`;

const ms = (value: number | undefined): string =>
  value === undefined ? '—' : Number.isFinite(value) ? `≤ ${value} ms` : '> 60 s';

/** The last hour minute by minute: one bar a minute, stacked by outcome, drawn on the server. */
function minuteChart(minutes: MinuteStats[]): SafeHtml {
  const barWidth = 8;
  const gap = 2;
  const height = 60;
  const highest = Math.max(1, ...minutes.map((minute) => Object.values(minute.byOutcome).reduce((a, b) => a + b, 0)));
  const bars = minutes.map((minute, index) => {
    const x = index * (barWidth + gap);
    let top = height;
    const segments = OUTCOMES.flatMap((outcome) => {
      const count = minute.byOutcome[outcome];
      if (count === 0) return [];
      const segment = (count / highest) * height;
      top -= segment;
      return [
        html`<rect
          class="bar-${outcome}"
          x="${x}"
          y="${top.toFixed(1)}"
          width="${barWidth}"
          height="${segment.toFixed(1)}"
        />`,
      ];
    });
    const described = OUTCOMES.filter((outcome) => minute.byOutcome[outcome] > 0)
      .map((outcome) => `${minute.byOutcome[outcome]} ${outcome}`)
      .join(', ');
    return html`<g data-minute="${time(minute.at)}">
      <title>${time(minute.at).slice(11, 16)} UTC: ${described || 'none'}</title>
      <rect class="slot" x="${x}" y="0" width="${barWidth}" height="${height}" />${segments}
    </g>`;
  });
  const width = minutes.length * (barWidth + gap) - gap;
  return html`<svg
    id="minute-chart"
    class="minute-chart"
    xmlns="http://www.w3.org/2000/svg"
    viewBox="0 0 ${width} ${height}"
    width="${width * 1.5}"
    height="${height * 1.5}"
    role="img"
    aria-label="Executions per minute, the last hour, by outcome (highest: ${highest})"
  >
    ${bars}
  </svg>`;
}

/** At the top of the list: what the last 15 minutes, hour and day looked like (every execution, no filter). */
function statsPanel(stats: ExecutionStats): SafeHtml {
  return html`<section class="stats">
    <div class="scroll">
      <table id="stats">
        <thead>
          <tr>
            <th></th>
            <th>all</th>
            ${OUTCOMES.map((outcome) => html`<th class="outcome-${outcome}">${outcome}</th>`)}
            <th>p50</th>
            <th>p95</th>
          </tr>
        </thead>
        <tbody>
          ${stats.windows.map(
            (window) =>
              html`<tr data-window="${window.label}">
                <th>${window.label}</th>
                <td class="number">${window.total}</td>
                ${OUTCOMES.map(
                  (outcome) =>
                    html`<td class="number outcome-${outcome}" data-outcome="${outcome}">
                      ${window.byOutcome[outcome]}
                    </td>`,
                )}
                <td class="number">${ms(window.p50)}</td>
                <td class="number">${ms(window.p95)}</td>
              </tr>`,
          )}
        </tbody>
      </table>
    </div>
    <figure>
      ${minuteChart(stats.minutes)}
      <figcaption>Executions per minute, the last hour (UTC), by outcome.</figcaption>
    </figure>
  </section>`;
}

export function listPage(
  page: ExecutionPage,
  filter: ExecutionFilter,
  query: URLSearchParams,
  liveUrl: string | undefined,
  gateway: HttpExchange[],
  stats: ExecutionStats,
): string {
  const summaries = page.executions;
  const filtered = Boolean(filter.search || filter.status || filter.outcome || filter.from || filter.to);
  const now = Date.now();
  return layout(
    'Executions',
    html`<h1>Executions</h1>
      ${statsPanel(stats)}
      <form class="filters" method="get" action="/console">
        <label
          >Status
          <select name="status">
            ${option('', filter.status, 'any')}${STATUSES.map((status) => option(status, filter.status))}
          </select></label
        >
        <label
          >Outcome
          <select name="outcome">
            ${option('', filter.outcome, 'any')}${OUTCOMES.map((outcome) => option(outcome, filter.outcome))}
          </select></label
        >
        <label
          >Search
          <input
            type="search"
            name="q"
            value="${filter.search ?? ''}"
            placeholder="start of orderId, requestId, idempotency key, customerId, clientReference or client key"
            size="40"
        /></label>
        <label
          >From (UTC) <input type="datetime-local" step="1" name="from" value="${localInput(filter.from)}"
        /></label>
        <label>To (UTC) <input type="datetime-local" step="1" name="to" value="${localInput(filter.to)}" /></label>
        <button type="submit">Filter</button> <a href="/console">clear</a>
      </form>
      <p class="ranges">
        ${RANGES.map(
          ([label, span]) =>
            html`<a
              href="${listHref(query, { from: new Date(now - span).toISOString(), to: undefined, before: undefined })}"
              >${label}</a
            > `,
        )}
      </p>
      <p id="total" class="total">
        <strong>${page.total}</strong> execution${page.total === 1 ? '' : 's'}
        ${filtered ? 'match' : 'recorded'}${filter.before === undefined ? '' : '; an older page'}.
        ${page.total > summaries.length ? html`Showing ${summaries.length}, newest first.` : ''}
      </p>
      ${liveUrl ? html`<p id="live-status" class="live" data-live="${liveUrl}">Live: connecting…</p>` : ''}
      <div class="scroll">
        <table id="executions">
          <thead>
            <tr>
              <th>Started (UTC)</th>
              <th>Request id</th>
              <th>Status</th>
              <th>Outcome</th>
              <th>HTTP</th>
              <th>orderId</th>
              <th>customerId</th>
              <th>Duration</th>
            </tr>
          </thead>
          <tbody>
            ${summaries.map(summaryRow)}
          </tbody>
        </table>
      </div>
      <nav class="paging">
        ${filter.before === undefined ? '' : html`<a href="${listHref(query, { before: undefined })}">Newest</a>`}
        ${page.next === undefined ? '' : html`<a rel="next" class="older" href="${listHref(query, { before: String(page.next) })}">Older →</a>`}
      </nav>
      ${summaries.length === 0 ? html`<p class="empty">No execution ${filtered ? 'matches' : 'yet'}.</p>` : ''}
      ${gateway.length > 0 ? gatewayTable(gateway) : ''}`,
  );
}

function detailsOf(entry: TimelineEntry): SafeHtml[] {
  return entry.details.map(
    ({ label, value }) =>
      html`<details>
        <summary>${label}</summary>
        <pre>${prettyJson(value)}</pre>
      </details>`,
  );
}

function timeline(entries: TimelineEntry[]): SafeHtml {
  const first = entries[0]?.at ?? 0;
  return html`<ol class="timeline">
    ${entries.map(
      (entry) =>
        html`<li
          class="hop-${entry.hop} tone-${entry.tone ?? 'plain'}"
          ${entry.anchor ? html`id="${entry.anchor}"` : ''}
        >
          <time>${time(entry.at)}</time> <span class="offset">+${Math.round(entry.at - first)} ms</span>
          <span class="hop">${entry.hop}</span>
          <span class="title">${entry.link ? html`<a href="${entry.link}">${entry.title}</a>` : entry.title}</span>
          ${detailsOf(entry)}
        </li>`,
    )}
  </ol>`;
}

const statePath = (execution: RecordedExecution): SafeHtml =>
  html`<ol class="path">
    ${pathOf(execution).map((state) => html`<li>${state}</li>`)}
  </ol>`;

function summaryList(summary: ExecutionSummary): SafeHtml {
  return html`<dl class="summary">
    <dt>Status</dt>
    <dd>${summary.status}</dd>
    <dt>Outcome</dt>
    <dd class="outcome-${summary.outcome}">${summary.outcome}</dd>
    <dt>HTTP answer</dt>
    <dd>${summary.httpStatus ?? '—'}</dd>
    <dt>orderId</dt>
    <dd>${summary.orderId ? html`<a href="${rowLink(summary)}">${summary.orderId}</a>` : '—'}</dd>
    <dt>Idempotency key</dt>
    <dd>${summary.idempotencyKey ?? '—'}</dd>
    <dt>Client key (<code>Idempotency-Key</code>)</dt>
    <dd class="client-key">${summary.clientKey ?? '—'}</dd>
    <dt>Started</dt>
    <dd>${when(summary.startedAt)}</dd>
    <dt>Duration</dt>
    <dd>${summary.durationMs} ms</dd>
  </dl>`;
}

/** What went wrong and what the client got, for an execution that did not succeed: the first thing on its page. */
export interface Failure {
  error: string;
  cause: string;
  /** The state whose failure ended the execution (for a timeout, the last one entered). */
  state: string | undefined;
}

export function failureOf(execution: RecordedExecution): Failure | undefined {
  if (execution.status === 'SUCCEEDED') return undefined;
  const text = (value: unknown): string => (typeof value === 'string' ? value : prettyJson(value));
  const ended = execution.events.findLast((event) => event.type === 'ExecutionFailed');
  // The state that failed first and was not followed by a successful one: where the trouble started.
  const failedStates = execution.events.filter((event) => event.type === 'StateFailed');
  const origin = failedStates.find((event) => text(event.Cause) === text(ended?.Cause)) ?? failedStates[0];
  if (execution.status === 'TIMED_OUT') {
    const last = execution.events.findLast((event) => event.type === 'StateEntered');
    return {
      error: 'States.Timeout',
      cause: `The execution ran out of time after ${execution.stoppedAt - execution.startedAt} ms${last ? ` in ${last.state.name}` : ''}.`,
      state: last?.state.name,
    };
  }
  return {
    error: ended?.Error ?? origin?.Error ?? 'unknown',
    cause: text(ended?.Cause ?? origin?.Cause ?? ''),
    state: origin?.state.name,
  };
}

function failureBanner(failure: Failure, summary: ExecutionSummary, exchange: HttpExchange | undefined): SafeHtml {
  const status = exchange?.status ?? summary.httpStatus;
  return html`<section class="banner failure" role="alert">
    <h2>${summary.status}: ${failure.error}</h2>
    <p class="cause">${failure.cause}</p>
    ${failure.state ? html`<p>Failed in state <a href="#${stateAnchor(failure.state)}">${failure.state}</a>.</p>` : ''}
    <p class="client-answer">
      The client got <strong>HTTP ${status ?? '(unknown)'}</strong>
      ${exchange ? html`: <code>${exchange.responseBody}</code>` : ' (from the response template; the exchange is not recorded)'}
    </p>
  </section>`;
}

export interface ExecutionContext {
  definition: StateMachineDefinition;
  exchange: HttpExchange | undefined;
  /** Whether its request may be sent again (failed, rejected or unavailable, with the request recorded). */
  canSendAgain?: boolean;
}

const sendAgainPath = (name: string): string => `${executionPath(name)}/send-again`;

/** The question asked before a request is sent again, with what it will send. */
export function sendAgainPage(summary: ExecutionSummary, exchange: HttpExchange): string {
  return layout(
    'Send again',
    html`<h1>Send request <code>${summary.name}</code> again?</h1>
      <p>
        The console will send this ${summary.outcome} request to the API again, as a <strong>new request</strong> with
        its own request id, labelled with the header <code>X-Console-Sent-Again-From: ${summary.name}</code>. It is read
        as any request is: the same validation and the same idempotency rules (the same body is the same order: if an
        earlier one was accepted, this one is a duplicate). Use it to reproduce a failure.
      </p>
      <pre>
${exchange.method} ${exchange.path}

${prettyJson(exchange.requestBody)}</pre>
      ${postForm(`${sendAgainPath(summary.name)}?confirm=yes`, 'Yes, send it again', 'confirm-send-again')}
      <p><a href="${executionPath(summary.name)}">No, back to the execution</a></p>`,
  );
}

export function executionPage(
  summary: ExecutionSummary,
  execution: RecordedExecution | undefined,
  entries: TimelineEntry[],
  context: ExecutionContext,
): string {
  const history = `/console/executions/${encodeURIComponent(summary.name)}/history.json`;
  const failure = execution ? failureOf(execution) : undefined;
  return layout(
    `Execution ${summary.name}`,
    html`${failure ? failureBanner(failure, summary, context.exchange) : ''}
      <h1>Execution <code>${summary.name}</code></h1>
      ${summaryList(summary)}
      ${context.canSendAgain ? html`<p><a class="send-again" href="${sendAgainPath(summary.name)}">Send this request again…</a></p>` : ''}
      ${
        execution
          ? html`<h2>State graph</h2>
              <p class="note">
                The path taken is drawn bold; ×n: entered n times; ↻n: retried n times; red: the state that failed. A
                state opens its input and what it changed below. <a href="/console/definition">The definition</a>
              </p>
              <div class="scroll graph">${stateGraphSvg(context.definition, execution)}</div>
              <h2>Path through the state graph</h2>
              ${statePath(execution)}`
          : ''
      }
      <p><a href="${history}" download>Export the execution history (GetExecutionHistory JSON)</a></p>
      <h2>Timeline</h2>
      ${timeline(entries)}`,
  );
}

export function definitionPage(definition: StateMachineDefinition): string {
  return layout(
    'Definition',
    html`<h1>The workflow’s definition</h1>
      <p class="note">
        The state machine the service runs, as Amazon States Language (asl/order-intake.asl.json with this run’s
        resources), the same text deployed to Step Functions.
      </p>
      <div class="scroll graph">${stateGraphSvg(definition)}</div>
      <h2>ASL</h2>
      <pre id="definition">${prettyJson(definition)}</pre>`,
  );
}

export function exchangePage(exchange: HttpExchange, entries: TimelineEntry[]): string {
  return layout(
    `Request ${exchange.requestId}`,
    html`<h1>Request <code>${exchange.requestId}</code></h1>
      <p>API Gateway answered this request itself, before any workflow: no execution was started.</p>
      <dl class="summary">
        <dt>Request</dt>
        <dd>${exchange.method} ${exchange.path}</dd>
        <dt>HTTP answer</dt>
        <dd>${exchange.status}</dd>
        <dt>Started</dt>
        <dd>${when(exchange.startedAt)}</dd>
      </dl>
      <h2>Timeline</h2>
      ${timeline(entries)}`,
  );
}

export function orderPage(view: OrderView, executions: Map<string, RecordedExecution | undefined>): string {
  const publishers = view.events.map((event) => publisherName(event.publishedBy));
  return layout(
    `Order ${view.orderId}`,
    html`<h1>Order <code>${view.orderId}</code></h1>
      <h2>Executions</h2>
      <table class="executions-of-order">
        <thead>
          <tr>
            <th>Started (UTC)</th>
            <th>Request id</th>
            <th>Outcome</th>
            <th>HTTP</th>
            <th>Client key</th>
            <th>Path through the state graph</th>
          </tr>
        </thead>
        <tbody>
          ${view.executions.map((summary) => {
            const execution = executions.get(summary.name);
            return html`<tr>
              <td>${when(summary.startedAt)}</td>
              <td><a href="/console/executions/${encodeURIComponent(summary.name)}">${summary.name}</a></td>
              <td class="outcome-${summary.outcome}">${summary.outcome}</td>
              <td>${summary.httpStatus ?? ''}</td>
              <td class="client-key">${summary.clientKey ?? ''}</td>
              <td>${execution ? statePath(execution) : ''}</td>
            </tr>`;
          })}
        </tbody>
      </table>
      <h2>OrderAccepted on the bus</h2>
      <p>
        ${view.events.length === 0 ? 'None yet.' : html`${view.events.length} event(s): ${publishers.map((name, index) => html`${index > 0 ? '; ' : ''}${name}`)}.`}
        Consumers dedupe on <code>detail.orderId</code>.
      </p>
      ${view.deadLetters.length > 0 ? html`<p class="tone-error">${view.deadLetters.length} dead letter(s): ${view.deadLetters.map((letter) => html`<a href="/console/dead-letters/${letter.id}">#${letter.id}</a> `)}</p>` : ''}
      <h2>Timeline</h2>
      ${timeline(view.timeline)}`,
  );
}

/** The orderId a dead letter is about: an event's detail, or a stream record's new image. */
export function orderIdOfLetter(letter: DeadLetter): string | undefined {
  try {
    const payload: unknown = JSON.parse(letter.payload);
    if (!isObject(payload)) return undefined;
    if (isObject(payload.detail) && typeof payload.detail.orderId === 'string') return payload.detail.orderId;
    const image = isObject(payload.dynamodb) ? payload.dynamodb.NewImage : undefined;
    const orderId = isObject(image) && isObject(image.orderId) ? image.orderId.S : undefined;
    return typeof orderId === 'string' ? orderId : undefined;
  } catch {
    return undefined;
  }
}

const redriveForm = (action: string, label: string): SafeHtml =>
  html`<form class="redrive" method="post" action="${action}"><button type="submit">${label}</button></form>`;

const REDRIVE_IS_SAFE = html`<p class="note">
  Redrive is safe: every consumer is idempotent (each dedupes on <code>detail.orderId</code>; the archive creates each
  object once), so an event delivered again changes nothing that was already done. A bus event (<code>rule:…</code>)
  goes again to its rule's target, as one more recorded delivery attempt; a stream record (<code>stream:…</code>) goes
  again through the outbox relay handler. A dead letter is removed once it is delivered, and stays when the redrive
  fails.
</p>`;

const letterLink = (letter: DeadLetter): SafeHtml =>
  html`<a href="/console/dead-letters/${letter.id}">#${letter.id}</a>`;

const orderLink = (orderId: string | undefined): SafeHtml | string =>
  orderId ? html`<a href="/console/orders/${encodeURIComponent(orderId)}">${orderId}</a>` : '—';

const postForm = (action: string, label: string, className = 'redrive'): SafeHtml =>
  html`<form class="${className}" method="post" action="${action}"><button type="submit">${label}</button></form>`;

const groupQuery = (group: LetterGroup): string => `group=${encodeURIComponent(group)}`;

/** The letters by origin, each group with its own redrive and discard (both confirmed first). */
function groupsTable(letters: DeadLetter[], liveRules: readonly string[]): SafeHtml {
  const groups = new Map<LetterGroup, number>();
  for (const letter of letters) groups.set(groupOf(letter), (groups.get(groupOf(letter)) ?? 0) + 1);
  const removed = letters.filter((letter) => isOfRemovedRule(letter, liveRules)).length;
  return html`<table id="letter-groups">
      <tbody>
        ${[...groups].map(
          ([group, count]) =>
            html`<tr data-group="${group}">
              <th>${describeGroup(group)}</th>
              <td class="number">${count}</td>
              <td>
                ${
                  group.startsWith('rule:') && !liveRules.includes(group.slice(5))
                    ? html`no longer on the bus: nothing can deliver these`
                    : html`<a class="redrive-group" href="/console/dead-letters/redrive?${groupQuery(group)}"
                        >Redrive these ${count}…</a
                      >`
                }
                <a class="discard-group" href="/console/dead-letters/discard?${groupQuery(group)}"
                  >Discard these ${count}…</a
                >
              </td>
            </tr>`,
        )}
      </tbody>
    </table>
    ${
      removed > 0
        ? postForm(
            `/console/dead-letters/discard?${groupQuery('removed')}`,
            `Discard the ${removed} letter(s) of rules no longer on the bus`,
            'discard-removed',
          )
        : ''
    }`;
}

export function deadLettersPage(letters: DeadLetter[], liveRules: readonly string[]): string {
  return layout(
    'Dead letters',
    html`<h1>Dead letters</h1>
      ${REDRIVE_IS_SAFE} ${DISCARD_IS_NOT}
      ${
        letters.length === 0
          ? html`<p class="empty">No dead letters.</p>`
          : html`<p><a class="redrive-all" href="/console/dead-letters/redrive">Redrive all ${letters.length}…</a></p>
              ${groupsTable(letters, liveRules)}`
      }
      <div class="scroll">
        <table id="dead-letters">
          <thead>
            <tr>
              <th>#</th>
              <th>Failed at</th>
              <th>Origin</th>
              <th>orderId</th>
              <th>Reason</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            ${letters.map(
              (letter) =>
                html`<tr data-id="${letter.id}">
                  <td>${letterLink(letter)}</td>
                  <td><time>${letter.failedAt}</time></td>
                  <td>${describeOrigin(letter.origin)}</td>
                  <td>${orderLink(orderIdOfLetter(letter))}</td>
                  <td>${letter.reason}</td>
                  <td>
                    ${redriveForm(`/console/dead-letters/${letter.id}/redrive`, 'Redrive')}
                    ${postForm(`/console/dead-letters/${letter.id}/discard`, 'Discard', 'discard')}
                  </td>
                </tr>`,
            )}
          </tbody>
        </table>
      </div>
      <p><a href="/console/actions">What was done from the console (audit)</a></p>`,
  );
}

const DISCARD_IS_NOT = html`<p class="note">
  Discard is not safe: a dead letter of a rule still on the bus is a delivery not yet made, and discarding it means it
  is never made. The console names what is lost and asks first, and keeps the discarded letters in its audit. Letters of
  rules no longer on the bus (a removed subscriber) go without asking: nothing could deliver them.
</p>`;

/** The question asked before a redrive of many letters or before a discard: what will be done, and what it costs. */
export function confirmPage(options: {
  verb: 'redrive' | 'discard';
  letters: DeadLetter[];
  /** Where the confirmed POST goes (with confirm=yes added). */
  action: string;
  consequences: string[];
  scope: string;
}): string {
  const { verb, letters, consequences, scope } = options;
  const separator = options.action.includes('?') ? '&' : '?';
  return layout(
    `Confirm ${verb}`,
    html`<h1>${verb === 'redrive' ? 'Redrive' : 'Discard'} ${letters.length} dead letter(s)?</h1>
      <p>${scope}</p>
      ${
        verb === 'redrive'
          ? REDRIVE_IS_SAFE
          : consequences.length > 0
            ? html`<section class="banner failure consequence">
                <h2>What is lost for good</h2>
                <ul>
                  ${consequences.map((text) => html`<li>${text}</li>`)}
                </ul>
              </section>`
            : html`<p class="note">Nothing can deliver these any more: discarding them loses nothing.</p>`
      }
      <ul class="letters">
        ${letters
          .slice(0, 50)
          .map(
            (letter) =>
              html`<li>
                ${letterLink(letter)} ${describeOrigin(letter.origin)}, order ${orderLink(orderIdOfLetter(letter))}
              </li>`,
          )}
        ${letters.length > 50 ? html`<li>… and ${letters.length - 50} more</li>` : ''}
      </ul>
      ${
        letters.length === 0
          ? html`<p class="empty">There is nothing to ${verb}.</p>`
          : postForm(`${options.action}${separator}confirm=yes`, `Yes, ${verb} ${letters.length}`, `confirm-${verb}`)
      }
      <p><a href="/console/dead-letters">No, back to the dead letters</a></p>`,
  );
}

const attemptRows = (attempts: DeliveryAttempt[]): SafeHtml =>
  html`<table class="attempts">
    <thead>
      <tr>
        <th>Time</th>
        <th>Rule</th>
        <th>Attempt</th>
        <th>Outcome</th>
        <th>Latency</th>
        <th>Detail</th>
      </tr>
    </thead>
    <tbody>
      ${attempts.map(
        (attempt) =>
          html`<tr class="outcome-${attempt.outcome}">
            <td><time>${attempt.startedAt}</time></td>
            <td>${attempt.ruleName}</td>
            <td>${attempt.attempt}</td>
            <td>${attempt.outcome}</td>
            <td class="number">${attempt.durationMs} ms</td>
            <td>${attempt.detail ?? ''}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;

export function deadLetterPage(letter: DeadLetter, attempts: DeliveryAttempt[]): string {
  return layout(
    `Dead letter ${letter.id}`,
    html`<h1>Dead letter #${letter.id}</h1>
      <dl class="summary">
        <dt>Origin</dt>
        <dd>${describeOrigin(letter.origin)}</dd>
        <dt>Reference</dt>
        <dd>${letter.reference}</dd>
        <dt>orderId</dt>
        <dd>${orderLink(orderIdOfLetter(letter))}</dd>
        <dt>Failed at</dt>
        <dd><time>${letter.failedAt}</time></dd>
        <dt>Reason</dt>
        <dd>${letter.reason}</dd>
      </dl>
      ${REDRIVE_IS_SAFE} ${redriveForm(`/console/dead-letters/${letter.id}/redrive`, 'Redrive')}
      <h2>Payload</h2>
      <pre>${prettyJson(letter.payload)}</pre>
      ${
        attempts.length > 0
          ? html`<h2>Delivery attempts of this event</h2>
              ${attemptRows(attempts)}`
          : ''
      }`,
  );
}

export interface RedriveReport {
  letter: DeadLetter | undefined;
  id: number;
  result: RedriveResult;
  attempts: DeliveryAttempt[];
}

export function redrivePage(reports: RedriveReport[], heading: SafeHtml | string = ''): string {
  return layout(
    'Redrive',
    html`<h1>Redrive</h1>
      ${heading} ${reports.length === 0 ? html`<p class="empty">There was nothing to redrive.</p>` : ''}
      <ul class="redrive-results">
        ${reports.map(
          ({ id, letter, result }) =>
            html`<li class="redrive-${result.outcome}">
              Dead letter
              #${id}${letter ? html` (${describeOrigin(letter.origin)}, order ${orderLink(orderIdOfLetter(letter))})` : ''}:
              <strong class="outcome">${result.outcome}</strong> — ${result.detail}
              ${result.outcome === 'delivered' ? ' The dead letter is removed.' : letter ? html` The dead letter stays: ${letterLink(letter)}.` : ''}
            </li>`,
        )}
      </ul>
      ${
        reports.flatMap((report) => report.attempts).length > 0
          ? html`<h2>Delivery attempts</h2>
              ${attemptRows(reports.flatMap((report) => report.attempts))}`
          : ''
      }
      <p><a href="/console/dead-letters">Back to the dead letters</a></p>`,
  );
}

/** One action of the audit, as its answer was: a redrive's results, a discard's letters. */
export function actionPage(action: ConsoleAction): string {
  const heading = html`<p class="action-done" data-action="${action.action}">
    Action #${action.id}, ${when(action.at)}: ${action.summary}. Reloading this page shows it again; it does not repeat
    it.
  </p>`;
  if (action.action === 'redrive') {
    return redrivePage(action.detail as RedriveReport[], heading);
  }
  const letters = (
    isObject(action.detail) && Array.isArray(action.detail.letters) ? action.detail.letters : []
  ) as DeadLetter[];
  return layout(
    `Action ${action.id}`,
    html`<h1>${action.action === 'discard' ? 'Discarded' : 'Sent again'}</h1>
      ${heading}
      ${
        action.action === 'send-again' && isObject(action.detail) && typeof action.detail.requestId === 'string'
          ? html`<p class="sent-again">
              The new request: <a href="${executionPath(action.detail.requestId)}">${action.detail.requestId}</a>
            </p>`
          : ''
      }
      ${
        action.action === 'discard'
          ? html`<ul class="discarded">
              ${letters.map(
                (letter) =>
                  html`<li>
                    #${letter.id} ${describeOrigin(letter.origin)}, order ${orderLink(orderIdOfLetter(letter))}:
                    ${letter.reason}
                    <details>
                      <summary>payload (kept here)</summary>
                      <pre>${prettyJson(letter.payload)}</pre>
                    </details>
                  </li>`,
              )}
            </ul>`
          : html`<pre>${prettyJson(action.detail)}</pre>`
      }
      <p><a href="/console/dead-letters">The dead letters</a> · <a href="/console/actions">the audit</a></p>`,
  );
}

export function actionsPage(actions: ConsoleAction[]): string {
  return layout(
    'Audit',
    html`<h1>What was done from the console</h1>
      ${actions.length === 0 ? html`<p class="empty">Nothing yet.</p>` : ''}
      <ol class="actions" reversed>
        ${actions.map(
          (action) =>
            html`<li>
              ${when(action.at)} <a href="/console/actions/${action.id}">#${action.id} ${action.action}</a>:
              ${action.summary}
            </li>`,
        )}
      </ol>`,
  );
}

export function problemPage(status: number, title: string, detail: string): string {
  return layout(
    title,
    html`<h1>${status} ${title}</h1>
      <p>${detail}</p>
      <p><a href="/console">Executions</a></p>`,
  );
}
