import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import {
  DEFAULT_SUBSCRIBERS_FILE,
  loadSubscribers,
  parseRetrySeconds,
  parseWebhooks,
  webhookRuleName,
} from '../../local/subscriptions.js';
import { orderAcceptedPattern } from '../../src/events/order-accepted.js';
import { handler as recordingHandler } from '../support/recording-subscriber.js';

const RECORDING_SUBSCRIBER = fileURLToPath(new URL('../support/recording-subscriber.ts', import.meta.url));

let folder: string;
beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'subscriptions-'));
});
afterEach(async () => {
  await rm(folder, { recursive: true, force: true });
});

const subscribersFile = async (entries: unknown, name = 'subscribers.json'): Promise<string> => {
  const file = join(folder, name);
  await writeFile(file, typeof entries === 'string' ? entries : JSON.stringify(entries));
  return file;
};
const handlerRef = (exportName = 'handler'): string => `./${relative(folder, RECORDING_SUBSCRIBER)}#${exportName}`;

describe('ORDER_INTAKE_WEBHOOKS', () => {
  it('makes each URL a webhook subscriber of OrderAccepted, with a rule name derived from the URL', () => {
    const subscribers = parseWebhooks(' http://localhost:4000/hooks/orders , https://example.test/a?x=1,');

    expect(subscribers).toEqual([
      {
        kind: 'webhook',
        url: 'http://localhost:4000/hooks/orders',
        ruleName: expect.stringMatching(/^webhook-localhost-4000-hooks-orders-[0-9a-f]{8}$/),
        eventPattern: orderAcceptedPattern,
      },
      expect.objectContaining({ kind: 'webhook', url: 'https://example.test/a?x=1' }),
    ]);
    expect(parseWebhooks(undefined)).toEqual([]);
  });

  it('names a URL’s rule the same way every time, and two URLs differently', () => {
    expect(webhookRuleName('http://localhost:4000/a')).toBe(webhookRuleName('http://localhost:4000/a'));
    expect(webhookRuleName('http://localhost:4000/a?v=1')).not.toBe(webhookRuleName('http://localhost:4000/a?v=2'));
    expect(webhookRuleName(`http://localhost/${'x'.repeat(200)}`).length).toBeLessThanOrEqual(64);
  });

  it.each([
    ['not a URL', 'localhost:4000', /ORDER_INTAKE_WEBHOOKS: "localhost:4000" is not an http or https URL/],
    ['garbage', 'http//', /ORDER_INTAKE_WEBHOOKS: "http\/\/" is not a URL/],
    ['a URL twice', 'http://a.test/,http://a.test/', /http:\/\/a.test\/ is listed twice/],
  ])('refuses %s', (_what, value, message) => {
    expect(() => parseWebhooks(value)).toThrow(message);
  });

  it.each([
    ['a user and password', 'https://ops:hunter2@hooks.example/in?key=k3y'],
    ['a user alone', 'https://hunter2@hooks.example/in'],
  ])('refuses a URL with %s, without saying the credential or the query', (_what, value) => {
    expect(() => parseWebhooks(value)).toThrow(/"https:\/\/hooks.example\/in(\?…)?" carries a user or password/);
    expect(() => parseWebhooks(value)).not.toThrow(/hunter2|k3y/);
  });

  it('says a refused URL back without its query string', () => {
    expect(() => parseWebhooks('ftp://hooks.example/in?key=k3y')).toThrow(
      /"ftp:\/\/hooks.example\/in\?…" is not an http/,
    );
  });
});

describe('the subscribers file', () => {
  it('imports a handler module relative to the file and narrows OrderAccepted by an entry’s pattern', async () => {
    const file = await subscribersFile([
      { name: 'audit', handler: handlerRef(), pattern: { detail: { schemaVersion: [{ prefix: '1.' }] } } },
      { name: 'crm', webhook: 'http://localhost:4100/orders' },
      { name: 'billing', handler: handlerRef(), timeoutSeconds: 20 },
    ]);

    const subscribers = await loadSubscribers({ subscribersFile: file, projectDir: folder });

    expect(subscribers).toEqual([
      {
        kind: 'handler',
        name: 'audit',
        ruleName: 'subscriber-audit',
        handler: recordingHandler,
        eventPattern: { ...orderAcceptedPattern, detail: { schemaVersion: [{ prefix: '1.' }] } },
      },
      {
        kind: 'webhook',
        url: 'http://localhost:4100/orders',
        ruleName: 'subscriber-crm',
        eventPattern: orderAcceptedPattern,
      },
      {
        kind: 'handler',
        name: 'billing',
        ruleName: 'subscriber-billing',
        handler: recordingHandler,
        eventPattern: orderAcceptedPattern,
        timeoutSeconds: 20,
      },
    ]);
    expect(subscribers[0]).not.toHaveProperty('timeoutSeconds');
  });

  it('is read from the project folder by default, after ORDER_INTAKE_WEBHOOKS, and is optional there', async () => {
    expect(await loadSubscribers({ projectDir: folder })).toEqual([]);
    await subscribersFile([{ name: 'crm', webhook: 'http://localhost:4100/' }], DEFAULT_SUBSCRIBERS_FILE);

    const subscribers = await loadSubscribers({ webhooks: 'http://localhost:4000/', projectDir: folder });

    expect(subscribers.map((subscriber) => subscriber.ruleName)).toEqual([
      webhookRuleName('http://localhost:4000/'),
      'subscriber-crm',
    ]);
  });

  it.each([
    ['not JSON', '[{', /subscribers.json: not readable as JSON/],
    ['not an array', { name: 'crm' }, /subscribers.json: must be a JSON array of subscribers/],
    ['an entry without a name', [{ webhook: 'http://a.test/' }], /subscriber 1: "name" must be 1 to 64 of/],
    ['a name with spaces', [{ name: 'my hook', webhook: 'http://a.test/' }], /subscriber 1: "name" must be/],
    ['an unknown field', [{ name: 'crm', webhok: 'http://a.test/' }], /subscriber "crm": unknown field "webhok"/],
    [
      'neither handler nor webhook',
      [{ name: 'crm', pattern: {} }],
      /subscriber "crm": needs either "handler" or "webhook"/,
    ],
    [
      'both handler and webhook',
      [{ name: 'crm', handler: './x.ts', webhook: 'http://a.test/' }],
      /subscriber "crm": needs either "handler" or "webhook", not both/,
    ],
    ['a webhook that is no URL', [{ name: 'crm', webhook: 'a.test' }], /subscriber "crm": "a.test" is not a URL/],
    [
      'a handler without a module',
      [{ name: 'audit', handler: '#handler' }],
      /"handler" must be "<module path>#<export>"/,
    ],
    [
      'a missing module',
      [{ name: 'audit', handler: './missing.ts#handler' }],
      /subscriber "audit": no module at .*missing.ts/,
    ],
    [
      'a pattern that subscribes to something else',
      [{ name: 'crm', webhook: 'http://a.test/', pattern: { source: ['billing'] } }],
      /subscriber "crm": "pattern" may not set "source"/,
    ],
    [
      'a pattern filter the local bus does not implement',
      [{ name: 'crm', webhook: 'http://a.test/', pattern: { detail: { total: [{ numeric: ['>', 1] }] } } }],
      /subscriber "crm": pattern.detail.total: only non-empty arrays of exact values/,
    ],
    [
      'a timeout on a webhook',
      [{ name: 'crm', webhook: 'http://a.test/', timeoutSeconds: 5 }],
      /subscriber "crm": "timeoutSeconds" is for a handler/,
    ],
    [
      'a name used twice',
      [
        { name: 'crm', webhook: 'http://a.test/' },
        { name: 'crm', webhook: 'http://b.test/' },
      ],
      /"crm" is named twice/,
    ],
  ])('fails the start on %s, saying where', async (_what, entries, message) => {
    const file = await subscribersFile(entries);
    await expect(loadSubscribers({ subscribersFile: file })).rejects.toThrow(message);
  });

  it.each([0, 901, 2.5, '10'])(
    'fails the start on a handler timeout of %j, as Lambda would refuse it',
    async (timeoutSeconds) => {
      const file = await subscribersFile([{ name: 'audit', handler: handlerRef(), timeoutSeconds }]);
      await expect(loadSubscribers({ subscribersFile: file })).rejects.toThrow(
        /subscriber "audit": "timeoutSeconds" must be a whole number of seconds from 1 to 900/,
      );
    },
  );

  it('fails on an export that is not a function, naming what the module exports', async () => {
    const file = await subscribersFile([{ name: 'audit', handler: handlerRef('notAFunction') }]);
    await expect(loadSubscribers({ subscribersFile: file })).rejects.toThrow(
      /subscriber "audit": .*recording-subscriber.ts has no function "notAFunction" \(it exports .*handler/,
    );
  });

  it('fails when ORDER_INTAKE_SUBSCRIBERS names a file that is not there', async () => {
    await expect(loadSubscribers({ subscribersFile: 'nowhere.json', projectDir: folder })).rejects.toThrow(
      /ORDER_INTAKE_SUBSCRIBERS: no file at .*nowhere.json/,
    );
  });
});

describe('ORDER_INTAKE_WEBHOOK_RETRY_SECONDS', () => {
  it('is a number of seconds, the default when unset', () => {
    expect(parseRetrySeconds(undefined, 300)).toBe(300);
    expect(parseRetrySeconds('30', 300)).toBe(30);
    expect(() => parseRetrySeconds('5m', 300)).toThrow(/must be a number of seconds, not 5m/);
  });
});
