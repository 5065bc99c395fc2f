/** The client's Idempotency-Key in domain code: reading the header, whose key it is, and the items it adds. */
import { validationContextAt } from '../support/validate.js';
import { describe, expect, it } from '@jest/globals';
import { loadApiTemplate } from '../../api/templates.js';
import { MappingTemplate } from '../../local/apigateway/vtl/mapping-template.js';
import { callerScope, CLIENT_KEY_MAX_LENGTH, readClientKeyHeader, type Caller } from '../../src/client-key.js';
import { clientKeyRetentionHours } from '../../src/deployed-settings.js';
import { acceptOrderTransaction, clientKeyItemKey, ORDERS_TABLE } from '../../src/store/orders-table.js';
import { validateOrder, type ValidationOutcome } from '../../src/validation/validate-order.js';
import { validateSettingsFrom } from '../../src/validation/validate-settings.js';
import { validOrder } from '../support/order-samples.js';
import { requestContext } from '../support/request-context.js';

const UUID = '8e03978e-40d5-43e8-bc93-6894a57f9324';

describe('readClientKeyHeader', () => {
  it.each([
    [`"${UUID}"`, UUID],
    [UUID, UUID],
    [`  "${UUID}"\t`, UUID],
    ['"a b"', 'a b'],
    ['"say \\"hi\\" \\\\ bye"', 'say "hi" \\ bye'],
    ['order:42/retry=1', 'order:42/retry=1'],
    ['"x"', 'x'],
    [`"${'k'.repeat(CLIENT_KEY_MAX_LENGTH)}"`, 'k'.repeat(CLIENT_KEY_MAX_LENGTH)],
  ])('reads %j as the key %j', (field, key) => {
    expect(readClientKeyHeader(field)).toEqual({ ok: true, clientKey: key });
  });

  it('takes both forms of one key for the same key', () => {
    const quoted = readClientKeyHeader(`"${UUID}"`);
    const bare = readClientKeyHeader(UUID);
    expect(quoted).toEqual(bare);
  });

  it.each([
    ['', 'length'],
    ['""', 'length'],
    ['   ', 'length'],
    ['k'.repeat(CLIENT_KEY_MAX_LENGTH + 1), 'length'],
    [`"${'k'.repeat(CLIENT_KEY_MAX_LENGTH + 1)}"`, 'length'],
    ['"clé"', 'characters'],
    ['clé', 'characters'],
    ['"a\tb"', 'characters'],
    ['"a\u0000"', 'characters'],
    ['"unclosed', 'malformed'],
    ['"bad \\n escape"', 'malformed'],
    ['"a";expires=1', 'malformed'],
    ['"a" b', 'malformed'],
    ['a b', 'malformed'],
    ['a"b', 'malformed'],
    ['a\\b', 'malformed'],
    ['"a", "b"', 'repeated'],
    ['"a","a"', 'repeated'],
    ['a,b', 'repeated'],
    [`${UUID}, ${UUID}`, 'repeated'],
  ])('refuses %j: %s', (field, code) => {
    const reading = readClientKeyHeader(field);
    expect(reading).toMatchObject({ ok: false, code });
    expect(!reading.ok && reading.message).toContain('Idempotency-Key');
  });
});

describe('callerScope', () => {
  it('leaves out an assumed role’s session name, so fresh credentials of the role find their keys', () => {
    expect(
      callerScope({ accountId: '123456789012', userArn: 'arn:aws:sts::123456789012:assumed-role/Checkout/i-0abc' }),
    ).toBe('arn:aws:sts::123456789012:assumed-role/Checkout');
    expect(callerScope({ userArn: 'arn:aws:sts::123456789012:assumed-role/Checkout/other-session@x.com' })).toBe(
      callerScope({ userArn: 'arn:aws:sts::123456789012:assumed-role/Checkout/i-0abc' }),
    );
  });

  it('keeps roles, users and accounts apart', () => {
    const scopes = [
      callerScope({ userArn: 'arn:aws:sts::123456789012:assumed-role/Checkout/s' }),
      callerScope({ userArn: 'arn:aws:sts::123456789012:assumed-role/Mobile/s' }),
      callerScope({ userArn: 'arn:aws:sts::210987654321:assumed-role/Checkout/s' }),
      callerScope({ userArn: 'arn:aws:iam::123456789012:user/alice' }),
      callerScope({ accountId: '123456789012', userArn: '' }),
    ];
    expect(new Set(scopes).size).toBe(scopes.length);
    expect(scopes[3]).toBe('arn:aws:iam::123456789012:user/alice');
  });

  it('is empty, so keys are global, where API Gateway knows no caller (apiAuthorization=NONE)', () => {
    expect(callerScope({ accountId: '', userArn: '' })).toBe('');
    expect(callerScope(undefined)).toBe('');
  });
});

describe('the key item', () => {
  it('has its own prefix and a bounded key: a SHA-256 of scope and key, never the raw key', () => {
    const key = clientKeyItemKey('arn:aws:sts::123456789012:assumed-role/Checkout', 'x'.repeat(255));
    expect(key).toMatch(/^CLIENTKEY#[0-9a-f]{64}$/);
    expect(ORDERS_TABLE.clientKeyPrefix).not.toBe(ORDERS_TABLE.idempotencyKeyPrefix);
    expect(ORDERS_TABLE.clientKeyPrefix).not.toBe(ORDERS_TABLE.orderKeyPrefix);
  });

  it('differs per scope for the same key, and is the same for the same scope and key', () => {
    expect(clientKeyItemKey('a', UUID)).toBe(clientKeyItemKey('a', UUID));
    expect(clientKeyItemKey('a', UUID)).not.toBe(clientKeyItemKey('b', UUID));
  });

  const unkeyedOrder = {
    orderId: 'O1',
    idempotencyKey: 'h1',
    acceptedAt: '2026-12-07T03:00:00.000Z',
    document: '{}',
    nowEpochSeconds: 1000,
    lockExpiresAtEpochSeconds: 1015,
  };

  it('is the third item of a keyed order’s transaction, free or expired, beside the lock and the order', () => {
    const items = acceptOrderTransaction('orders', {
      ...unkeyedOrder,
      client: { itemKey: 'CLIENTKEY#k', clientKey: UUID, expiresAtEpochSeconds: 1000 + 86_400 },
    });
    expect(items.map((item) => item.Put.Item.pk)).toEqual([
      { S: 'IDEMPOTENCY#h1' },
      { S: 'ORDER#O1' },
      { S: 'CLIENTKEY#k' },
    ]);
    expect(items[1]?.Put.Item.clientKey).toEqual({ S: UUID });
    expect(items[2]?.Put).toEqual({
      TableName: 'orders',
      Item: {
        pk: { S: 'CLIENTKEY#k' },
        clientKey: { S: UUID },
        idempotencyKey: { S: 'h1' },
        orderId: { S: 'O1' },
        acceptedAt: { S: '2026-12-07T03:00:00.000Z' },
        expiresAt: { N: '87400' },
      },
      ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
      ExpressionAttributeValues: { ':now': { N: '1000' } },
    });
  });

  it('is not written without a client key, and the order item then has no clientKey', () => {
    const items = acceptOrderTransaction('orders', unkeyedOrder);
    expect(items).toHaveLength(2);
    expect(items[1]?.Put.Item).not.toHaveProperty('clientKey');
  });
});

describe('validateOrder with an Idempotency-Key', () => {
  const NOW = new Date('2026-12-07T03:00:00.500Z');
  const context = validationContextAt(NOW);
  const body = new TextEncoder().encode(JSON.stringify(validOrder));
  const caller = { accountId: '123456789012', userArn: 'arn:aws:sts::123456789012:assumed-role/Checkout/s1' };
  const valid = (outcome: ValidationOutcome) => {
    if (outcome.outcome !== 'VALID') throw new Error(`expected VALID, got ${JSON.stringify(outcome)}`);
    return outcome;
  };

  it('adds the key item, retained for the setting, and names it for the workflow’s read', () => {
    const outcome = valid(validateOrder(body, context, { clientKeyHeader: `"${UUID}"`, caller }));
    const itemKey = clientKeyItemKey('arn:aws:sts::123456789012:assumed-role/Checkout', UUID);
    expect(outcome.clientKeyItemKey).toBe(itemKey);
    expect(outcome.clientKey).toBe(UUID);
    expect(outcome.transactItems).toHaveLength(3);
    expect(outcome.transactItems[2]?.Put.Item).toMatchObject({
      pk: { S: itemKey },
      idempotencyKey: { S: outcome.idempotencyKey },
      expiresAt: { N: String(Math.floor(NOW.getTime() / 1000) + 24 * 3600) },
    });
  });

  it('finds the same key item for the bare form and for another session of the same role', () => {
    const quoted = valid(validateOrder(body, context, { clientKeyHeader: `"${UUID}"`, caller }));
    const bare = valid(
      validateOrder(body, context, {
        clientKeyHeader: UUID,
        caller: { ...caller, userArn: 'arn:aws:sts::123456789012:assumed-role/Checkout/s2' },
      }),
    );
    expect(bare.clientKeyItemKey).toBe(quoted.clientKeyItemKey);
  });

  it('changes nothing without the header', () => {
    const outcome = valid(validateOrder(body, context, { caller }));
    expect(outcome).not.toHaveProperty('clientKeyItemKey');
    expect(outcome).not.toHaveProperty('clientKey');
    expect(outcome.transactItems).toHaveLength(2);
  });

  it('answers a bad header 400 naming it, before the body is read', () => {
    const outcome = validateOrder(new TextEncoder().encode('not json'), context, { clientKeyHeader: '"a", "b"' });
    expect(outcome.outcome).toBe('REJECTED');
    expect(outcome.outcome === 'REJECTED' && outcome.statusCode).toBe(400);
    expect(JSON.parse(outcome.outcome === 'REJECTED' ? outcome.problemBody : '{}')).toEqual({
      type: 'https://order-intake.example.com/problems/invalid-idempotency-key',
      title: 'Invalid Idempotency-Key header',
      status: 400,
      detail: expect.any(String),
      errors: [{ header: 'Idempotency-Key', code: 'repeated', message: expect.stringContaining('one') }],
    });
  });
});

describe('the key’s retention setting', () => {
  it('is 24 hours unless set, and a whole number of hours from 1 to 720', () => {
    expect(clientKeyRetentionHours(undefined, 'X')).toBe(24);
    expect(clientKeyRetentionHours('48', 'X')).toBe(48);
    expect(clientKeyRetentionHours(1, 'X')).toBe(1);
    for (const bad of ['0', '721', '1.5', 'a day', -1, 24.5]) {
      expect(() => clientKeyRetentionHours(bad, 'THE_SETTING')).toThrow(/THE_SETTING must be a whole number of hours/);
    }
  });

  it('reaches Validate through its environment, with the table name', () => {
    expect(validateSettingsFrom({ ORDERS_TABLE_NAME: 't', CLIENT_KEY_RETENTION_HOURS: '6' })).toEqual({
      tableName: 't',
      clientKeyRetentionHours: 6,
    });
    expect(() => validateSettingsFrom({})).toThrow(/ORDERS_TABLE_NAME/);
  });
});

describe('the request template (api/post-orders.request.vtl)', () => {
  const template = new MappingTemplate(
    'postOrdersRequest',
    loadApiTemplate('postOrdersRequest', { StateMachineArn: 'arn:sm', OrdersTableName: 'orders' }),
  );
  const inputOf = (header: Record<string, string>, identity?: { accountId: string; userArn: string }) => {
    const rendered = template.render({
      body: '{}',
      params: { path: {}, querystring: { 'Idempotency-Key': 'from-query' }, header },
      context: requestContext(identity ? { identity } : {}),
    });
    return JSON.parse(String((JSON.parse(rendered.body) as { input: string }).input)) as Record<string, unknown>;
  };

  it('passes the caller as API Gateway knows it, empty for an unsigned request (keys then global)', () => {
    const caller = { accountId: '123456789012', userArn: 'arn:aws:sts::123456789012:assumed-role/Checkout/s' };
    expect(inputOf({}, caller).caller).toEqual(caller);
    expect(inputOf({}).caller).toEqual({ accountId: '', userArn: '' });
    expect(callerScope(inputOf({}).caller as Caller)).toBe('');
  });

  it('passes no key without the header, whatever the query string says', () => {
    expect(inputOf({ 'Content-Type': 'application/json' })).not.toHaveProperty('clientKey');
  });

  it('passes the field value base64-encoded, so that no quote or backslash of it reaches the JSON', () => {
    const value = '"a \\"b\\" \\\\ c"';
    const clientKey = inputOf({ 'Idempotency-Key': value }).clientKey;
    expect(Buffer.from(String(clientKey), 'base64').toString('latin1')).toBe(value);
    expect(readClientKeyHeader(value)).toEqual({ ok: true, clientKey: 'a "b" \\ c' });
  });

  it('cuts a value over 1024 characters (Validate refuses over 255 anyway)', () => {
    const clientKey = inputOf({ 'idempotency-key': 'k'.repeat(5000) }).clientKey;
    expect(Buffer.from(String(clientKey), 'base64').toString('latin1')).toHaveLength(1024);
  });
});
