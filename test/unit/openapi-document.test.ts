/** api/openapi.json: one source for the request schema, the whole contract documented, a checker that can fail. */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { ORDER_REQUEST_CONTENT_TYPE } from '../../api/templates.js';
import { OPENAPI_DOCUMENT_URL, loadOpenApiDocument } from '../../local/apigateway/openapi.js';
import { ORDER_ID_PATTERN, ORDER_STATUS_ACCEPTED } from '../../src/contract/order.js';
import { FIELD_ERROR_CODES, PROBLEM_CONTENT_TYPE } from '../../src/contract/problem.js';
import orderSchema from '../../src/contract/order.schema.json' with { type: 'json' };
import { validOrder } from '../support/order-samples.js';
import { OpenApiConformance } from '../e2e/support/openapi-conformance.js';

const conformance = new OpenApiConformance();
const document = conformance.document as unknown as {
  paths: Record<
    string,
    Record<
      string,
      {
        requestBody?: { content: Record<string, { schema: unknown }> };
        responses: Record<string, { content: Record<string, unknown> }>;
      }
    >
  >;
  components: { schemas: Record<string, { properties?: Record<string, { const?: unknown }> }> };
};
const post = document.paths['/orders']?.post;
const get = document.paths['/orders/{orderId}']?.get;
const ORDER_ID = '01JD8Q6ZK3M4N5P6Q7R8S9T0VW';
const REQUEST_ID = '6f1c2e0a-1b2c-4d3e-8f40-5a6b7c8d9e0f';

describe('the request schema', () => {
  it('is a reference to src/contract/order.schema.json in the repository, not a copy', () => {
    const raw = JSON.parse(readFileSync(OPENAPI_DOCUMENT_URL, 'utf8')) as typeof document;

    expect(raw.paths['/orders']?.post?.requestBody?.content).toEqual({
      [ORDER_REQUEST_CONTENT_TYPE]: { schema: { $ref: '../src/contract/order.schema.json' } },
    });
  });

  it('is exactly the contract file in the served document', () => {
    expect(post?.requestBody?.content[ORDER_REQUEST_CONTENT_TYPE]?.schema).toEqual(orderSchema);
    expect(loadOpenApiDocument()).toEqual(conformance.document);
  });

  it('accepts the sample order and refuses an extra field', () => {
    const validate = conformance.validatorAt(
      `/paths/~1orders/post/requestBody/content/${ORDER_REQUEST_CONTENT_TYPE.replace('/', '~1')}/schema`,
    );
    expect(validate(validOrder)).toBe(true);
    expect(validate({ ...validOrder, coupon: 'FREE' })).toBe(false);
  });
});

describe('the documented responses', () => {
  it('cover every row of the contract, problems as problem+json', () => {
    expect(Object.keys(post?.responses ?? {}).sort()).toEqual([
      '202',
      '400',
      '409',
      '413',
      '415',
      '422',
      '500',
      '503',
      'default',
    ]);
    expect(Object.keys(get?.responses ?? {}).sort()).toEqual(['200', '404', '500', '503', 'default']);
    for (const [status, response] of [
      ...Object.entries(post?.responses ?? {}),
      ...Object.entries(get?.responses ?? {}),
    ]) {
      expect(Object.keys(response.content)).toEqual([
        status === 'default' || Number(status) >= 400 ? PROBLEM_CONTENT_TYPE : 'application/json',
      ]);
    }
  });

  it('use the contract constants', () => {
    expect(document.components.schemas.OrderReceipt?.properties?.status?.const).toBe(ORDER_STATUS_ACCEPTED);
    expect(document.components.schemas.StoredOrder?.properties?.status?.const).toBe(ORDER_STATUS_ACCEPTED);
  });
});

describe('the conformance check', () => {
  const accepted = {
    method: 'POST',
    path: '/orders',
    status: 202,
    headers: new Headers({
      'content-type': 'application/json',
      location: `/orders/${ORDER_ID}`,
      'x-request-id': REQUEST_ID,
    }),
    body: JSON.stringify({
      orderId: ORDER_ID,
      status: 'ACCEPTED',
      acceptedAt: '2026-11-25T10:00:00.000Z',
      idempotencyKey: 'a'.repeat(64),
    }),
  };

  it('passes a response that conforms', () => {
    expect(conformance.violations(accepted)).toEqual([]);
  });

  it.each<[string, Partial<typeof accepted>, RegExp]>([
    ['an undocumented status', { status: 201 }, /status not documented/],
    [
      'a missing x-request-id',
      { headers: new Headers({ 'content-type': 'application/json', location: `/orders/${ORDER_ID}` }) },
      /x-request-id missing/,
    ],
    [
      'a malformed Location',
      {
        headers: new Headers({ 'content-type': 'application/json', location: '/orders/1', 'x-request-id': REQUEST_ID }),
      },
      /header Location/,
    ],
    [
      'a body missing a member',
      { body: JSON.stringify({ orderId: ORDER_ID, status: 'ACCEPTED' }) },
      /must have required property/,
    ],
    ['a body that is not JSON', { body: 'ok' }, /not JSON/],
    [
      'an undocumented media type',
      {
        headers: new Headers({
          'content-type': 'text/plain',
          location: `/orders/${ORDER_ID}`,
          'x-request-id': REQUEST_ID,
        }),
      },
      /Content-Type text\/plain/,
    ],
    ['an undocumented operation', { method: 'DELETE' }, /no such operation/],
  ])('reports %s', (_label, change, message) => {
    const violations = conformance.violations({ ...accepted, ...change });
    expect(violations.join('\n')).toMatch(message);
  });

  it('requires the field errors on a 400 and the original orderId on a 409', () => {
    const problem = (status: number, extra: object = {}) => ({
      method: 'POST',
      path: '/orders',
      status,
      headers: new Headers({
        'content-type': PROBLEM_CONTENT_TYPE,
        'x-request-id': REQUEST_ID,
        location: `/orders/${ORDER_ID}`,
      }),
      body: JSON.stringify({ type: 'https://x.example/p', title: 'T', status, ...extra }),
    });

    expect(conformance.violations(problem(400)).join()).toMatch(/errors/);
    expect(conformance.violations(problem(400, { errors: [{ path: '/a', code: 'pattern', message: 'm' }] }))).toEqual(
      [],
    );
    expect(conformance.violations(problem(400, { errors: [{ path: '/a', code: 'c', message: 'm' }] })).join()).toMatch(
      /code/,
    );
    expect(conformance.violations(problem(409)).join()).toMatch(/orderId/);
  });
});

describe('the field error codes', () => {
  it('are the ones in src/contract/problem.ts', () => {
    const raw = JSON.parse(readFileSync(OPENAPI_DOCUMENT_URL, 'utf8')) as {
      components: { schemas: { FieldError: { properties: { code: { enum: string[] } } } } };
    };

    expect(raw.components.schemas.FieldError.properties.code.enum).toEqual(FIELD_ERROR_CODES);
  });
});

describe('the orderId format', () => {
  it('is the one in src/contract/order.ts, for the id and for Location', () => {
    const raw = JSON.parse(readFileSync(OPENAPI_DOCUMENT_URL, 'utf8')) as {
      components: { schemas: { OrderId: { pattern: string } }; headers: { Location: { schema: { pattern: string } } } };
    };

    expect(raw.components.schemas.OrderId.pattern).toBe(ORDER_ID_PATTERN.source);
    expect(raw.components.headers.Location.schema.pattern).toBe(
      `^(/[A-Za-z0-9._~-]+)*/orders/${ORDER_ID_PATTERN.source.slice(1)}`,
    );
  });
});
