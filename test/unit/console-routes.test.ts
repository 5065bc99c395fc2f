/**
 * The ops console's routes on an in-memory console store and event log: hostile request data is shown as text,
 * every answer carries the security headers, a state-changing request from anywhere but the console's own pages is
 * refused with nothing changed, and an execution exports in GetExecutionHistory's shape.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { type ResentRequest, type ConsoleRequest, type OpsConsole } from '../../local/console/console-routes.js';
import { ConsoleStore } from '../../local/console/console-store.js';
import { escapeHtml, html } from '../../local/console/html.js';
import {
  listDeadLetters,
  openEventsDatabase,
  recordDeadLetter,
  type RedriveResult,
} from '../../local/eventbridge/events-database.js';
import type { RecordedExecution } from '../../local/stepfunctions/execution-history.js';
import { testOpsConsole } from '../support/ops-console.js';

const PORT = 3000;
const ORIGIN = `http://localhost:${PORT}`;
const HOSTILE = '<script>alert(1)</script>';

const dynamodb = mockClient(DynamoDBClient);
let folder: string;
let store: ConsoleStore;
let events: DatabaseSync;
let redrive: jest.Mock<(id: number) => Promise<RedriveResult>>;
let sendAgain: jest.Mock<(request: ResentRequest) => Promise<{ status: number; requestId: string | undefined }>>;
let opsConsole: OpsConsole;

beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'console-routes-'));
  store = new ConsoleStore(':memory:');
  events = openEventsDatabase(':memory:');
  dynamodb.reset();
  dynamodb.on(GetItemCommand).resolves({});
  redrive = jest.fn(async () => ({ outcome: 'delivered', detail: 'taken' }) as RedriveResult);
  sendAgain = jest.fn(async () => ({ status: 400, requestId: 'req-new' }));
  opsConsole = testOpsConsole(store, events, {
    dynamodb: new DynamoDBClient({ region: 'local' }),
    archiveDir: join(folder, 'archive'),
    definition: {
      StartAt: 'Validate',
      States: {
        Validate: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Next: 'Reject' },
        Reject: { Type: 'Pass', End: true },
      },
    },
    redriveDeadLetter: redrive,
    sendAgain,
  });
});
afterEach(async () => {
  store.close();
  events.close();
  await rm(folder, { recursive: true, force: true });
});

const request = (method: string, pathAndQuery: string, headers: Record<string, string> = {}): ConsoleRequest => {
  const url = new URL(pathAndQuery, ORIGIN);
  return {
    method,
    path: url.pathname,
    query: url.searchParams,
    headers: { host: `localhost:${PORT}`, ...headers },
    port: PORT,
  };
};
const get = (path: string, headers?: Record<string, string>) => opsConsole.handle(request('GET', path, headers));
const post = (path: string, headers?: Record<string, string>) => opsConsole.handle(request('POST', path, headers));

/** A rejected order's execution, as the workflow records it: the hostile body in, a 400 problem out. */
function recordRejection(name: string, body = JSON.stringify({ customerId: HOSTILE, items: [] })): void {
  const input = { requestId: name, body: Buffer.from(body).toString('base64') };
  const problem = { statusCode: 400, body: JSON.stringify({ title: 'invalid', detail: HOSTILE }) };
  const execution: RecordedExecution = {
    name,
    arn: `arn:aws:states:local:000000000000:express:order-intake:${name}`,
    stateMachineArn: 'arn:aws:states:local:000000000000:stateMachine:order-intake',
    status: 'SUCCEEDED',
    startedAt: 1_000,
    stoppedAt: 1_030,
    events: [
      { type: 'ExecutionStarted', timestamp: 1_000, input },
      { type: 'StateEntered', timestamp: 1_001, state: { name: 'Validate', type: 'Task', input } },
      {
        type: 'StateExited',
        timestamp: 1_020,
        state: { name: 'Validate', type: 'Task', input, output: { validation: { Payload: { problem: HOSTILE } } } },
      },
      { type: 'StateEntered', timestamp: 1_021, state: { name: 'Reject', type: 'Pass', input: {} } },
      { type: 'StateExited', timestamp: 1_022, state: { name: 'Reject', type: 'Pass', input: {}, output: problem } },
      { type: 'ExecutionSucceeded', timestamp: 1_030, output: problem },
    ],
  };
  store.recordExecution({ ...execution, startedAt: Date.now(), stoppedAt: Date.now() + 30 });
  store.recordExchange({
    requestId: name,
    startedAt: Date.now(),
    durationMs: 31,
    method: 'POST',
    path: '/orders',
    requestHeaders: { 'Content-Type': 'application/json', 'X-Note': `"><img src=x onerror=alert(2)>${HOSTILE}` },
    requestBody: body,
    status: 400,
    responseHeaders: { 'Content-Type': 'application/problem+json' },
    responseBody: problem.body,
  });
}

const expectNoRawMarkupFromData = (page: string): void => {
  expect(page).not.toMatch(/<script>alert/);
  expect(page).not.toMatch(/<img src=x/);
  expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
};

describe('the console’s escaping', () => {
  it('escapes every interpolated value, and only values', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&</a>`)).toBe(
      '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
    const nested = html`<b>${HOSTILE}</b>`;
    expect(html`<p title="${'"x"'}">${nested}${[HOSTILE, 1]}${undefined}</p>`.markup).toBe(
      '<p title="&quot;x&quot;"><b>&lt;script&gt;alert(1)&lt;/script&gt;</b>&lt;script&gt;alert(1)&lt;/script&gt;1</p>',
    );
  });

  it('keeps the execution page under 100 KB whatever 8 KB body was sent (nesting, quotes, long arrays)', async () => {
    const size = 8 * 1024;
    const bodies = {
      'nested arrays': `${'['.repeat(size / 2)}${']'.repeat(size / 2)}`,
      'nested objects': `${'{"a":'.repeat(Math.floor(size / 6))}0${'}'.repeat(Math.floor(size / 6))}`,
      'arrays in an array': `[${Array(Math.floor(size / 3))
        .fill('[]')
        .join(',')}]`,
      'a long array': `[${Array(size / 2)
        .fill('0')
        .join(',')}]`,
      quotes: JSON.stringify('"'.repeat(size / 2 - 1)),
      'not JSON': '"&<'.repeat(Math.floor(size / 3)),
    };
    const sizes: Record<string, number> = {};
    for (const [kind, body] of Object.entries(bodies)) {
      const name = `req-${kind.replace(/ /g, '-')}`;
      recordRejection(name, body);
      const page = await get(`/console/executions/${name}`);
      expect(page.status).toBe(200);
      sizes[kind] = page.body.length;
    }
    expect(Object.entries(sizes).filter(([, length]) => length >= 100 * 1024)).toEqual([]);
  });

  it('shows a hostile request body and hostile header values as text on the execution page', async () => {
    recordRejection('req-hostile');
    const page = await get('/console/executions/req-hostile');
    expect(page.status).toBe(200);
    expectNoRawMarkupFromData(page.body);
    expect(page.body).toContain('&quot;&gt;&lt;img src=x onerror=alert(2)&gt;');
    expect(page.body).toMatch(/<ol class="path">\s*<li>Validate<\/li>\s*<li>Reject<\/li>\s*<\/ol>/);
  });

  it('shows a hostile search as text in the list page', async () => {
    const page = await get(`/console?q=${encodeURIComponent(`"><script>alert(1)</script>`)}`);
    expect(page.status).toBe(200);
    expect(page.body).toContain('value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
    expect(page.body).not.toMatch(/<script>alert/);
  });

  it('answers every page with a script-only-from-self CSP and the framing, sniffing and referrer headers', async () => {
    recordRejection('req-1');
    for (const path of ['/console', '/console/executions/req-1', '/console/dead-letters', '/console/nowhere']) {
      const { headers } = await get(path);
      expect(headers).toMatchObject({
        'Content-Security-Policy': expect.stringContaining("script-src 'self'"),
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'no-referrer',
        'X-Frame-Options': 'DENY',
      });
      expect(headers['Content-Security-Policy']).not.toMatch(/unsafe-inline/);
      expect(headers['Content-Security-Policy']).toMatch(/frame-ancestors 'none'/);
    }
    const script = await get('/console/assets/console.js');
    expect(script).toMatchObject({ status: 200, headers: { 'Content-Type': 'text/javascript; charset=utf-8' } });
    for (const inherited of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      expect((await get(`/console/assets/${inherited}`)).status).toBe(404);
    }
    expect((await get('/console')).body).not.toMatch(/<script>(?!<\/script>)|style="/);
  });

  it('refuses a Host that is not this machine’s (DNS rebinding)', async () => {
    recordRejection('req-1');
    expect((await get('/console', { host: `attacker.example:${PORT}` })).status).toBe(403);
    expect((await get('/console', { host: 'localhost:1234' })).status).toBe(403);
    expect((await get('/console', { host: `127.0.0.1:${PORT}` })).status).toBe(200);
  });
});

describe('redrive, a state-changing request', () => {
  beforeEach(() => {
    recordDeadLetter(events, {
      origin: { kind: 'rule', ruleName: 'archive' },
      reference: 'event-1',
      payload: '{}',
      reason: 'test',
    });
  });
  const letterId = (): number => listDeadLetters(events)[0]?.id ?? 0;

  it.each([
    ['a cross-site request', { 'sec-fetch-site': 'cross-site', origin: 'http://attacker.example' }],
    ['a same-site request from another port', { 'sec-fetch-site': 'same-site', origin: 'http://localhost:4000' }],
    [
      'a foreign Origin, even if Sec-Fetch-Site says same-origin',
      { 'sec-fetch-site': 'same-origin', origin: 'http://x' },
    ],
    ['a request from a browser that says nothing (curl)', {}],
    ['a no-cors fetch without Origin', { 'sec-fetch-site': 'cross-site' }],
    ['a top-level navigation', { 'sec-fetch-site': 'none' }],
    ['a sandboxed frame (Origin null)', { 'sec-fetch-site': 'cross-site', origin: 'null' }],
    ['Origin null from a browser without Sec-Fetch-Site', { origin: 'null' }],
  ])('refuses %s with 403 and changes nothing', async (_case, headers: Record<string, string>) => {
    for (const path of [`/console/dead-letters/${letterId()}/redrive`, '/console/dead-letters/redrive']) {
      const answer = await post(path, headers);
      expect(answer.status).toBe(403);
      expect(answer.body).toContain('Nothing was changed');
    }
    expect(redrive).not.toHaveBeenCalled();
    expect(listDeadLetters(events)).toHaveLength(1);
  });

  it('redrives from the console’s own pages: Sec-Fetch-Site same-origin, or an older browser’s own Origin', async () => {
    const answer = await post(`/console/dead-letters/${letterId()}/redrive`, {
      'sec-fetch-site': 'same-origin',
      origin: ORIGIN,
    });
    // POST-redirect-GET: the answer sends the browser to the action's record, which shows the result.
    expect(answer.status).toBe(303);
    const record = await get(answer.headers.Location ?? '');
    expect(record.body).toContain('delivered');
    await post('/console/dead-letters/redrive?confirm=yes', { origin: ORIGIN });
    // A form's POST from a page served with Referrer-Policy: no-referrer carries Origin: null.
    await post(`/console/dead-letters/${letterId()}/redrive`, { 'sec-fetch-site': 'same-origin', origin: 'null' });
    expect(redrive.mock.calls).toEqual([[letterId()], [letterId()], [letterId()]]);
  });

  it('never changes anything on GET', async () => {
    expect((await get(`/console/dead-letters/${letterId()}/redrive`)).status).toBe(404);
    // The question asked before a redrive of every letter, not the redrive.
    expect((await get('/console/dead-letters/redrive')).body).toContain('Redrive 1 dead letter(s)?');
    expect((await get(`/console/dead-letters/${letterId()}/discard`)).body).toContain('What is lost for good');
    expect((await opsConsole.handle(request('DELETE', `/console/dead-letters/${letterId()}`))).status).toBe(405);
    expect(redrive).not.toHaveBeenCalled();
  });

  it('lists and shows a dead letter, with its redrive form', async () => {
    const list = await get('/console/dead-letters');
    expect(list.body).toContain(`action="/console/dead-letters/${letterId()}/redrive"`);
    expect(list.body).toContain('Redrive is safe: every consumer is idempotent');
    const one = await get(`/console/dead-letters/${letterId()}`);
    expect(one.status).toBe(200);
    expect(one.body).toContain('rule archive');
    expect((await get('/console/dead-letters/999')).status).toBe(404);
  });
});

describe('discarding dead letters', () => {
  const sameOrigin = { 'sec-fetch-site': 'same-origin', origin: ORIGIN };
  const letter = (ruleName: string, orderId: string) =>
    recordDeadLetter(events, {
      origin: { kind: 'rule', ruleName },
      reference: `event-${orderId}`,
      payload: JSON.stringify({ detail: { orderId } }),
      reason: 'HTTP 500',
    });
  const ids = (): number[] => listDeadLetters(events).map((one) => one.id);

  it('asks first when a discard loses a delivery, names what is lost, and keeps the letter until confirmed', async () => {
    letter('archive', 'ORDER-A');
    const [id] = ids();
    const asked = await post(`/console/dead-letters/${id}/discard`, sameOrigin);
    expect(asked).toMatchObject({
      status: 303,
      headers: expect.objectContaining({ Location: `/console/dead-letters/${id}/discard` }),
    });
    expect(ids()).toEqual([id]);
    const question = await get(asked.headers.Location ?? '');
    expect(question.body).toContain('never gets this event');
    expect(question.body).toContain(`action="/console/dead-letters/${id}/discard?confirm=yes"`);

    const done = await post(`/console/dead-letters/${id}/discard?confirm=yes`, sameOrigin);
    expect(done.status).toBe(303);
    expect(ids()).toEqual([]);
    const record = await get(done.headers.Location ?? '');
    expect(record.body).toContain('ORDER-A');
    expect(record.body).toContain('Reloading this page shows it again');
    expect(store.actions()).toEqual([
      expect.objectContaining({ action: 'discard', summary: expect.stringContaining('1 letter') }),
    ]);
  });

  it('lets the letters of a rule no longer on the bus go without asking, and only those', async () => {
    letter('removed-subscriber', 'ORDER-R1');
    letter('removed-subscriber', 'ORDER-R2');
    letter('archive', 'ORDER-KEEP');
    const list = await get('/console/dead-letters');
    expect(list.body).toContain('Discard the 2 letter(s) of rules no longer on the bus');
    const done = await post('/console/dead-letters/discard?group=removed', sameOrigin);
    expect(done.status).toBe(303);
    expect(listDeadLetters(events).map((one) => orderIdOf(one.payload))).toEqual(['ORDER-KEEP']);
  });

  it('discards all of one rule after a confirmation, leaving the other rules’ letters', async () => {
    letter('archive', 'ORDER-1');
    letter('archive', 'ORDER-2');
    letter('subscriber-x', 'ORDER-3');
    expect((await post('/console/dead-letters/discard?group=rule%3Aarchive', sameOrigin)).status).toBe(303);
    expect(ids()).toHaveLength(3);
    await post('/console/dead-letters/discard?group=rule%3Aarchive&confirm=yes', sameOrigin);
    expect(listDeadLetters(events).map((one) => orderIdOf(one.payload))).toEqual(['ORDER-3']);
  });

  it('redrives all only after a confirmation, and can be limited to one rule', async () => {
    letter('archive', 'ORDER-1');
    letter('subscriber-x', 'ORDER-2');
    expect((await post('/console/dead-letters/redrive', sameOrigin)).headers.Location).toBe(
      '/console/dead-letters/redrive',
    );
    expect(redrive).not.toHaveBeenCalled();
    const archiveOnly = ids().at(-1);
    await post('/console/dead-letters/redrive?group=rule%3Aarchive&confirm=yes', sameOrigin);
    expect(redrive.mock.calls).toEqual([[archiveOnly]]);
  });
});

const orderIdOf = (payload: string): unknown => (JSON.parse(payload) as { detail: { orderId: string } }).detail.orderId;

describe('sending a request again', () => {
  const sameOrigin = { 'sec-fetch-site': 'same-origin', origin: ORIGIN };

  it('asks first, then sends the original request as a new, labelled one, and keeps it in the audit', async () => {
    recordRejection('req-bad');
    const page = await get('/console/executions/req-bad');
    expect(page.body).toContain('href="/console/executions/req-bad/send-again"');
    const asked = await post('/console/executions/req-bad/send-again', sameOrigin);
    expect(asked.headers.Location).toBe('/console/executions/req-bad/send-again');
    expect(sendAgain).not.toHaveBeenCalled();
    expect((await get(asked.headers.Location ?? '')).body).toContain('new request');

    const done = await post('/console/executions/req-bad/send-again?confirm=yes', sameOrigin);
    expect(done.status).toBe(303);
    expect(sendAgain).toHaveBeenCalledWith({
      method: 'POST',
      path: '/orders',
      headers: { 'X-Console-Sent-Again-From': 'req-bad', 'Content-Type': 'application/json' },
      body: JSON.stringify({ customerId: HOSTILE, items: [] }),
    });
    expect((await get(done.headers.Location ?? '')).body).toContain('href="/console/executions/req-new"');
  });

  it('never sends again an accepted order', async () => {
    store.recordExecution({
      name: 'req-ok',
      arn: 'arn:aws:states:local:000000000000:express:order-intake:req-ok',
      stateMachineArn: 'arn:aws:states:local:000000000000:stateMachine:order-intake',
      status: 'SUCCEEDED',
      startedAt: Date.now(),
      stoppedAt: Date.now() + 10,
      events: [{ type: 'ExecutionSucceeded', timestamp: Date.now(), output: { statusCode: 202, body: '{}' } }],
    });
    expect((await post('/console/executions/req-ok/send-again?confirm=yes', sameOrigin)).status).toBe(409);
    expect((await get('/console/executions/req-ok')).body).not.toContain('send-again');
    expect(sendAgain).not.toHaveBeenCalled();
  });
});

describe('the history export', () => {
  it('answers GetExecutionHistory’s shape: { events } numbered from 1, each linked to the one before', async () => {
    recordRejection('req-export');
    const answer = await get('/console/executions/req-export/history.json');
    expect(answer.headers['Content-Type']).toBe('application/json; charset=utf-8');
    const { events: history } = JSON.parse(answer.body) as { events: Record<string, unknown>[] };
    expect(history.map((event) => event.type)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSucceeded',
      'TaskStateExited',
      'PassStateEntered',
      'PassStateExited',
      'ExecutionSucceeded',
    ]);
    expect(history.map((event) => [event.id, event.previousEventId])).toEqual(
      history.map((_, index) => [index + 1, index]),
    );
    expect(history[2]).toMatchObject({
      taskScheduledEventDetails: { resourceType: 'lambda', resource: 'invoke', region: 'local' },
    });
    expect(typeof history[0]?.timestamp).toBe('string');
  });

  it('answers 404 for an execution it does not know', async () => {
    expect((await get('/console/executions/nope/history.json')).status).toBe(404);
    expect((await get('/console/orders/not-an-order-id')).status).toBe(404);
  });
});
