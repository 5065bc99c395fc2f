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
import { openEventsDatabase } from '../../local/eventbridge/events-database.js';

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
async function startFront(hostNames: HostNames) {
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
  const logger = new Logger({ serviceName: 'test', logLevel: 'SILENT' });
  const requestLog = new RequestLog(logger);
  const redrive = jest.fn(async () => ({ outcome: 'delivered' as const, detail: 'taken' }));
  const opsConsole = createOpsConsole({
    store,
    events,
    dynamodb: new DynamoDBClient({ region: 'local' }),
    tableName: 'orders',
    archiveDir: '/nonexistent',
    states: {},
    redriveDeadLetter: redrive,
    hosts: hostNames,
  });
  const server = await startHttpServer({
    gateway,
    logger,
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
