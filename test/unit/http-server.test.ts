/** The node:http front: body buffering and its cap, request ids, the per-request log line and its folding. */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { createApiGateway } from '../../local/apigateway/api-gateway.js';
import { MAX_REQUEST_BODY_BYTES } from '../../local/apigateway/gateway-responses.js';
import { loadOpenApiDocument } from '../../local/apigateway/openapi.js';
import { RequestLog, type RequestLogOptions, type RequestSummary } from '../../local/apigateway/request-log.js';
import {
  HTTP_LIMITS,
  startHttpServer,
  type HttpExchange,
  type HttpLimits,
  type RunningHttpServer,
} from '../../local/apigateway/server.js';
import type { ApiGateway } from '../../local/apigateway/api-gateway.js';
import { loadApiMappingTemplates } from '../../local/apigateway/vtl/api-templates.js';
import type { OrderWorkflow, SyncExecutionResult } from '../../local/stepfunctions/order-workflow.js';
import { eventually } from '../support/eventually.js';
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
  // Failure and abandon lines go to the logger itself, so that its spied warn sees them.
  requestLog = new RequestLog(logger, { failures: logger });
  const gateway = createApiGateway({
    templates: loadApiMappingTemplates({ StateMachineArn: STATE_MACHINE_ARN, OrdersTableName: 'orders' }),
    stateMachineArn: STATE_MACHINE_ARN,
    workflow,
    dynamodb,
    iam: deployedAuthorizers({ tableName: 'orders', stateMachineArn: STATE_MACHINE_ARN }).api,
    openApi: loadOpenApiDocument(),
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

/** `Host: localhost` with the server's port, as curl or a browser sends it: the API refuses other names. */
const withOwnHost = (text: string, port: number): string =>
  text.replace('Host: localhost\r\n', `Host: localhost:${port}\r\n`);

/** Sends raw HTTP/1.1 (header names no HTTP client would let through as object keys) and reads the whole answer. */
const rawExchange = (port: number, text: string): Promise<string> =>
  new Promise((done, failed) => {
    let answer = '';
    const socket = connect(port, '127.0.0.1', () => socket.end(withOwnHost(text, port)));
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
        socket.write(
          withOwnHost('POST /orders HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{"part', port),
        );
        setTimeout(() => socket.destroy(), 50);
      });
      socket.on('close', () => done()).on('error', () => undefined);
    });
    await eventually('the abandoned request is logged', () =>
      warned.some(([message]) => message === 'request abandoned'),
    );

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

/** What a raw client saw: the answer's status line, whether the server closed the connection, how much was sent. */
interface RawOutcome {
  statusLine: string;
  closedByServer: boolean;
  bytesSent: number;
}

/**
 * Sends `head`, then body bytes (`chunk` at a time, every `everyMs`, or as fast as the socket takes them) until
 * `bodyBytes` are sent or the server answers or closes; `keepOpenMs` after the answer, the client gives up itself.
 */
function rawClient(
  port: number,
  head: string,
  {
    bodyBytes,
    chunk,
    everyMs = 0,
    keepOpenMs = 5_000,
  }: { bodyBytes: number; chunk: Buffer; everyMs?: number; keepOpenMs?: number },
): Promise<RawOutcome> {
  return new Promise((done) => {
    let answer = '';
    let bytesSent = 0;
    let closedByServer = false;
    const socket = connect(port, '127.0.0.1');
    const finish = (): void => done({ statusLine: answer.split('\r\n')[0] ?? '', closedByServer, bytesSent });
    const send = (): void => {
      while (!socket.destroyed && !answer && bytesSent < bodyBytes) {
        bytesSent += chunk.byteLength;
        const more = socket.write(chunk);
        if (everyMs > 0) return void setTimeout(send, everyMs);
        if (!more) return void socket.once('drain', send);
      }
    };
    socket.on('connect', () => {
      socket.write(withOwnHost(head, port));
      send();
    });
    socket.setEncoding('utf8').on('data', (part: string) => {
      if (!answer) setTimeout(() => socket.destroy(), keepOpenMs).unref();
      answer += part;
    });
    socket.on('end', () => (closedByServer = true));
    socket.on('error', () => (closedByServer = true));
    socket.on('close', finish);
  });
}

describe('limits', () => {
  it('are bounded: requests within 10-30 s, checked often, and room for the races test and the bench burst', () => {
    const { headersTimeoutMs, requestTimeoutMs, checkIntervalMs, maxConnections } = HTTP_LIMITS;
    for (const timeout of [headersTimeoutMs, requestTimeoutMs]) {
      expect(timeout).toBeGreaterThanOrEqual(10_000);
      expect(timeout).toBeLessThanOrEqual(30_000);
    }
    expect(headersTimeoutMs).toBeLessThanOrEqual(requestTimeoutMs);
    expect(checkIntervalMs).toBeLessThanOrEqual(headersTimeoutMs / 5);
    // The races chaos test sends 1,000 requests at once; the bench's burst uses 500 connections.
    expect(maxConnections).toBeGreaterThan(1_000);
  });

  it('answers a body declared over 10 MB with 413 and closes the connection without reading the rest', async () => {
    const port = Number(new URL(server.url).port);
    const declared = 60 * 1024 * 1024;
    const outcome = await rawClient(
      port,
      `POST /orders HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\n\r\n`,
      { bodyBytes: declared, chunk: Buffer.alloc(64 * 1024, 'a') },
    );

    expect(outcome.statusLine).toBe('HTTP/1.1 413 Payload Too Large');
    expect(outcome.closedByServer).toBe(true);
    // What the kernel's buffers took before the close, not the 60 MB.
    expect(outcome.bytesSent).toBeLessThan(declared / 2);
  });

  it('stops reading a chunked body once it passes 10 MB: 413, then the connection closes', async () => {
    const port = Number(new URL(server.url).port);
    const chunk = Buffer.from(`10000\r\n${'b'.repeat(0x10000)}\r\n`);
    const outcome = await rawClient(
      port,
      'POST /orders HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n',
      { bodyBytes: 60 * 1024 * 1024, chunk },
    );

    expect(outcome.statusLine).toBe('HTTP/1.1 413 Payload Too Large');
    expect(outcome.closedByServer).toBe(true);
    expect(outcome.bytesSent).toBeLessThan(30 * 1024 * 1024);
  });

  describe('with shortened timeouts and cap', () => {
    const short: HttpLimits = {
      headersTimeoutMs: 600,
      requestTimeoutMs: 1_200,
      checkIntervalMs: 100,
      maxConnections: 3,
    };
    let limited: RunningHttpServer;
    let limitedLog: RequestLog;
    const answerAfterMs = 2_000;
    // Answers after longer than the request timeout: the timeouts bound receiving a request, not answering it.
    const slowGateway: ApiGateway = {
      handle: async (request) => {
        await new Promise((wake) => setTimeout(wake, request.path === '/slow' ? answerAfterMs : 0));
        return { status: 200, headers: { 'Content-Type': 'text/plain' }, body: 'answered' };
      },
    };
    beforeAll(async () => {
      limitedLog = new RequestLog(new Logger({ serviceName: 'test', logLevel: 'SILENT' }));
      limited = await startHttpServer({
        gateway: slowGateway,
        requestLog: limitedLog,
        port: 0,
        host: '127.0.0.1',
        limits: short,
      });
    });
    afterAll(async () => {
      await limited.close();
      limitedLog.close();
    });
    const port = (): number => Number(new URL(limited.url).port);

    it('answers 408 to a body that trickles in, at the request timeout, not minutes later', async () => {
      const started = Date.now();
      const outcome = await rawClient(
        port(),
        'POST /orders HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n',
        {
          bodyBytes: 100,
          chunk: Buffer.from('a'),
          everyMs: 200,
          keepOpenMs: 0,
        },
      );

      expect(outcome.statusLine).toBe('HTTP/1.1 408 Request Timeout');
      expect(Date.now() - started).toBeGreaterThanOrEqual(short.requestTimeoutMs - 50);
      // Well before the 100 bytes' 20 s: the check runs every 100 ms (Node's default 30 s would let it finish).
      expect(outcome.bytesSent).toBeLessThan(100);
    });

    it('answers 408 to headers that never end, at the headers timeout', async () => {
      const outcome = await rawClient(port(), 'GET /orders HTTP/1.1\r\nHost: localhost\r\n', {
        bodyBytes: 50,
        chunk: Buffer.from('X'),
        everyMs: 100,
        keepOpenMs: 0,
      });
      expect(outcome.statusLine).toBe('HTTP/1.1 408 Request Timeout');
      expect(outcome.bytesSent).toBeLessThan(50);
    });

    it('does not cut an answer that takes longer than the request timeout', async () => {
      const response = await fetch(`${limited.url}/slow`);
      expect([response.status, await response.text()]).toEqual([200, 'answered']);
    });

    it('closes a connection past the cap at once, and takes new ones when one is free again', async () => {
      const held = await Promise.all(
        Array.from({ length: short.maxConnections }, async () => {
          const socket = connect(port(), '127.0.0.1');
          await new Promise((opened) => socket.once('connect', opened));
          return socket;
        }),
      );
      try {
        const refused = await rawClient(port(), 'GET /fast HTTP/1.1\r\nHost: localhost\r\n\r\n', {
          bodyBytes: 0,
          chunk: Buffer.alloc(0),
        });
        expect(refused).toMatchObject({ statusLine: '', closedByServer: true });
      } finally {
        for (const socket of held) socket.destroy();
      }
      // The server counts a connection as gone once it has seen its close.
      for (let attempt = 0; attempt < 50; attempt += 1) {
        const answered = await fetch(`${limited.url}/fast`).then(
          (response) => response.status,
          () => 0,
        );
        if (answered === 200) return;
        await new Promise((wake) => setTimeout(wake, 50));
      }
      throw new Error('no connection was taken after the held ones closed');
    });
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

  /** A logger at `level` whose `method` lines are kept, as [message, attributes], instead of printed. */
  const linesAt = (level: 'INFO' | 'WARN', method: 'info' | 'warn') => {
    const logger = new Logger({ serviceName: 'test', logLevel: level });
    const lines: [string, unknown][] = [];
    jest.spyOn(logger, method).mockImplementation((message, ...extra) => {
      lines.push([String(message), extra[0]]);
    });
    return { logger, lines };
  };

  it('writes the first lines of each second and folds the rest into one counted line', () => {
    jest.useFakeTimers({ now: 0 });
    const { logger: quiet, lines } = linesAt('INFO', 'info');
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
    const { logger: warnOnly, lines } = linesAt('WARN', 'warn');
    const log = new RequestLog(warnOnly, { linesPerSecond: 2, failures: warnOnly });
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

describe('RequestLog failures', () => {
  const failing = (status: number, error: string, requestId = 'r', executionStatus?: string): RequestSummary => ({
    method: 'POST',
    path: '/orders',
    status,
    durationMs: 1,
    requestId,
    failure: {
      executionName: requestId,
      error,
      cause: `${error} because`,
      ...(executionStatus && { executionStatus }),
    },
  });
  const capture = (level: Parameters<typeof Logger.prototype.setLogLevel>[0]) => {
    const logger = new Logger({ serviceName: 'test', logLevel: level });
    const lines: [string, string, Record<string, unknown>][] = [];
    const failures = {
      error: (message: string, extra: Record<string, unknown>) => lines.push(['ERROR', message, extra]),
      warn: (message: string, extra: Record<string, unknown>) => lines.push(['WARN', message, extra]),
    };
    jest.spyOn(logger, 'info').mockImplementation(() => undefined);
    return { logger, lines, failures: failures as unknown as RequestLogOptions['failures'] };
  };

  it.each(['DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL'] as const)(
    'writes every 5xx at LOG_LEVEL=%s: ERROR with request id, execution, error and cause; WARN for a 503',
    (level) => {
      const { logger, lines, failures } = capture(level);
      const log = new RequestLog(logger, { failures });
      log.record(failing(500, 'States.TaskFailed', 'a', 'FAILED'));
      log.record(failing(503, 'Service Unavailable', 'b'));
      log.record(failing(503, 'States.Timeout', 'c', 'TIMED_OUT'));
      log.close();

      expect(lines).toEqual([
        [
          'ERROR',
          'execution failed, answered 500',
          expect.objectContaining({
            requestId: 'a',
            executionName: 'a',
            executionStatus: 'FAILED',
            error: 'States.TaskFailed',
            cause: 'States.TaskFailed because',
            status: 500,
          }),
        ],
        ['WARN', 'answered 503', expect.objectContaining({ requestId: 'b', error: 'Service Unavailable' })],
        ['ERROR', 'execution failed, answered 503', expect.objectContaining({ executionStatus: 'TIMED_OUT' })],
      ]);
    },
  );

  it('at SILENT, by default, writes nothing', () => {
    const silent = new Logger({ serviceName: 'test', logLevel: 'SILENT' });
    const createChild = jest.spyOn(silent, 'createChild');
    const log = new RequestLog(silent);
    log.record(failing(500, 'States.TaskFailed'));
    log.close();
    expect(createChild).not.toHaveBeenCalled();
  });

  it('folds a storm into one line per second and kind, and never folds the first of a kind', () => {
    jest.useFakeTimers({ now: 0 });
    const { logger, lines, failures } = capture('INFO');
    const log = new RequestLog(logger, { failures });
    /** `count` failures of one kind, 10 a millisecond (the faults suite's rate is about 2 a millisecond). */
    const storm = (count: number, prefix: string) => {
      for (let i = 0; i < count; i += 1) {
        log.record(failing(500, 'Lambda.Unknown', `${prefix}${i}`, 'FAILED'));
        if (i % 10 === 9) jest.advanceTimersByTime(1);
      }
    };

    storm(5000, 'a'); // 500 ms
    log.record(failing(500, 'States.Runtime', 'other', 'FAILED'));
    expect(lines.map(([, , extra]) => extra.requestId)).toEqual(['a0', 'other']);

    jest.advanceTimersByTime(500);
    expect(lines).toHaveLength(3);
    expect(lines[2]).toEqual([
      'ERROR',
      'failures folded under load',
      { repeats: 4999, latest: expect.objectContaining({ requestId: 'a4999', error: 'Lambda.Unknown' }) },
    ]);

    // Still storming: the next second's repeats are one more counted line, not a whole line each.
    storm(3000, 'b');
    jest.advanceTimersByTime(1000);
    expect(lines).toHaveLength(4);
    expect(lines[3]?.[2]).toMatchObject({ repeats: 3000 });

    // After a quiet second the kind is new again: its first failure is written whole.
    jest.advanceTimersByTime(2000);
    log.record(failing(500, 'Lambda.Unknown', 'c0', 'FAILED'));
    expect(lines).toHaveLength(5);
    expect(lines[4]?.[1]).toBe('execution failed, answered 500');
    log.close();
    jest.useRealTimers();
  });
});
