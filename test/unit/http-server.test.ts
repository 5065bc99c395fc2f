/** The node:http front: body buffering and its cap, request ids, the per-request log line and its folding. */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { createApiGateway } from '../../local/apigateway/api-gateway.js';
import { MAX_REQUEST_BODY_BYTES } from '../../local/apigateway/gateway-responses.js';
import { loadOpenApiDocument } from '../../local/apigateway/openapi.js';
import { RequestLog, type RequestSummary } from '../../local/apigateway/request-log.js';
import { startHttpServer, type HttpExchange, type RunningHttpServer } from '../../local/apigateway/server.js';
import { loadApiMappingTemplates } from '../../local/apigateway/vtl/api-templates.js';
import type { OrderWorkflow, SyncExecutionResult } from '../../local/stepfunctions/order-workflow.js';
import { deployedAuthorizers } from '../support/iam.js';

const STATE_MACHINE_ARN = 'arn:aws:states:local:000000000000:stateMachine:order-intake';
const ORDER_ID = '01JD8Q6ZK3M4N5P6Q7R8S9T0VW';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const received: { input: { requestId: string; body: string }; name: string }[] = [];
const workflow: OrderWorkflow = {
  async startSyncExecution(input, name): Promise<SyncExecutionResult> {
    received.push({ input: input as { requestId: string; body: string }, name });
    return {
      executionArn: 'arn:x',
      status: 'SUCCEEDED',
      output: JSON.stringify({
        statusCode: 202,
        headers: { 'Content-Type': 'application/json', Location: `/orders/${ORDER_ID}` },
        body: JSON.stringify({ orderId: ORDER_ID }),
      }),
    };
  },
};

const logger = new Logger({ serviceName: 'test', logLevel: 'INFO' });
const logged: RequestSummary[] = [];
const exchanges: HttpExchange[] = [];
const warned: [string, Record<string, unknown>][] = [];
const dynamodb = new DynamoDBClient({ region: 'local' });
let server: RunningHttpServer;
let requestLog: RequestLog;

beforeAll(async () => {
  jest.spyOn(logger, 'info').mockImplementation((_message, ...extra) => {
    logged.push(extra[0] as unknown as RequestSummary);
  });
  jest.spyOn(logger, 'warn').mockImplementation((message, ...extra) => {
    warned.push([String(message), extra[0] as Record<string, unknown>]);
  });
  requestLog = new RequestLog(logger);
  const gateway = createApiGateway({
    templates: loadApiMappingTemplates({ StateMachineArn: STATE_MACHINE_ARN, OrdersTableName: 'orders' }),
    stateMachineArn: STATE_MACHINE_ARN,
    workflow,
    dynamodb,
    iam: deployedAuthorizers({ tableName: 'orders', stateMachineArn: STATE_MACHINE_ARN }).api,
    openApi: loadOpenApiDocument(),
    logger,
  });
  server = await startHttpServer({
    gateway,
    requestLog,
    port: 0,
    host: '127.0.0.1',
    onExchange: (exchange) => exchanges.push(exchange),
  });
});
afterAll(async () => {
  await server.close();
  requestLog.close();
  dynamodb.destroy();
});

const post = (body: Buffer | string, headers: Record<string, string> = { 'Content-Type': 'application/json' }) =>
  fetch(`${server.url}/orders`, { method: 'POST', headers, body });

describe('request bodies', () => {
  it('passes a body well over the contract 1 KB to the workflow intact (Validate answers 413, not the server)', async () => {
    // 1,210 characters (the request template passes up to 2,048 on), 2,410 UTF-8 bytes.
    const body = Buffer.from(`{"pad":"${'é😀'.repeat(400)}"}`, 'utf8');
    const response = await post(body);

    expect(response.status).toBe(202);
    const { input } = received.at(-1) ?? { input: { body: '' } };
    expect(Buffer.from(input.body, 'base64').equals(body)).toBe(true);
  });

  it('refuses a body over 10 MB with 413 problem+json, without running the workflow', async () => {
    const before = received.length;
    const response = await post(Buffer.alloc(MAX_REQUEST_BODY_BYTES + 1, 'a'));
    const problem = (await response.json()) as Record<string, unknown>;

    expect(response.status).toBe(413);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(problem).toMatchObject({ status: 413, requestId: response.headers.get('x-amzn-requestid') });
    expect(problem.detail).toContain(String(MAX_REQUEST_BODY_BYTES));
    expect(received.length).toBe(before);
  });

  it('counts a chunked body without Content-Length the same way', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 'b');
    const response = await new Promise<{ status: number; body: string }>((done, failed) => {
      const sent = httpRequest(`${server.url}/orders`, { method: 'POST' }, (answer) => {
        let body = '';
        answer.setEncoding('utf8').on('data', (part: string) => (body += part));
        answer.on('end', () => done({ status: answer.statusCode ?? 0, body }));
      });
      sent.on('error', failed);
      for (let i = 0; i < 11; i += 1) sent.write(chunk);
      sent.end();
    });

    expect(response.status).toBe(413);
    expect(JSON.parse(response.body).detail).toContain(String(MAX_REQUEST_BODY_BYTES));
  });
});

/** Sends raw HTTP/1.1 (header names no HTTP client would let through as object keys) and reads the whole answer. */
const rawExchange = (port: number, text: string): Promise<string> =>
  new Promise((done, failed) => {
    let answer = '';
    const socket = connect(port, '127.0.0.1', () => socket.end(text));
    socket.setEncoding('utf8').on('data', (part: string) => (answer += part));
    socket.on('end', () => done(answer)).on('error', failed);
  });

describe('recorded headers', () => {
  it('keeps headers named toString, constructor and __proto__ as the client sent them', async () => {
    const port = Number(new URL(server.url).port);
    const answer = await rawExchange(
      port,
      'GET /nowhere HTTP/1.1\r\nHost: localhost\r\ntoString: x\r\n__proto__: y\r\nconstructor: z\r\n' +
        'Connection: close\r\n\r\n',
    );
    const requestId = /x-amzn-requestid: (\S+)/i.exec(answer)?.[1];
    const recorded = exchanges.find((exchange) => exchange.requestId === requestId)?.requestHeaders ?? {};

    expect(Object.entries(recorded)).toEqual(
      expect.arrayContaining([
        ['toString', 'x'],
        ['__proto__', 'y'],
        ['constructor', 'z'],
      ]),
    );
    // As the console stores and reads it back.
    expect(Object.entries(JSON.parse(JSON.stringify(recorded)) as object)).toEqual(Object.entries(recorded));
  });
});

describe('what is not an API exchange', () => {
  it('serves /favicon.ico to a browser, and neither logs nor records it', async () => {
    const [exchangesBefore, loggedBefore] = [exchanges.length, logged.length];
    const icon = await fetch(`${server.url}/favicon.ico`);

    expect(icon.status).toBe(200);
    expect(icon.headers.get('content-type')).toBe('image/svg+xml');
    expect(await icon.text()).toMatch(/^<svg /);
    expect(exchanges.length).toBe(exchangesBefore);
    expect(logged.length).toBe(loggedBefore);
  });

  it('tells a request the client abandoned mid-body in one short warn line: its reason, no stack', async () => {
    const port = Number(new URL(server.url).port);
    await new Promise<void>((done) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write('POST /orders HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{"part');
        setTimeout(() => socket.destroy(), 50);
      });
      socket.on('close', () => done()).on('error', () => undefined);
    });
    for (let wait = 0; wait < 100 && !warned.some(([message]) => message === 'request abandoned'); wait += 1) {
      await new Promise((wake) => setTimeout(wake, 20));
    }

    const line = warned.find(([message]) => message === 'request abandoned')?.[1];
    expect(line).toEqual({
      method: 'POST',
      path: '/orders',
      requestId: expect.stringMatching(UUID),
      reason: 'ECONNRESET',
    });
    expect(JSON.stringify(warned)).not.toMatch(/stack|\bat \S+ \(/);
  });
});

describe('request ids and the log', () => {
  it('gives each request a fresh UUID, sent as x-amzn-RequestId and used as the execution name', async () => {
    const responses = await Promise.all([post('{}'), post('{}'), fetch(`${server.url}/nowhere`)]);
    const ids = responses.map((response) => response.headers.get('x-amzn-requestid'));
    expect(responses.slice(0, 2).map((response) => response.headers.get('x-request-id'))).toEqual(ids.slice(0, 2));

    for (const id of ids) expect(id).toMatch(UUID);
    expect(new Set(ids).size).toBe(3);
    expect(
      received
        .slice(-2)
        .map((execution) => execution.name)
        .sort(),
    ).toEqual(ids.slice(0, 2).sort());
  });

  it('writes one summary line per request with method, path, status, duration, request id and orderId', async () => {
    const response = await post('{}');
    const requestId = response.headers.get('x-request-id');
    const line = logged.find((summary) => summary.requestId === requestId);

    expect(line).toEqual({
      method: 'POST',
      path: '/orders',
      status: 202,
      durationMs: expect.any(Number),
      requestId,
      orderId: ORDER_ID,
    });
  });
});

describe('RequestLog under load', () => {
  const summary = (status: number): RequestSummary => ({
    method: 'GET',
    path: '/x',
    status,
    durationMs: 1,
    requestId: 'r',
  });

  it('writes the first lines of each second and folds the rest into one counted line', () => {
    jest.useFakeTimers({ now: 0 });
    const quiet = new Logger({ serviceName: 'test', logLevel: 'INFO' });
    const lines: [string, unknown][] = [];
    jest.spyOn(quiet, 'info').mockImplementation((message, ...extra) => {
      lines.push([String(message), extra[0]]);
    });
    const log = new RequestLog(quiet, { linesPerSecond: 3 });

    for (let i = 0; i < 10; i += 1) log.record(summary(i < 8 ? 202 : 409));
    expect(lines.map(([message]) => message)).toEqual(['request', 'request', 'request']);

    jest.advanceTimersByTime(1000);
    expect(lines[3]).toEqual(['requests folded under load', { requests: 7, byStatus: { 202: 5, 409: 2 } }]);

    log.record(summary(202));
    expect(lines).toHaveLength(5);
    log.close();
    jest.useRealTimers();
  });

  it('folds abandoned requests the same way, by reason, at WARN', () => {
    jest.useFakeTimers({ now: 0 });
    const warnOnly = new Logger({ serviceName: 'test', logLevel: 'WARN' });
    const lines: [string, unknown][] = [];
    jest.spyOn(warnOnly, 'warn').mockImplementation((message, ...extra) => {
      lines.push([String(message), extra[0]]);
    });
    const log = new RequestLog(warnOnly, { linesPerSecond: 2 });
    const abandoned = (reason: string) => ({ method: 'POST', path: '/orders', requestId: 'r', reason });

    for (let i = 0; i < 10; i += 1) log.abandoned(abandoned(i < 7 ? 'ECONNRESET' : 'aborted'));
    expect(lines).toEqual([
      ['request abandoned', abandoned('ECONNRESET')],
      ['request abandoned', abandoned('ECONNRESET')],
    ]);
    jest.advanceTimersByTime(1000);
    expect(lines[2]).toEqual(['abandoned requests folded', { requests: 8, byReason: { ECONNRESET: 5, aborted: 3 } }]);
    log.close();
    jest.useRealTimers();
  });

  it('writes nothing at WARN', () => {
    const warnOnly = new Logger({ serviceName: 'test', logLevel: 'WARN' });
    const info = jest.spyOn(warnOnly, 'info');
    const log = new RequestLog(warnOnly);
    log.record(summary(202));
    log.close();

    expect(info).not.toHaveBeenCalled();
  });
});
