/**
 * The ops console's routes, under /console on the service's own port, as plain request -> response functions (the
 * live list's Server-Sent Events are console-http.ts's):
 * - GET  /console                                     recent executions, newest first, a page at a time; ?status=
 *                                                     &outcome= &from= &to= (UTC) &before= (the next page's cursor) &limit=
 *                                                     &q= (a prefix of orderId, requestId, idempotency key,
 *                                                     customerId, clientReference or client key)
 * - GET  /console/orders/{orderId}                    one order's timeline across every hop
 * - GET  /console/executions/{requestId}              one execution (rejections, failures: executions without order),
 *                                                     or an exchange API Gateway answered itself (415, 404, 405)
 * - GET  /console/executions/{requestId}/history.json the execution in GetExecutionHistory's shape
 * - GET  /console/definition                          the workflow's definition: its state graph and its ASL
 * - GET  /console/dead-letters, /console/dead-letters/{id}
 * - POST /console/dead-letters/{id}/redrive           one letter, at once
 * - POST /console/dead-letters/{id}/discard[?confirm=yes], /console/dead-letters/{redrive|discard}?group=…[&confirm=yes]
 *                                                     (group: rule:NAME, stream, removed); asked first (GET the
 *                                                     same path: the confirmation) unless nothing is lost
 * - GET  /console/actions, /console/actions/{id}      the audit: what was done from the console, each action's result
 * Every POST answers 303 to the action's record (POST-redirect-GET: a reload never repeats it).
 * - GET  /console/assets/console.js, console.css
 * On a HOST open to the network, every route asks for this start's token first (console-token.ts).
 * GET never changes anything. A POST is refused (403) unless the browser says it comes from the console's own pages
 * (local/browser-guard.ts, the rule the API follows too), so no other site open in the same browser can act through
 * the console. Every answer
 * carries a Content-Security-Policy without inline script, and headers that keep it out of frames and referrers.
 */
import { readFileSync } from 'node:fs';
import type { ApiResponse } from '../apigateway/api-gateway.js';
import type { HttpExchange } from '../apigateway/server.js';
import { refusesCrossSite, refusesHost, type HostNames } from '../browser-guard.js';
import { presentedToken, tokenCookie } from './console-token.js';
import { isOrderId } from '../../src/contract/order.js';
import {
  commitsOf,
  deleteDeadLetter,
  readDeadLetter,
  type DeadLetter,
  type RedriveResult,
} from '../eventbridge/events-database.js';
import { consequenceOf, describeGroup, inGroup, parseGroup, type LetterGroup } from './dead-letter-actions.js';
import { toExecutionHistory } from '../stepfunctions/execution-history.js';
import { ConsoleData, exchangeEntries, executionTimeline, type ConsoleDataOptions } from './console-data.js';
import type { StateMachineDefinition } from './state-graph.js';
import { OUTCOMES, type ExecutionFilter, type ExecutionSummary, type Outcome } from './console-store.js';
import {
  actionPage,
  actionsPage,
  confirmPage,
  deadLetterPage,
  deadLettersPage,
  definitionPage,
  exchangePage,
  executionPage,
  listPage,
  orderPage,
  problemPage,
  sendAgainPage,
  STATUSES,
  type RedriveReport,
} from './pages.js';

export const CONSOLE_PATH = '/console';

/** A request the console sends again: the original's method, path, body and the headers that shape its answer. */
export interface ResentRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * "Send again" through the API itself, as any client's request: recorded, validated and deduplicated the same way.
 * `api.url` is set once the API listens, after the console is built.
 */
export const sendAgainThrough =
  (api: { url?: string }): NonNullable<OpsConsoleOptions['sendAgain']> =>
  async (request) => {
    if (!api.url) throw new Error('the API is not listening yet');
    const response = await fetch(new URL(request.path, api.url), {
      method: request.method,
      headers: request.headers,
      body: request.body,
    });
    await response.body?.cancel();
    return { status: response.status, requestId: response.headers.get('x-amzn-requestid') ?? undefined };
  };

/** The header that labels a request the console sent again, with the request id of the one it repeats. */
export const SENT_AGAIN_HEADER = 'X-Console-Sent-Again-From';
/** The original's headers that are sent again: those that decide how the API reads the request. */
const RESENT_HEADERS = ['content-type', 'idempotency-key'];
/** Only these are sent again: a failure to reproduce, never an accepted order or a duplicate. */
const SENDABLE_OUTCOMES: readonly Outcome[] = ['failed', 'rejected', 'unavailable'];
export const LIST_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 500;

export interface ConsoleRequest {
  method: string;
  /** Percent-encoded, as sent, without the query string. */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  /** The port the request arrived on: the console's own origin is on it. */
  port: number;
}

/** An answer as the HTTP server writes it. */
export type ConsoleResponse = Pick<ApiResponse, 'status' | 'headers' | 'body'>;

export interface OpsConsoleOptions extends ConsoleDataOptions {
  /** The workflow's definition (the ASL): its state graph, the history export's task resources. */
  definition: StateMachineDefinition;
  redriveDeadLetter(id: number): Promise<RedriveResult>;
  /**
   * Sends a recorded request to the API again, as a new request (its own request id, the same idempotency rules);
   * absent, the console offers no "send again".
   */
  sendAgain?: (request: ResentRequest) => Promise<{ status: number; requestId: string | undefined }>;
  /** The rules on the running bus: a dead letter of any other rule can no longer be delivered. */
  ruleNames: readonly string[];
  /**
   * The Host names the console answers to (local/browser-guard.ts): `loopback` (this machine's names on its port; a
   * page of another name that resolves to this machine, DNS rebinding, is refused) or `any` when the service listens
   * beyond this machine and the console was turned on for it.
   */
  hosts: HostNames;
  /**
   * Asked of every request when set (console-token.ts): required with `hosts: 'any'`, where reaching the port is not
   * proof of being on this machine.
   */
  token?: string;
}

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cache-Control': 'no-store',
};

const asset = (name: string): string => readFileSync(new URL(`./assets/${name}`, import.meta.url), 'utf8');
// A Map, not an object literal: the name comes from the URL, and /console/assets/constructor must find nothing.
const ASSETS = new Map<string, { type: string; body: () => string }>([
  ['console.js', { type: 'text/javascript; charset=utf-8', body: () => asset('console.js') }],
  ['console.css', { type: 'text/css; charset=utf-8', body: () => asset('console.css') }],
]);

const HTML = 'text/html; charset=utf-8';
const answer = (status: number, body: string, type = HTML, headers: Record<string, string> = {}): ConsoleResponse => ({
  status,
  headers: { ...SECURITY_HEADERS, 'Content-Type': type, ...headers },
  body,
});
const problem = (status: number, title: string, detail: string, headers: Record<string, string> = {}) =>
  answer(status, problemPage(status, title, detail), HTML, headers);

const notThisHost = (reason: string): ConsoleResponse => problem(403, 'Not this host', `${reason}.`);

/** A time of the list's range: a form's datetime-local (read as UTC, as the page says) or any ISO 8601 time. */
export function timeOf(value: string | null): number | undefined {
  const text = (value ?? '').trim();
  if (!text) return undefined;
  const at = Date.parse(/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?$/.test(text) ? `${text}Z` : text);
  return Number.isFinite(at) ? at : undefined;
}

export function filterOf(query: URLSearchParams): ExecutionFilter {
  const status = query.get('status') ?? '';
  const outcome = query.get('outcome') ?? '';
  const search = (query.get('q') ?? '').trim();
  const from = timeOf(query.get('from'));
  const to = timeOf(query.get('to'));
  const before = query.get('before') ?? '';
  return {
    ...((STATUSES as readonly string[]).includes(status) ? { status: status as ExecutionFilter['status'] } : {}),
    ...((OUTCOMES as readonly string[]).includes(outcome) ? { outcome: outcome as Outcome } : {}),
    ...(search ? { search } : {}),
    ...(from === undefined ? {} : { from }),
    ...(to === undefined ? {} : { to }),
    ...(/^\d{1,15}$/.test(before) ? { before: Number(before) } : {}),
  };
}

/** Whether a new execution belongs in a list shown with this filter (the same test as ConsoleStore.executions). */
export const matchesFilter = (summary: ExecutionSummary, filter: ExecutionFilter): boolean =>
  (!filter.status || summary.status === filter.status) &&
  (!filter.outcome || summary.outcome === filter.outcome) &&
  (!filter.orderId || summary.orderId === filter.orderId) &&
  (filter.from === undefined || summary.startedAt >= filter.from) &&
  (filter.to === undefined || summary.startedAt < filter.to) &&
  (!filter.search ||
    [
      summary.orderId,
      summary.name,
      summary.idempotencyKey,
      summary.customerId,
      summary.clientReference,
      summary.clientKey,
    ].some((value) => value?.startsWith(filter.search ?? '') === true));

const decode = (segment: string): string | undefined => {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
};

export interface OpsConsole {
  handle(request: ConsoleRequest): Promise<ConsoleResponse>;
  /** The live list's filter for a /console/live request, or the answer refusing it. */
  liveFilter(request: ConsoleRequest): { filter: ExecutionFilter } | { refused: ConsoleResponse };
  onExecution(listener: (summary: ExecutionSummary) => void): () => void;
}

export function createOpsConsole(options: OpsConsoleOptions): OpsConsole {
  if (options.hosts === 'any' && !options.token) {
    throw new Error('a console that answers any Host needs a token: whoever reaches the port would reach it');
  }
  const data = new ConsoleData(options);
  const { store } = options;

  /**
   * The answer that keeps a request out (a Host not this machine's, no token where one is asked), or undefined. A
   * first visit with the token in its query is answered with the cookie and sent on to the same page without it.
   */
  function gate(request: ConsoleRequest): ConsoleResponse | undefined {
    const wrongHost = refusesHost(request, options.hosts);
    if (wrongHost) return notThisHost(wrongHost);
    if (options.token === undefined) return undefined;
    const shown = presentedToken(request, options.token);
    if (shown === 'cookie') return undefined;
    if (shown === 'query' && (request.method === 'GET' || request.method === 'HEAD')) {
      const query = new URLSearchParams(request.query);
      query.delete('token');
      const rest = query.toString();
      return answer(303, '', 'text/plain; charset=utf-8', {
        Location: `${request.path}${rest ? `?${rest}` : ''}`,
        'Set-Cookie': tokenCookie(options.token, request.port, CONSOLE_PATH),
      });
    }
    return problem(
      403,
      'Token required',
      'This console is open to the network, so it asks for the token of this start: open the console URL with ' +
        '?token=… that the start line printed.',
    );
  }

  const liveRules = (): readonly string[] => options.ruleNames;
  /** The letters a group query names (all of them without one). */
  const lettersOf = (group: LetterGroup | undefined): DeadLetter[] =>
    data.deadLetters().filter((letter) => group === undefined || inGroup(letter, group, liveRules()));
  /** After an action: the answer is a redirect to its record, so a reload shows it again and never repeats it. */
  const seeOther = (location: string): ConsoleResponse => answer(303, '', HTML, { Location: location });

  async function redrive(ids: number[], scope: string): Promise<ConsoleResponse> {
    const reports: RedriveReport[] = [];
    // One at a time: a redrive is a delivery to a consumer, and a consumer takes one batch at a time.
    for (const id of ids) {
      const letter = readDeadLetter(options.events, id);
      const result = await options.redriveDeadLetter(id);
      const eventId = letter?.origin.kind === 'rule' ? letter.reference : undefined;
      reports.push({ id, letter, result, attempts: eventId ? data.deliveryAttempts([eventId]).slice(-1) : [] });
    }
    const delivered = reports.filter((report) => report.result.outcome === 'delivered').length;
    const action = store.recordAction({
      action: 'redrive',
      summary: `redrive of ${scope}: ${delivered} of ${reports.length} delivered`,
      detail: reports,
    });
    return seeOther(`${CONSOLE_PATH}/actions/${action.id}`);
  }

  async function discard(letters: DeadLetter[], scope: string): Promise<ConsoleResponse> {
    await commitsOf(options.events).commit(() => {
      for (const letter of letters) deleteDeadLetter(options.events, letter.id);
    });
    const action = store.recordAction({
      action: 'discard',
      summary: `discard of ${scope}: ${letters.length} letter(s)`,
      detail: { letters, consequences: letters.map((letter) => consequenceOf(letter, liveRules()) ?? null) },
    });
    return seeOther(`${CONSOLE_PATH}/actions/${action.id}`);
  }

  /** Why this execution's request cannot be sent again, or undefined when it can. */
  function cannotSendAgain(summary: ExecutionSummary, exchange: HttpExchange | undefined): string | undefined {
    if (!options.sendAgain) return 'This console does not send requests.';
    if (!SENDABLE_OUTCOMES.includes(summary.outcome)) {
      return `Only a failed, rejected or unavailable request is sent again (to reproduce it); this one was ${summary.outcome}.`;
    }
    if (!exchange) return 'Its HTTP request is not recorded (pruned, or recorded by an older version).';
    return undefined;
  }

  async function sendAgain(exchange: HttpExchange): Promise<ConsoleResponse> {
    const headers: Record<string, string> = { [SENT_AGAIN_HEADER]: exchange.requestId };
    for (const [name, value] of Object.entries(exchange.requestHeaders)) {
      if (RESENT_HEADERS.includes(name.toLowerCase())) headers[name] = value;
    }
    const sent = await options.sendAgain?.({
      method: exchange.method,
      path: exchange.path,
      headers,
      body: exchange.requestBody,
    });
    const action = store.recordAction({
      action: 'send-again',
      summary: `${exchange.method} ${exchange.path} of ${exchange.requestId} sent again: HTTP ${sent?.status ?? '?'}`,
      detail: { original: exchange.requestId, requestId: sent?.requestId ?? null, status: sent?.status ?? null },
    });
    return seeOther(`${CONSOLE_PATH}/actions/${action.id}`);
  }

  /** The letter a path's id names, or the 404 that says there is none. */
  const letterOr404 = (id: string): DeadLetter | ConsoleResponse =>
    (/^\d+$/.test(id) ? readDeadLetter(options.events, Number(id)) : undefined) ??
    problem(404, 'No such dead letter', `There is no dead letter ${id} (redriven or discarded already?).`);
  const isResponse = (value: DeadLetter | ConsoleResponse): value is ConsoleResponse => 'status' in value;

  function confirmation(verb: 'redrive' | 'discard', letters: DeadLetter[], action: string, scope: string) {
    const consequences = [...new Set(letters.flatMap((letter) => consequenceOf(letter, liveRules()) ?? []))];
    return answer(200, confirmPage({ verb, letters, action, consequences, scope }));
  }

  async function get(path: string, query: URLSearchParams): Promise<ConsoleResponse> {
    if (path === CONSOLE_PATH || path === `${CONSOLE_PATH}/`) {
      const filter = filterOf(query);
      // An older page stays as it is; only the newest one takes new executions live.
      const live = filter.before === undefined ? `${CONSOLE_PATH}/live?${query.toString()}` : undefined;
      const gateway = filter.search ? store.gatewayExchanges(filter.search) : [];
      const asked = Number(query.get('limit'));
      const limit = Number.isInteger(asked) && asked >= 1 && asked <= MAX_PAGE_SIZE ? asked : LIST_PAGE_SIZE;
      return answer(200, listPage(store.page({ ...filter, limit }), filter, query, live, gateway, store.stats()));
    }
    const segments = path.slice(CONSOLE_PATH.length + 1).split('/');
    const [section, rawId, extra, ...rest] = segments;
    const id = rawId === undefined ? undefined : decode(rawId);
    if (rest.length > 0 || (rawId !== undefined && id === undefined)) return problem(404, 'Not found', path);

    if (section === 'assets' && id && extra === undefined) {
      const file = ASSETS.get(id);
      if (!file) return problem(404, 'Not found', path);
      return answer(200, file.body(), file.type, { 'Cache-Control': 'no-cache' });
    }
    if (section === 'orders' && id && extra === undefined) {
      if (!isOrderId(id)) return problem(404, 'No such order', `${id} is not an orderId (a ULID)`);
      const view = await data.order(id);
      if (!view) return problem(404, 'No such order', `Nothing recorded, stored or published knows order ${id}.`);
      const executions = new Map(view.executions.map((summary) => [summary.name, store.execution(summary.name)]));
      return answer(200, orderPage(view, executions));
    }
    if (section === 'executions' && id) {
      const summary = store.summary(id);
      if (!summary) {
        // A request API Gateway answered itself (415, 404, 405) has an exchange and no execution.
        const exchange = extra === undefined ? store.exchange(id) : undefined;
        if (exchange) return answer(200, exchangePage(exchange, exchangeEntries(exchange)));
        return problem(404, 'No such execution', `No execution or HTTP exchange with request id ${id} is recorded.`);
      }
      const execution = store.execution(id);
      if (extra === 'history.json') {
        const events = execution ? toExecutionHistory(execution, options.definition.States) : [];
        return answer(200, JSON.stringify({ events }, null, 2), 'application/json; charset=utf-8', {
          'Content-Disposition': `attachment; filename="execution-history-${id.replace(/[^A-Za-z0-9._-]/g, '_')}.json"`,
        });
      }
      if (extra === 'send-again') {
        const refusal = cannotSendAgain(summary, store.exchange(id));
        if (refusal) return problem(409, 'Not sent again', refusal);
        return answer(200, sendAgainPage(summary, store.exchange(id) as HttpExchange));
      }
      if (extra !== undefined) return problem(404, 'Not found', path);
      return answer(
        200,
        executionPage(summary, execution, executionTimeline(store, id), {
          definition: options.definition,
          exchange: store.exchange(id),
          canSendAgain: cannotSendAgain(summary, store.exchange(id)) === undefined,
        }),
      );
    }
    if (section === 'definition' && id === undefined) return answer(200, definitionPage(options.definition));
    if (section === 'actions' && extra === undefined) {
      if (id === undefined || id === '') return answer(200, actionsPage(store.actions()));
      const action = /^\d+$/.test(id) ? store.action(Number(id)) : undefined;
      return action ? answer(200, actionPage(action)) : problem(404, 'No such action', `No action ${id} is recorded.`);
    }
    if (section === 'dead-letters' && (id === 'redrive' || id === 'discard') && extra === undefined) {
      const group = parseGroup(query.get('group'));
      if (id === 'discard' && !group) return problem(404, 'Not found', 'A discard names its group (?group=).');
      const scope = group ? `the dead letters of ${describeGroup(group)}` : 'every dead letter';
      const action = `${CONSOLE_PATH}/dead-letters/${id}${group ? `?group=${encodeURIComponent(group)}` : ''}`;
      return confirmation(id, lettersOf(group), action, scope);
    }
    if (section === 'dead-letters' && id && extra === 'discard') {
      const letter = letterOr404(id);
      if (isResponse(letter)) return letter;
      return confirmation(
        'discard',
        [letter],
        `${CONSOLE_PATH}/dead-letters/${letter.id}/discard`,
        `dead letter #${letter.id}`,
      );
    }
    if (section === 'dead-letters' && extra === undefined) {
      if (id === undefined || id === '') return answer(200, deadLettersPage(data.deadLetters(), liveRules()));
      const letter = /^\d+$/.test(id) ? readDeadLetter(options.events, Number(id)) : undefined;
      if (!letter) return problem(404, 'No such dead letter', `There is no dead letter ${id} (redriven already?).`);
      const attempts = letter.origin.kind === 'rule' ? data.deliveryAttempts([letter.reference]) : [];
      return answer(200, deadLetterPage(letter, attempts));
    }
    return problem(404, 'Not found', path);
  }

  /**
   * Every POST answers 303 See Other: to the record of what it did, or to the question it must ask first (a redrive
   * of many, a discard that loses something), whose form posts again with confirm=yes.
   */
  async function post(path: string, query: URLSearchParams): Promise<ConsoleResponse> {
    const confirmed = query.get('confirm') === 'yes';
    const one = /^\/console\/dead-letters\/(\d+)\/(redrive|discard)$/.exec(path);
    if (one?.[1] && one[2]) {
      const letter = letterOr404(one[1]);
      if (isResponse(letter)) return letter;
      if (one[2] === 'redrive') return redrive([letter.id], `dead letter #${letter.id}`);
      if (!confirmed && consequenceOf(letter, liveRules()) !== undefined) return seeOther(path);
      return discard([letter], `dead letter #${letter.id}`);
    }
    const again = /^\/console\/executions\/([^/]+)\/send-again$/.exec(path);
    if (again?.[1]) {
      const name = decode(again[1]) ?? '';
      const summary = store.summary(name);
      const exchange = store.exchange(name);
      const refusal = summary ? cannotSendAgain(summary, exchange) : `No execution named ${name} is recorded.`;
      if (refusal || !exchange || !options.sendAgain) return problem(409, 'Not sent again', refusal ?? 'Not offered.');
      if (!confirmed) return seeOther(path);
      return sendAgain(exchange);
    }
    const many = /^\/console\/dead-letters\/(redrive|discard)$/.exec(path);
    if (many?.[1]) {
      const group = parseGroup(query.get('group'));
      const asked = `${path}${group ? `?group=${encodeURIComponent(group)}` : ''}`;
      const letters = lettersOf(group);
      const scope = group ? `the dead letters of ${describeGroup(group)}` : 'every dead letter';
      if (many[1] === 'redrive') {
        return confirmed
          ? redrive(
              letters.map((letter) => letter.id),
              scope,
            )
          : seeOther(asked);
      }
      if (!group) return problem(404, 'Not found', 'A discard names its group (?group=).');
      const losesSomething = letters.some((letter) => consequenceOf(letter, liveRules()) !== undefined);
      return confirmed || !losesSomething ? discard(letters, scope) : seeOther(asked);
    }
    return problem(404, 'Not found', path);
  }

  return {
    async handle(request) {
      const refused = gate(request);
      if (refused) return refused;
      if (request.method === 'GET' || request.method === 'HEAD') return get(request.path, request.query);
      if (request.method !== 'POST') {
        return problem(405, 'Method not allowed', `${request.method} is not a console method.`, {
          Allow: 'GET, HEAD, POST',
        });
      }
      const refusal = refusesCrossSite(request, { names: options.hosts, ownPagesOnly: true });
      if (refusal) return problem(403, 'Refused: not from the console', `Nothing was changed: ${refusal}.`);
      return post(request.path, request.query);
    },
    liveFilter(request) {
      const refused = gate(request);
      if (refused) return { refused };
      return { filter: filterOf(request.query) };
    },
    onExecution: (listener) => store.onExecution(listener),
  };
}
