/**
 * The API Gateway emulation: routing from the OpenAPI document, the Content-Type rule, the integrations and what
 * happens when they fail. The workflow is a stand-in here (its real outcomes go through the same templates in
 * vtl-api-templates.test.ts); DynamoDB is an SDK mock.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { DynamoDBClient, GetItemCommand, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { createApiGateway, type ApiRequest, type ApiResponse } from '../../local/apigateway/api-gateway.js';
import { loadOpenApiDocument } from '../../local/apigateway/openapi.js';
import { loadApiMappingTemplates } from '../../local/apigateway/vtl/api-templates.js';
import type { OrderWorkflow, SyncExecutionResult } from '../../local/stepfunctions/order-workflow.js';
import orderSchema from '../../src/contract/order.schema.json' with { type: 'json' };
import { deployedAuthorizers } from '../support/iam.js';
import { LOCAL_CALLER } from '../../local/local-account.js';

const STATE_MACHINE_ARN = 'arn:aws:states:local:000000000000:stateMachine:order-intake';
const TABLE = 'orders-under-test';
const ORDER_ID = '01JD8Q6ZK3M4N5P6Q7R8S9T0VW';
const templates = loadApiMappingTemplates({ StateMachineArn: STATE_MACHINE_ARN, OrdersTableName: TABLE });
const iam = deployedAuthorizers({ tableName: TABLE, stateMachineArn: STATE_MACHINE_ARN }).api;
const openApi = loadOpenApiDocument();

/** Records each execution it is asked for and answers what it is told to. */
class StubWorkflow implements OrderWorkflow {
  readonly executions: { input: unknown; name: string }[] = [];
  constructor(private readonly answer: (input: unknown) => Promise<SyncExecutionResult>) {}
  startSyncExecution(input: unknown, name: string): Promise<SyncExecutionResult> {
    this.executions.push({ input, name });
    return this.answer(input);
  }
}

const succeeded = (output: object): SyncExecutionResult => ({
  executionArn: 'arn:x',
  status: 'SUCCEEDED',
  output: JSON.stringify(output),
});
const accepted = succeeded({
  statusCode: 202,
  headers: { 'Content-Type': 'application/json', Location: `/orders/${ORDER_ID}` },
  body: JSON.stringify({ orderId: ORDER_ID, status: 'ACCEPTED' }),
});

let requestCount = 0;
const request = (overrides: Partial<ApiRequest> = {}): ApiRequest => ({
  requestId: `00000000-0000-4000-8000-${String((requestCount += 1)).padStart(12, '0')}`,
  method: 'POST',
  path: '/orders',
  query: {},
  headers: { 'Content-Type': 'application/json' },
  body: Buffer.from('{}'),
  ...overrides,
});

const dynamodb = new DynamoDBClient({ region: 'local' });
const dynamodbMock = mockClient(dynamodb);
let workflow: StubWorkflow;
const gateway = (run: StubWorkflow = workflow) =>
  createApiGateway({ templates, stateMachineArn: STATE_MACHINE_ARN, workflow: run, dynamodb, iam, openApi });
const json = (response: ApiResponse) => JSON.parse(response.body) as Record<string, unknown>;

/**
 * A problem+json answer with the request id in its body. `by: 'gateway'` is a gateway response: in AWS its headers
 * cannot map the request id, so only API Gateway's own id is there; an integration's answer maps it as x-request-id.
 */
function expectProblem(response: ApiResponse, sent: ApiRequest, status: number, by: 'gateway' | 'integration') {
  expect(response.status).toBe(status);
  expect(response.headers).toEqual({
    'Content-Type': 'application/problem+json',
    ...(by === 'integration' ? { 'x-request-id': sent.requestId } : {}),
    'x-amzn-RequestId': sent.requestId,
  });
  expect(json(response)).toMatchObject({ status, requestId: sent.requestId });
}

beforeEach(() => {
  workflow = new StubWorkflow(async () => accepted);
});
afterEach(() => {
  dynamodbMock.reset();
});

describe('POST /orders', () => {
  it('hands the workflow the raw body (base64) under the request id, and answers with the template', async () => {
    const rawBody = '{"customerId": "CUST-\u2028😀\'\\"}';
    const sent = request({ body: Buffer.from(rawBody, 'utf8') });
    const response = await gateway().handle(sent);

    expect(workflow.executions).toEqual([
      {
        input: { requestId: sent.requestId, body: Buffer.from(rawBody).toString('base64'), caller: LOCAL_CALLER },
        name: sent.requestId,
      },
    ]);
    expect(response.status).toBe(202);
    expect(response.headers).toEqual({
      'Content-Type': 'application/json',
      Location: `/orders/${ORDER_ID}`,
      'x-request-id': sent.requestId,
      'x-amzn-RequestId': sent.requestId,
    });
    expect(response.orderId).toBe(ORDER_ID);
  });

  describe('the Idempotency-Key header', () => {
    const clientKeyOf = async (sent: ApiRequest): Promise<string | undefined> => {
      await gateway().handle(sent);
      const input = workflow.executions.at(-1)?.input as { clientKey?: string };
      return input.clientKey === undefined ? undefined : Buffer.from(input.clientKey, 'base64').toString('latin1');
    };
    const withHeaders = (headers: Record<string, string>, query: Record<string, string> = {}) =>
      request({ headers: { 'Content-Type': 'application/json', ...headers }, query });

    it('reaches the workflow as sent, base64 as the body, whatever the letter case of its name', async () => {
      expect(await clientKeyOf(withHeaders({ 'Idempotency-Key': '"a \\"quoted\\" key"' }))).toBe(
        '"a \\"quoted\\" key"',
      );
      expect(await clientKeyOf(withHeaders({ 'idempotency-key': 'k-1' }))).toBe('k-1');
    });

    it('is read from the headers alone: a query parameter of that name is not a key', async () => {
      expect(await clientKeyOf(withHeaders({}, { 'Idempotency-Key': 'from-the-query' }))).toBeUndefined();
      const input = workflow.executions.at(-1)?.input as Record<string, unknown>;
      expect(Object.keys(input).sort()).toEqual(['body', 'caller', 'requestId']);
    });

    it('is present, empty, when sent empty (Validate refuses it)', async () => {
      expect(await clientKeyOf(withHeaders({ 'Idempotency-Key': '' }))).toBe('');
    });

    it('sent under two spellings of its name, reaches the workflow as a list, which Validate refuses', async () => {
      expect(await clientKeyOf(withHeaders({ 'Idempotency-Key': '"a"', 'IDEMPOTENCY-KEY': '"b"' }))).toBe('"a","b"');
    });

    it('passes a replay’s Idempotent-Replayed header on to the client', async () => {
      const replayed = succeeded({
        statusCode: 202,
        headers: { 'Content-Type': 'application/json', Location: `/orders/${ORDER_ID}`, 'Idempotent-Replayed': 'true' },
        body: JSON.stringify({ orderId: ORDER_ID, status: 'ACCEPTED' }),
      });
      const response = await gateway(new StubWorkflow(async () => replayed)).handle(
        withHeaders({ 'Idempotency-Key': 'k' }),
      );
      expect(response.status).toBe(202);
      expect(response.headers['Idempotent-Replayed']).toBe('true');
      expect((await gateway().handle(withHeaders({}))).headers).not.toHaveProperty('Idempotent-Replayed');
    });
  });

  it.each([
    ['no Content-Type (API Gateway assumes application/json)', {}],
    ['a charset parameter', { 'content-type': 'application/json; charset=utf-8' }],
    ['another letter case', { 'CONTENT-TYPE': 'Application/JSON' }],
  ])('accepts %s', async (_label, headers) => {
    const response = await gateway().handle(request({ headers }));

    expect(response.status).toBe(202);
    expect(workflow.executions).toHaveLength(1);
  });

  it.each(['text/plain', 'application/x-www-form-urlencoded', 'application/json-patch+json', 'application/xml'])(
    'refuses %s with 415 problem+json before the workflow runs',
    async (contentType) => {
      const sent = request({ headers: { 'Content-Type': contentType } });
      const response = await gateway().handle(sent);

      expectProblem(response, sent, 415, 'gateway');
      expect(workflow.executions).toEqual([]);
    },
  );

  it.each<[string, () => Promise<SyncExecutionResult>, object]>([
    [
      'a FAILED execution',
      async () => ({ executionArn: 'arn:x', status: 'FAILED', error: 'States.Runtime', cause: 'bad path' }),
      { executionStatus: 'FAILED', error: 'States.Runtime', cause: 'bad path' },
    ],
    [
      'a workflow that cannot run at all',
      async () => {
        throw new Error('engine down');
      },
      { error: 'Error', cause: 'engine down', stack: expect.stringContaining('engine down') },
    ],
  ])('answers %s with 500 problem+json carrying the request id, and traces why', async (_label, answer, trace) => {
    const sent = request();
    const response = await gateway(new StubWorkflow(answer)).handle(sent);

    expectProblem(response, sent, 500, 'integration');
    expect(response.failure).toEqual({ executionName: sent.requestId, ...trace });
  });

  it('traces a TIMED_OUT execution with its name and status', async () => {
    const sent = request();
    const timedOut = new StubWorkflow(async () => ({ executionArn: 'arn:x', status: 'TIMED_OUT' }));
    const response = await gateway(timedOut).handle(sent);

    expect(response.status).toBeGreaterThanOrEqual(500);
    expect(response.failure).toMatchObject({
      executionName: sent.requestId,
      executionStatus: 'TIMED_OUT',
      error: 'TIMED_OUT',
    });
  });

  it('leaves a successful answer without a trace', async () => {
    const response = await gateway(new StubWorkflow(async () => accepted)).handle(request());
    expect(response.status).toBe(202);
    expect(response.failure).toBeUndefined();
  });
});

describe('GET /orders/{orderId}', () => {
  const document = { orderId: ORDER_ID, status: 'ACCEPTED', customerId: 'CUST-7Q2K9M4X' };

  it('reads the ORDER# item with GetItem and answers its document', async () => {
    dynamodbMock.on(GetItemCommand).resolves({ Item: { document: { S: JSON.stringify(document) } } });
    const sent = request({ method: 'GET', path: `/orders/${ORDER_ID}`, body: Buffer.alloc(0) });
    const response = await gateway().handle(sent);

    expect(dynamodbMock).toHaveReceivedCommandWith(GetItemCommand, {
      TableName: TABLE,
      Key: { pk: { S: `ORDER#${ORDER_ID}` } },
    });
    expect(response.status).toBe(200);
    expect(response.headers).toEqual({
      'Content-Type': 'application/json',
      'x-request-id': sent.requestId,
      'x-amzn-RequestId': sent.requestId,
    });
    expect(json(response)).toEqual(document);
    expect(response.orderId).toBe(ORDER_ID);
  });

  it('answers 404 when there is no such item', async () => {
    dynamodbMock.on(GetItemCommand).resolves({});
    const response = await gateway().handle(request({ method: 'GET', path: `/orders/${ORDER_ID}` }));

    expect(response.status).toBe(404);
    expect(response.headers['Content-Type']).toBe('application/problem+json');
  });

  it('decodes the path parameter, and a malformed id never reaches the key', async () => {
    dynamodbMock.on(GetItemCommand).resolves({});
    await gateway().handle(request({ method: 'GET', path: '/orders/%22%7D%2C%20%22x' }));

    expect(dynamodbMock).toHaveReceivedCommandWith(GetItemCommand, { Key: { pk: { S: 'ORDER#NONE' } } });
  });

  it('answers a throttled or failing store with 503 and Retry-After, not with "no such order"', async () => {
    dynamodbMock
      .on(GetItemCommand)
      .rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }));
    const sent = request({ method: 'GET', path: `/orders/${ORDER_ID}` });
    const response = await gateway().handle(sent);

    expect(response.status).toBe(503);
    expect(response.headers).toMatchObject({ 'Content-Type': 'application/problem+json', 'Retry-After': '1' });
    expect(json(response)).toMatchObject({ status: 503, requestId: sent.requestId });
    expect(response.failure).toMatchObject({ error: 'ProvisionedThroughputExceededException', cause: 'slow down' });
  });

  it('answers any other DynamoDB error (a misconfiguration) with 500 and the request id', async () => {
    dynamodbMock
      .on(GetItemCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException', $fault: 'client' }));
    const sent = request({ method: 'GET', path: `/orders/${ORDER_ID}` });
    const response = await gateway().handle(sent);

    expect(response.status).toBe(500);
    expect(json(response)).toMatchObject({ status: 500, requestId: sent.requestId });
    expect(response.failure).toMatchObject({ error: 'AccessDeniedException', cause: 'not authorized' });
  });
});

describe('routing', () => {
  it('answers an unknown path with 404 problem+json', async () => {
    const sent = request({ method: 'GET', path: '/order' });
    const response = await gateway().handle(sent);

    expectProblem(response, sent, 404, 'gateway');
  });

  it.each([
    ['GET', '/orders', 'POST'],
    ['DELETE', `/orders/${ORDER_ID}`, 'GET'],
    ['PUT', '/orders', 'POST'],
  ])('answers %s %s with 405 and Allow: %s', async (method, path, allow) => {
    const response = await gateway().handle(request({ method, path }));

    expect(response.status).toBe(405);
    expect(response.headers.Allow).toBe(allow);
    expect(workflow.executions).toEqual([]);
  });

  it('serves the OpenAPI document with the request schema resolved from the contract file', async () => {
    const response = await gateway().handle(request({ method: 'GET', path: '/openapi.json' }));
    const served = json(response) as { paths: Record<string, Record<string, { requestBody: unknown }>> };

    expect(response.status).toBe(200);
    expect(served.paths['/orders']?.post?.requestBody).toEqual({
      required: true,
      content: { 'application/json': { schema: orderSchema } },
    });
  });
});
