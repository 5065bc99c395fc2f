/** The node:http front: body buffering and its cap, request ids, the per-request log line and its folding. */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { request as httpRequest } from 'node:http';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { createApiGateway } from '../../local/apigateway/api-gateway.js';
import { MAX_REQUEST_BODY_BYTES } from '../../local/apigateway/gateway-responses.js';
import { loadOpenApiDocument } from '../../local/apigateway/openapi.js';
import { RequestLog, type RequestLogOptions, type RequestSummary } from '../../local/apigateway/request-log.js';
import { startHttpServer, type RunningHttpServer } from '../../local/apigateway/server.js';
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
const dynamodb = new DynamoDBClient({ region: 'local' });
let server: RunningHttpServer;
let requestLog: RequestLog;

beforeAll(async () => {
  jest.spyOn(logger, 'info').mockImplementation((_message, ...extra) => {
    logged.push(extra[0] as unknown as RequestSummary);
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
  server = await startHttpServer({ gateway, logger, requestLog, port: 0, host: '127.0.0.1' });
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
