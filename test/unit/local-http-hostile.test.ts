/**
 * The hostile suite of the local HTTP surfaces, the API and the ops console, on a real node:http server: what a web
 * page elsewhere (DNS rebinding, cross-site requests), a neighbour on the network (the exposed console) and a careless
 * log reader could get from them. The API's integration is a recording fake: the subject is what reaches it.
 * docs/local.md states the threat model these cases hold.
 */
import { request as httpRequest } from 'node:http';
import type { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import type { ApiGateway, ApiRequest } from '../../local/apigateway/api-gateway.js';
import { RequestLog } from '../../local/apigateway/request-log.js';
import { startHttpServer, type HttpExchange, type RunningHttpServer } from '../../local/apigateway/server.js';
import type { HostNames } from '../../local/browser-guard.js';
import { consoleRoutes } from '../../local/console/console-http.js';
import { createOpsConsole } from '../../local/console/console-routes.js';
import { ConsoleStore } from '../../local/console/console-store.js';
import { isSecretHeader, withoutUrlSecrets } from '../../local/secrets.js';
import type { RecordedExecution } from '../../local/stepfunctions/execution-history.js';
import { listDeadLetters, openEventsDatabase, recordDeadLetter } from '../../local/eventbridge/events-database.js';
import { testOpsConsole } from '../support/ops-console.js';

const ORDER = '{"customerId":"CUST-7Q2K9M4X","items":[{"sku":"SKU-00012345","quantity":3}]}';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** node:http, since fetch will not send a Host of the caller's choosing. */
const send = (
  server: RunningHttpServer,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Answer> =>
  new Promise((done, failed) => {
    const sent = httpRequest(
      `${server.url}${path}`,
      { method, headers: { host: `localhost:${server.port}`, ...headers } },
      (answer) => {
        let text = '';
        answer.setEncoding('utf8').on('data', (part: string) => (text += part));
        answer.on('end', () => done({ status: answer.statusCode ?? 0, headers: answer.headers, body: text }));
      },
    );
    sent.on('error', failed);
    sent.end(body);
  });

/** A service's HTTP front as local/service.ts puts it together, with a fake integration and in-memory stores. */
async function startFront(hostNames: HostNames, token?: string) {
  const handled: ApiRequest[] = [];
  const recorded: HttpExchange[] = [];
  const gateway: ApiGateway = {
    async handle(request) {
      handled.push(request);
      return { status: 202, headers: { 'Content-Type': 'application/json' }, body: '{"orderId":"x"}' };
    },
  };
  const store = new ConsoleStore(':memory:');
  const events: DatabaseSync = openEventsDatabase(':memory:');
  // Every line the front logs, as text, to be searched for secrets.
  const logged: string[] = [];
  const logger = new Logger({ serviceName: 'test', logLevel: 'DEBUG' });
  for (const level of ['debug', 'info', 'warn', 'error'] as const) {
    jest.spyOn(logger, level).mockImplementation((...line: unknown[]) => {
      logged.push(JSON.stringify(line));
    });
  }
  const requestLog = new RequestLog(logger);
  const redrive = jest.fn(async () => ({ outcome: 'delivered' as const, detail: 'taken' }));
  const opsConsole = testOpsConsole(store, events, {
    archiveDir: '/nonexistent',
    redriveDeadLetter: redrive,
    hosts: hostNames,
    token,
  });
  const server = await startHttpServer({
    gateway,
    requestLog,
    localRoutes: consoleRoutes(opsConsole),
    onExchange: (exchange) => {
      recorded.push(exchange);
      store.recordExchange(exchange);
    },
    port: 0,
    // Listens on loopback either way: what differs is the names it answers to.
    host: '127.0.0.1',
    hostNames,
  });
  return {
    server,
    handled,
    recorded,
    logged,
    store,
    events,
    redrive,
    close: async () => {
      await server.close();
      requestLog.close();
      store.close();
      events.close();
    },
  };
}

type Front = Awaited<ReturnType<typeof startFront>>;

describe('the API on a loopback HOST', () => {
  let front: Front;
  beforeAll(async () => {
    front = await startFront('loopback');
  });
  afterAll(() => front.close());
  beforeEach(() => {
    front.handled.length = 0;
    front.recorded.length = 0;
  });

  const own = (): string => `http://localhost:${front.server.port}`;

  it.each([
    ['a foreign name (DNS rebinding)', 'attacker.example'],
    ['a name ending in localhost that is not under it', 'evil-localhost'],
    ['a loopback name on another port', 'localhost:1'],
    ['an address of this machine that is not loopback', '192.168.1.5'],
  ])('refuses a request whose Host is %s with 403 problem+json, reading and storing nothing', async (_case, host) => {
    const hostHeader = host.includes(':') ? host : `${host}:${front.server.port}`;
    for (const [method, path, body] of [
      ['POST', '/orders', ORDER],
      ['GET', '/orders/01JD8Q6ZK3M4N5P6Q7R8S9T0VW', undefined],
      ['GET', '/openapi.json', undefined],
    ] as const) {
      const answer = await send(front.server, method, path, { host: hostHeader }, body);
      expect(answer.status).toBe(403);
      expect(answer.headers['content-type']).toBe('application/problem+json');
      expect(JSON.parse(answer.body)).toMatchObject({
        status: 403,
        type: expect.stringMatching(/cross-site-request$/),
      });
    }
    expect(front.handled).toEqual([]);
  });

  it.each(['localhost', '127.0.0.1', '[::1]', 'app.localhost', 'LOCALHOST'])(
    'answers a request whose Host is %s on its port',
    async (name) => {
      const answer = await send(front.server, 'POST', '/orders', { host: `${name}:${front.server.port}` }, ORDER);
      expect(answer.status).toBe(202);
      expect(front.handled).toHaveLength(1);
    },
  );

  it.each([
    ['a no-cors POST of a Blob (no Content-Type) from any site', { 'sec-fetch-site': 'cross-site' }],
    ['a POST from another site', { 'sec-fetch-site': 'cross-site', origin: 'https://attacker.example' }],
    ['a POST from another port of localhost', { 'sec-fetch-site': 'same-site', origin: 'http://localhost:5173' }],
    ['a POST from an opaque origin', { origin: 'null' }],
    [
      'a POST whose Origin is foreign though the browser says same-origin',
      { 'sec-fetch-site': 'same-origin', origin: 'http://attacker.example' },
    ],
    ['an Origin on this machine but another port', { origin: 'http://127.0.0.1:1' }],
    ['an https Origin of this machine', { origin: 'https://localhost' }],
  ])('refuses %s with 403 problem+json, storing nothing', async (_case, headers: Record<string, string>) => {
    const answer = await send(front.server, 'POST', '/orders', headers, ORDER);
    expect(answer.status).toBe(403);
    expect(answer.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(answer.body).detail).toMatch(/^Nothing was read or stored: /);
    expect(front.handled).toEqual([]);
    expect(front.recorded).toEqual([]);
  });

  it('answers curl, SDKs and the project’s tools (no Origin, no Sec-Fetch-Site) as before', async () => {
    const answer = await send(front.server, 'POST', '/orders', { 'content-type': 'application/json' }, ORDER);
    expect(answer.status).toBe(202);
    expect(front.handled).toHaveLength(1);
  });

  it('answers a page of its own origin, and reads from anywhere on this machine (GET changes nothing)', async () => {
    const fromOwnPage = { origin: own(), 'sec-fetch-site': 'same-origin' };
    expect((await send(front.server, 'POST', '/orders', fromOwnPage, ORDER)).status).toBe(202);
    const navigation = { 'sec-fetch-site': 'cross-site' };
    expect((await send(front.server, 'GET', '/openapi.json', navigation)).status).toBe(202);
    expect(front.handled.map((request) => request.method)).toEqual(['POST', 'GET']);
  });

  it('refuses the console to a foreign Host too, with the same rule', async () => {
    const rebound = await send(front.server, 'GET', '/console', { host: `attacker.example:${front.server.port}` });
    expect(rebound.status).toBe(403);
    expect(rebound.body).toContain('DNS rebinding');
    expect((await send(front.server, 'GET', '/console')).status).toBe(200);
  });
});

describe('an exposed console (a HOST open to the network, the console on)', () => {
  const TOKEN = 'a-token-of-this-start';
  let front: Front;
  let cookie: string;
  beforeAll(async () => {
    front = await startFront('any', TOKEN);
  });
  afterAll(() => front.close());
  beforeEach(() => {
    front.redrive.mockClear();
    if (listDeadLetters(front.events).length === 0) {
      recordDeadLetter(front.events, {
        origin: { kind: 'rule', ruleName: 'archive' },
        reference: 'e1',
        payload: '{}',
        reason: 'test',
      });
    }
  });

  const lan = (): string => `192.168.1.5:${front.server.port}`;
  const letterPath = (): string => `/console/dead-letters/${listDeadLetters(front.events)[0]?.id}/redrive`;

  it('is never built without a token', () => {
    expect(() =>
      createOpsConsole({
        store: front.store,
        events: front.events,
        dynamodb: new DynamoDBClient({ region: 'local' }),
        tableName: 'orders',
        archiveDir: '/nonexistent',
        definition: { StartAt: 'Validate', States: {} },
        redriveDeadLetter: front.redrive,
        ruleNames: ['archive'],
        hosts: 'any',
      }),
    ).toThrow(/needs a token/);
  });

  it.each([
    ['no token, on its own address', { host: '192.168.1.5' }],
    ['no token, from a page of another name resolving here (DNS rebinding)', { host: 'attacker.example' }],
    ['a wrong token in a cookie', { host: '192.168.1.5', cookie: 'order-intake-console-PORT=guess' }],
  ])('refuses a page with %s', async (_case, given: Record<string, string>) => {
    const headers: Record<string, string> = { ...given, host: `${given.host}:${front.server.port}` };
    if (headers.cookie) headers.cookie = headers.cookie.replace('PORT', String(front.server.port));
    for (const path of ['/console', '/console/dead-letters', '/console/live', '/console/assets/console.js']) {
      const answer = await send(front.server, 'GET', path, headers);
      expect([path, answer.status]).toEqual([path, 403]);
    }
    expect((await send(front.server, 'GET', '/console?token=guess', headers)).status).toBe(403);
  });

  it('trades the printed ?token= for an HttpOnly SameSite=Strict cookie and takes it out of the address', async () => {
    const answer = await send(front.server, 'GET', `/console?status=FAILED&token=${TOKEN}`, { host: lan() });
    expect(answer.status).toBe(303);
    expect(answer.headers.location).toBe('/console?status=FAILED');
    const [setCookie] = answer.headers['set-cookie'] as string[];
    expect(setCookie).toBe(
      `order-intake-console-${front.server.port}=${TOKEN}; Path=/console; HttpOnly; SameSite=Strict`,
    );
    cookie = String(setCookie).split(';')[0] as string;

    expect((await send(front.server, 'GET', '/console?status=FAILED', { host: lan(), cookie })).status).toBe(200);
  });

  it('changes nothing for a cross-site POST, even with the cookie, nor for a POST with the token in its query', async () => {
    const crossSite = { host: lan(), cookie, 'sec-fetch-site': 'cross-site', origin: 'http://attacker.example' };
    expect((await send(front.server, 'POST', letterPath(), crossSite)).status).toBe(403);
    const withQuery = { host: lan(), 'sec-fetch-site': 'same-origin', origin: `http://${lan()}` };
    expect((await send(front.server, 'POST', `${letterPath()}?token=${TOKEN}`, withQuery)).status).toBe(403);
    expect(front.redrive).not.toHaveBeenCalled();

    const fromItsPage = { host: lan(), cookie, 'sec-fetch-site': 'same-origin', origin: `http://${lan()}` };
    // Done, and answered with a redirect to its record (POST-redirect-GET).
    expect((await send(front.server, 'POST', letterPath(), fromItsPage)).status).toBe(303);
    expect(front.redrive).toHaveBeenCalledTimes(1);
  });

  it('leaves the API open to the network by choice, but not to other sites’ pages', async () => {
    expect((await send(front.server, 'POST', '/orders', { host: lan() }, ORDER)).status).toBe(202);
    const crossSite = { host: lan(), 'sec-fetch-site': 'cross-site' };
    expect((await send(front.server, 'POST', '/orders', crossSite, ORDER)).status).toBe(403);
    // A rebinding page is same-origin with itself: its own name in Host and Origin. The API has no pages of its own.
    const rebound = `attacker.example:${front.server.port}`;
    const fromRebindingPage = { host: rebound, origin: `http://${rebound}`, 'sec-fetch-site': 'same-origin' };
    expect((await send(front.server, 'POST', '/orders', fromRebindingPage, ORDER)).status).toBe(403);
    expect(front.handled).toHaveLength(1);
  });
});

describe('secrets, never stored or shown', () => {
  it.each([
    'Authorization',
    'Proxy-Authorization',
    'Cookie',
    'Set-Cookie',
    'X-Api-Key',
    'X-Amz-Security-Token',
    'X-Auth-Token',
    'X-Client-Secret',
    'X-Session-Id',
    'X-Db-Password',
    'Private-Key',
  ])('redacts %s by its name', (name) => {
    expect(isSecretHeader(name)).toBe(true);
  });

  it.each(['Idempotency-Key', 'idempotency-key', 'Content-Type', 'Accept', 'X-Request-Id', 'Keep-Alive'])(
    'keeps %s',
    (name) => {
      expect(isSecretHeader(name)).toBe(false);
    },
  );

  it.each([
    ['https://hooks.example/in?key=SECRET', 'https://hooks.example/in?…'],
    ['connect to http://user:SECRET@hooks.example:8080/a/b failed', 'connect to http://hooks.example:8080/a/b failed'],
    ['"https://x.example/p#access_token=SECRET", then', '"https://x.example/p?…", then'],
    ['no URL here?key=value', 'no URL here?key=value'],
  ])('cuts a URL in a text to scheme, host and path: %s', (text, cut) => {
    expect(withoutUrlSecrets(text)).toBe(cut);
  });

  describe('on the API’s recording, the console’s pages and the logs', () => {
    let front: Front;
    beforeAll(async () => {
      front = await startFront('loopback');
    });
    afterAll(() => front.close());

    const SECRET = 'S3CRET-VALUE';
    const secretHeaders = {
      authorization: `Bearer ${SECRET}`,
      'proxy-authorization': `Basic ${SECRET}`,
      cookie: `sid=${SECRET}`,
      'x-api-key': SECRET,
      'x-amz-security-token': SECRET,
      'x-session-id': SECRET,
      'x-client-secret': SECRET,
    };

    /** An execution named after the request, so that the console shows the exchange on the execution's page. */
    const recordExecutionOf = (name: string): void => {
      const execution: RecordedExecution = {
        name,
        arn: `arn:aws:states:local:000000000000:express:order-intake:${name}`,
        stateMachineArn: 'arn:aws:states:local:000000000000:stateMachine:order-intake',
        status: 'SUCCEEDED',
        startedAt: Date.now(),
        stoppedAt: Date.now() + 1,
        events: [
          { type: 'ExecutionStarted', timestamp: Date.now(), input: { requestId: name, body: '' } },
          { type: 'ExecutionSucceeded', timestamp: Date.now() + 1, output: { statusCode: 202, body: '{}' } },
        ],
      };
      front.store.recordExecution(execution);
    };

    it('records, stores and shows a request’s secret headers as (redacted), its Idempotency-Key as sent', async () => {
      const headers = { ...secretHeaders, 'idempotency-key': 'key-of-my-choosing-1' };
      const answer = await send(front.server, 'POST', '/orders', headers, ORDER);
      expect(answer.status).toBe(202);
      const recorded = front.recorded.at(-1);
      const requestId = String(recorded?.requestId);
      expect(JSON.stringify(recorded)).not.toContain(SECRET);
      expect(recorded?.requestHeaders).toMatchObject({ 'x-api-key': '(redacted)', cookie: '(redacted)' });
      expect(recorded?.requestHeaders['idempotency-key']).toBe('key-of-my-choosing-1');
      expect(JSON.stringify(front.store.exchange(requestId))).not.toContain(SECRET);

      recordExecutionOf(requestId);
      const page = await send(front.server, 'GET', `/console/executions/${requestId}`);
      expect(page.status).toBe(200);
      expect(page.body).not.toContain(SECRET);
      expect(page.body).toContain('key-of-my-choosing-1');
      expect(front.logged.join('\n')).not.toContain(SECRET);
    });

    it('shows an exchange recorded by an older version, secrets and all, redacted', async () => {
      front.store.recordExchange({
        requestId: 'old-record',
        startedAt: Date.now(),
        durationMs: 1,
        method: 'POST',
        path: '/orders',
        requestHeaders: { 'X-Api-Key': SECRET, 'Proxy-Authorization': SECRET },
        requestBody: ORDER,
        status: 202,
        responseHeaders: { 'Set-Cookie': `sid=${SECRET}` },
        responseBody: '{}',
      });
      recordExecutionOf('old-record');
      const page = await send(front.server, 'GET', '/console/executions/old-record');
      expect(page.status).toBe(200);
      expect(page.body).toContain('X-Api-Key');
      expect(page.body).not.toContain(SECRET);
    });
  });
});

describe('limits', () => {
  let front: Front;
  beforeAll(async () => {
    front = await startFront('loopback');
  });
  afterAll(() => front.close());

  it('answers a refused page’s request before reading its body, and closes the connection', async () => {
    const answer = await new Promise<{ status: number; connection: string | undefined }>((done, failed) => {
      const sent = httpRequest(`${front.server.url}/orders`, {
        method: 'POST',
        headers: { host: `attacker.example:${front.server.port}`, 'content-length': String(50 * 1024 * 1024) },
      });
      sent.on('response', (response) => {
        done({ status: response.statusCode ?? 0, connection: response.headers.connection });
        response.resume();
        sent.destroy();
      });
      sent.on('error', failed);
      // One chunk of a 50 MB body that never comes: the answer must not wait for it.
      sent.write(Buffer.alloc(64 * 1024));
    });
    expect(answer).toEqual({ status: 403, connection: 'close' });
    expect(front.handled).toEqual([]);
  });

  it('refuses a body over API Gateway’s 10 MB with 413, handing nothing on', async () => {
    const before = front.handled.length;
    const answer = await send(front.server, 'POST', '/orders', {}, 'x'.repeat(10 * 1024 * 1024 + 1));
    expect(answer.status).toBe(413);
    expect(front.handled).toHaveLength(before);
  });
});
