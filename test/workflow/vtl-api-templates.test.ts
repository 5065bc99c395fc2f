/**
 * The project's own mapping templates (api/*.vtl), rendered as API Gateway renders them, around the real workflow.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { validateHandlerOn } from '../support/validate.js';
import { loadApiMappingTemplates } from '../../local/apigateway/vtl/api-templates.js';
import type { RequestContext } from '../../local/apigateway/vtl/mapping-template.js';
import { createOrderWorkflow, type SyncExecutionResult } from '../../local/stepfunctions/order-workflow.js';
import type { LocalFunction } from '../../local/stepfunctions/task-integrations.js';
import { freshOrdersTable, testDynamoDbClient, unreachableDynamoDbClient } from '../support/dynamodb.js';
import { validOrder } from '../support/order-samples.js';
import { deployedAuthorizers } from '../support/iam.js';
import { RecordingBus } from '../support/recording-bus.js';
import { requestContext } from '../support/request-context.js';

const STATE_MACHINE_ARN = 'arn:aws:states:local:000000000000:stateMachine:order-intake';
const VALIDATE_ARN = 'arn:aws:lambda:local:000000000000:function:order-intake-validate';
const REQUEST_ID = '0b9c3a5e-2f4d-4e7a-9c1b-8d6e5f4a3b2c';
const dynamodb = testDynamoDbClient();
let tableName: string;
let templates: ReturnType<typeof loadApiMappingTemplates>;
const iamFor = () =>
  deployedAuthorizers({ tableName, busName: 'order-intake-test', validateFunctionArn: VALIDATE_ARN });

const context = (overrides: Partial<RequestContext> = {}): RequestContext =>
  requestContext({ requestId: REQUEST_ID, ...overrides });

interface StartSyncExecutionRequest {
  stateMachineArn: string;
  name: string;
  input: string;
}

const renderPostRequest = (rawBody: string): StartSyncExecutionRequest =>
  JSON.parse(
    templates.postOrdersRequest.render({ body: rawBody, context: context() }).body,
  ) as StartSyncExecutionRequest;

const renderPostResponse = (execution: SyncExecutionResult, requestContext = context()) => {
  const rendered = templates.postOrdersResponse.render({ body: JSON.stringify(execution), context: requestContext });
  return { ...rendered, problem: JSON.parse(rendered.body) as Record<string, unknown> };
};

function workflow(functions: Record<string, LocalFunction> = { [VALIDATE_ARN]: validateHandlerOn(tableName) }) {
  return createOrderWorkflow({
    resources: { ValidateFunctionArn: VALIDATE_ARN, OrdersTableName: tableName, EventBusName: 'order-intake-test' },
    backends: { dynamodb, bus: new RecordingBus(), functions, iam: iamFor().workflow },
    retryIntervalMs: 0,
  });
}

/** Request template -> workflow -> response template, as API Gateway chains them. */
async function throughTemplates(rawBody: string, run = workflow(), requestContext = context()) {
  const request = renderPostRequest(rawBody);
  const execution = await run.startSyncExecution(JSON.parse(request.input), request.name);
  return renderPostResponse(execution, requestContext);
}

beforeAll(async () => {
  tableName = await freshOrdersTable(dynamodb);
  templates = loadApiMappingTemplates({ StateMachineArn: STATE_MACHINE_ARN, OrdersTableName: tableName });
});
afterAll(() => dynamodb.destroy());

describe('post-orders.request.vtl', () => {
  const awkwardBodies: [label: string, body: string][] = [
    ['quotes', `{"customerId":"CUST-'\\"QUOTE"}`],
    ['backslashes', '{"a":"\\\\ \\u0041 \\n"} \\'],
    ['BMP unicode', '{"clientReference":"é – ü ✓"}'],
    ['astral plane', '{"clientReference":"😀𝄞"}'],
    ['U+2028 and U+2029, raw', '{"clientReference":"a\u2028b\u2029c"}'],
    ['not JSON at all', `<order id='1'>"\u2028</order>`],
    ['JSON-looking fragments that would break naive quoting', '","body":"x"}'],
    ['empty', ''],
  ];

  it.each(awkwardBodies)('%s: the workflow input carries exactly the raw bytes, base64', (_label, rawBody) => {
    const request = renderPostRequest(rawBody);

    expect(request.stateMachineArn).toBe(STATE_MACHINE_ARN);
    expect(request.name).toBe(REQUEST_ID);
    const input = JSON.parse(request.input) as { requestId: string; body: string };
    expect(input.requestId).toBe(REQUEST_ID);
    expect(Buffer.from(input.body, 'base64').equals(Buffer.from(rawBody, 'utf8'))).toBe(true);
  });

  it('holds for any text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (rawBody) => {
        const input = JSON.parse(renderPostRequest(rawBody).input) as { body: string };
        expect(Buffer.from(input.body, 'base64').toString('utf8')).toBe(rawBody);
      }),
    );
  });
});

describe('post-orders.response.vtl, on real workflow outcomes', () => {
  it('202: status, Location and the receipt', async () => {
    const response = await throughTemplates(JSON.stringify(validOrder));

    expect(response.status).toBe(202);
    expect(response.headers).toEqual({
      'Content-Type': 'application/json',
      Location: `/orders/${String(response.problem.orderId)}`,
    });
    expect(response.problem).toMatchObject({ status: 'ACCEPTED', orderId: expect.any(String) });
  });

  it('409: the original orderId in body and Location', async () => {
    const body = JSON.stringify({ ...validOrder, clientReference: 'dup-1' });
    const first = await throughTemplates(body);
    const copy = await throughTemplates(body);

    expect(copy.status).toBe(409);
    expect(copy.headers).toEqual({
      'Content-Type': 'application/problem+json',
      Location: `/orders/${String(first.problem.orderId)}`,
    });
    expect(copy.problem).toMatchObject({ status: 409, orderId: first.problem.orderId });
  });

  it.each([
    ['the default execute-api URL: the stage comes first', '/v1/orders', '/v1'],
    ['a custom domain with a base path mapping', '/shop/orders', '/shop'],
    ['a custom domain mapped at its root', '/orders', ''],
    ['a trailing slash', '/v1/orders/', '/v1'],
  ])('Location is right behind %s', async (_label, path, basePath) => {
    const body = JSON.stringify({
      ...validOrder,
      clientReference: `base-${basePath.slice(1) || 'root'}${path.length}`,
    });
    const accepted = await throughTemplates(body, workflow(), context({ path }));
    const duplicate = await throughTemplates(body, workflow(), context({ path }));

    expect(accepted.status).toBe(202);
    expect(accepted.headers.Location).toBe(`${basePath}/orders/${String(accepted.problem.orderId)}`);
    expect(duplicate.status).toBe(409);
    expect(duplicate.headers.Location).toBe(`${basePath}/orders/${String(accepted.problem.orderId)}`);
  });

  it.each([
    ['a body that is not JSON', '{"customerId": ', 400, ['']],
    [
      'a quote and U+2028 in a field',
      JSON.stringify({ ...validOrder, clientReference: `it's\u2028"` }),
      400,
      ['/clientReference'],
    ],
    [
      'an astral character in a pattern field',
      JSON.stringify({ ...validOrder, customerId: 'CUST-😀😀😀😀' }),
      400,
      ['/customerId'],
    ],
    ['a body over 1 KB', JSON.stringify({ ...validOrder, clientReference: 'x'.repeat(1100) }), 413, []],
  ])('%s: problem+json with its status, naming every field', async (_label, rawBody, status, paths) => {
    const response = await throughTemplates(rawBody);

    expect(response.status).toBe(status);
    expect(response.headers).toEqual({ 'Content-Type': 'application/problem+json' });
    expect(response.problem.status).toBe(status);
    expect(((response.problem.errors ?? []) as { path: string }[]).map((error) => error.path)).toEqual(paths);
  });

  // aws-local-stepfunctions 3.0 deletes every backslash from an intrinsic function's string result, so Validate
  // serializes the problem itself (JSON.parse's message quotes the body: Unexpected token '<', "<order..." ...).
  it('a 400 problem whose text quotes the body is still valid JSON', async () => {
    const response = await throughTemplates(`<order id='1'>`);

    expect(response.status).toBe(400);
    expect(response.problem.status).toBe(400);
  });

  it('a body far over 1 KB still answers 413: the template cuts it, so the execution input stays small', async () => {
    const huge = JSON.stringify({ ...validOrder, clientReference: 'é'.repeat(200_000) });
    const request = renderPostRequest(huge);

    expect(Buffer.byteLength(request.input, 'utf8')).toBeLessThan(8 * 1024);
    const response = await throughTemplates(huge);
    expect(response.status).toBe(413);
    expect(response.problem).toMatchObject({ status: 413, title: 'Request body too large' });
  });

  it('503 from the store: Retry-After passes through', async () => {
    const unreachable = unreachableDynamoDbClient();
    const run = createOrderWorkflow({
      resources: { ValidateFunctionArn: VALIDATE_ARN, OrdersTableName: tableName, EventBusName: 'order-intake-test' },
      backends: {
        dynamodb: unreachable,
        bus: new RecordingBus(),
        functions: { [VALIDATE_ARN]: validateHandlerOn(tableName) },
        iam: iamFor().workflow,
      },
      retryIntervalMs: 0,
    });
    const response = await throughTemplates(JSON.stringify({ ...validOrder, clientReference: 'store-down' }), run);
    unreachable.destroy();

    expect(response.status).toBe(503);
    expect(response.headers).toEqual({ 'Content-Type': 'application/problem+json', 'Retry-After': '1' });
  });

  it('500 from a workflow that caught an unexpected error carries the request id', async () => {
    const failing = workflow({
      [VALIDATE_ARN]: async () => {
        throw new TypeError('boom');
      },
    });
    const response = await throughTemplates(JSON.stringify(validOrder), failing);

    expect(response.status).toBe(500);
    expect(response.problem).toMatchObject({ status: 500, requestId: REQUEST_ID });
  });

  it.each<SyncExecutionResult>([{ executionArn: 'arn:x', status: 'FAILED', error: 'States.Runtime', cause: 'boom' }])(
    'an execution that ended $status is a 500 problem with the request id, never an acceptance',
    (execution) => {
      const response = renderPostResponse(execution);

      expect(response.status).toBe(500);
      expect(response.headers).toEqual({ 'Content-Type': 'application/problem+json' });
      expect(response.problem).toMatchObject({ status: 500, requestId: REQUEST_ID });
      expect(response.problem).not.toHaveProperty('orderId');
    },
  );

  it('an execution that TIMED_OUT is a 503 with Retry-After: the order may be stored, a retry is answered 409', () => {
    const response = renderPostResponse({ executionArn: 'arn:x', status: 'TIMED_OUT' });

    expect(response.status).toBe(503);
    expect(response.headers).toEqual({ 'Content-Type': 'application/problem+json', 'Retry-After': '1' });
    expect(response.problem).toMatchObject({ status: 503, requestId: REQUEST_ID });
  });

  it('Step Functions throttling StartSyncExecution is a 503 with Retry-After: nothing started, retry is safe', () => {
    const rendered = templates.postOrdersResponse.render({
      body: JSON.stringify({ __type: 'com.amazon.coral.availability#ThrottlingException', message: 'Rate exceeded' }),
      context: context(),
    });

    expect(rendered.status).toBe(503);
    expect(rendered.headers).toEqual({ 'Content-Type': 'application/problem+json', 'Retry-After': '1' });
    expect(JSON.parse(rendered.body)).toMatchObject({ status: 503, requestId: REQUEST_ID });
  });

  it('an error answer from Step Functions itself (not an execution) is a 500 problem too', () => {
    const rendered = templates.postOrdersResponse.render({
      body: JSON.stringify({ __type: 'com.amazonaws.swf.service.v2.model#InvalidExecutionInput', message: 'bad' }),
      context: context(),
    });

    expect(rendered.status).toBe(500);
    expect(JSON.parse(rendered.body)).toMatchObject({ status: 500, requestId: REQUEST_ID });
  });
});

describe('get-order templates', () => {
  const ORDER_ID = '01JD0000000000000000000000';
  const getContext = context({ resourcePath: '/orders/{orderId}', path: `/orders/${ORDER_ID}` });
  const renderGetRequest = (orderId: string) =>
    JSON.parse(
      templates.getOrderRequest.render({
        params: { path: { orderId }, querystring: {}, header: {} },
        context: getContext,
      }).body,
    ) as { TableName: string; Key: { pk: { S: string } } };

  it('asks GetItem for the ORDER# item of a well-formed id', () => {
    expect(renderGetRequest(ORDER_ID)).toEqual({
      TableName: tableName,
      Key: { pk: { S: `ORDER#${ORDER_ID}` } },
      ConsistentRead: true,
    });
  });

  it.each([`x"}, "TableName": "other`, "' or 1=1", '01jd0000000000000000000000', `${ORDER_ID}\u2028`, ''])(
    'never lets a malformed id (%j) into the request',
    (orderId) => {
      expect(renderGetRequest(orderId)).toEqual({
        TableName: tableName,
        Key: { pk: { S: 'ORDER#NONE' } },
        ConsistentRead: true,
      });
    },
  );

  it('answers 200 with the stored document exactly as stored', () => {
    const document = JSON.stringify({ ...validOrder, clientReference: 'q"\\\u2028😀', orderId: ORDER_ID });
    const getItemOutput = { Item: { pk: { S: `ORDER#${ORDER_ID}` }, document: { S: document } } };
    const rendered = templates.getOrderResponse.render({ body: JSON.stringify(getItemOutput), context: getContext });

    expect(rendered.status).toBeUndefined();
    expect(rendered.headers).toEqual({ 'Content-Type': 'application/json' });
    expect(JSON.parse(rendered.body)).toEqual(JSON.parse(document));
  });

  it('answers 404 problem+json when there is no item', () => {
    const rendered = templates.getOrderResponse.render({ body: '{}', context: getContext });

    expect(rendered.status).toBe(404);
    expect(rendered.headers).toEqual({ 'Content-Type': 'application/problem+json' });
    expect(JSON.parse(rendered.body)).toMatchObject({ status: 404 });
  });
});

describe('unsupported-media-type.response.vtl', () => {
  it('is a 415 problem with the request id', () => {
    const rendered = templates.unsupportedMediaTypeResponse.render({ body: 'a=1', context: context() });

    expect(JSON.parse(rendered.body)).toMatchObject({ status: 415, requestId: REQUEST_ID });
  });
});
