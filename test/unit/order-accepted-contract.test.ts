import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { Parser } from '@asyncapi/parser';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import orderRequestSchema from '../../src/contract/order.schema.json' with { type: 'json' };
import currentSchema from '../../src/events/order-accepted.schema.json' with { type: 'json' };
import {
  ORDER_ACCEPTED_DETAIL_TYPE,
  ORDER_ACCEPTED_SCHEMA_VERSION,
  ORDER_EVENT_SOURCE,
  orderAcceptedEntry,
  type OrderAcceptedDetail,
} from '../../src/events/order-accepted.js';
import { validateOrder } from '../../src/validation/validate-order.js';
import { openEventsDatabase } from '../../local/eventbridge/events-database.js';
import { LocalEventBus } from '../../local/eventbridge/local-event-bus.js';
import { loadAsyncApiDocument } from '../../local/apigateway/openapi.js';
import { breakingChanges } from '../support/schema-compatibility.js';
import { validOrder } from '../support/order-samples.js';

const folder = new URL('../../src/events/', import.meta.url);
const readJson = (url: URL): Record<string, unknown> =>
  JSON.parse(readFileSync(url, 'utf8')) as Record<string, unknown>;

const ajv = new Ajv({ allErrors: true, strict: true });
addFormats.default(ajv);
const validateEvent = ajv.compile(currentSchema);
const schemaErrors = (event: unknown): string[] =>
  validateEvent(event) ? [] : (validateEvent.errors ?? []).map((error) => `${error.instancePath} ${error.message}`);

/** Every version ever published, oldest first: `published/order-accepted.<major>.<minor>.schema.json`. */
const published = readdirSync(new URL('published/', folder))
  .map((file) => /^order-accepted\.(\d+)\.(\d+)\.schema\.json$/.exec(file))
  .filter((match): match is RegExpExecArray => match !== null)
  .map(([file, major, minor]) => ({
    version: `${major}.${minor}`,
    major: Number(major),
    minor: Number(minor),
    schema: readJson(new URL(`published/${file}`, folder)),
  }))
  .sort((a, b) => a.major - b.major || a.minor - b.minor);

const detailSchema = currentSchema.properties.detail;

describe('the OrderAccepted contract files', () => {
  it('each example event is valid', () => {
    const examples = readdirSync(new URL('examples/', folder));
    expect(examples.length).toBeGreaterThan(0);
    for (const file of examples)
      expect([file, schemaErrors(readJson(new URL(`examples/${file}`, folder)))]).toEqual([file, []]);
  });

  it('the event the service publishes for a validated order is valid, envelope and detail', async () => {
    const outcome = validateOrder(new TextEncoder().encode(JSON.stringify(validOrder)), {
      now: new Date('2026-12-01T13:04:07.412Z'),
      newOrderId: () => '01KBF3Z8Q4M7N2P5R9T6V3W8XY',
      tableName: 'orders',
      clientKeyRetentionHours: 24,
    });
    if (outcome.outcome !== 'VALID') throw new Error('the sample order must be valid');
    const bus = new LocalEventBus(openEventsDatabase(':memory:'), { busName: 'contract' });
    await bus.putEvents([orderAcceptedEntry('contract', outcome.order)]);
    const [stored] = bus.storedEvents();
    expect(schemaErrors(stored?.envelope)).toEqual([]);
    // The workflow's Publish state sends the Validate outcome's detail; the relay builds it from the stored order.
    expect(stored?.envelope.detail).toEqual(outcome.orderAccepted);
  });

  it('the TypeScript type names exactly the schema’s detail members, and the required ones', () => {
    const members = {
      schemaVersion: true,
      orderId: true,
      status: true,
      acceptedAt: true,
      idempotencyKey: true,
      customerId: true,
      items: true,
      clientReference: false,
    } as const satisfies Record<keyof OrderAcceptedDetail, boolean>;
    // A member of the type that the record above does not list fails to compile (satisfies needs every key).
    expect(Object.keys(detailSchema.properties).sort()).toEqual(Object.keys(members).sort());
    expect([...detailSchema.required].sort()).toEqual(
      Object.entries(members)
        .filter(([, required]) => required)
        .map(([name]) => name)
        .sort(),
    );
  });

  it('the detail’s order members carry the request contract’s constraints, so the two cannot drift', () => {
    const { customerId, items, clientReference } = orderRequestSchema.properties;
    expect(detailSchema.properties.customerId).toEqual(customerId);
    expect(detailSchema.properties.clientReference).toEqual(clientReference);
    const { items: detailLine, ...detailList } = detailSchema.properties.items;
    expect(detailList).toEqual({ type: items.type, minItems: items.minItems, maxItems: items.maxItems });
    // The request refuses unknown members; the event does not, so that a minor version may add one.
    expect(detailLine).toEqual({
      type: items.items.type,
      required: items.items.required,
      properties: items.items.properties,
    });
  });

  it('source, detail-type and the version pattern agree with the code', () => {
    expect(currentSchema.properties.source.const).toBe(ORDER_EVENT_SOURCE);
    expect(currentSchema.properties['detail-type'].const).toBe(ORDER_ACCEPTED_DETAIL_TYPE);
    expect(new RegExp(detailSchema.properties.schemaVersion.pattern).test(ORDER_ACCEPTED_SCHEMA_VERSION)).toBe(true);
  });
});

describe('OrderAccepted versioning', () => {
  it(`the schema is the one published as ${ORDER_ACCEPTED_SCHEMA_VERSION}: change it only with a new version`, () => {
    const latest = published.at(-1);
    expect(latest?.version).toBe(ORDER_ACCEPTED_SCHEMA_VERSION);
    expect(currentSchema).toEqual(latest?.schema);
  });

  it('each minor version only adds to the one before it', () => {
    for (const [index, newer] of published.entries()) {
      const older = published[index - 1];
      if (!older || older.major !== newer.major) continue;
      expect([newer.version, breakingChanges(older.schema, newer.schema)]).toEqual([newer.version, []]);
    }
  });

  describe('the compatibility rule catches', () => {
    const mutated = (change: (detail: typeof detailSchema) => void) => {
      const copy = structuredClone(currentSchema);
      change(copy.properties.detail);
      return copy;
    };

    it.each([
      [
        'a required member removed',
        mutated((detail) => {
          detail.required = detail.required.filter((name) => name !== 'acceptedAt');
          delete (detail.properties as Partial<typeof detail.properties>).acceptedAt;
        }),
        /acceptedAt: removed/,
      ],
      [
        'a member no longer required',
        mutated((detail) => void (detail.required = detail.required.filter((name) => name !== 'idempotencyKey'))),
        /idempotencyKey is no longer required/,
      ],
      [
        'a type narrowed',
        mutated(
          (detail) => void ((detail.properties.items.items.properties.quantity as { type: string }).type = 'string'),
        ),
        /quantity\/type: "integer" became "string"/,
      ],
      [
        'a constraint added',
        mutated((detail) => void Object.assign(detail.properties.customerId, { maxLength: 10 })),
        /customerId\/maxLength: constraint added/,
      ],
      [
        'a member newly required',
        mutated((detail) => void detail.required.push('clientReference')),
        /clientReference is newly required/,
      ],
    ])('%s', (_what, newer, reported) => {
      expect(breakingChanges(currentSchema, newer).join('\n')).toMatch(reported);
    });

    it('but lets an optional member be added, or a description change', () => {
      const newer = mutated((detail) => {
        Object.assign(detail.properties, { channel: { type: 'string' } });
        detail.description = 'reworded';
      });
      expect(breakingChanges(currentSchema, newer)).toEqual([]);
    });
  });
});

describe('the AsyncAPI document', () => {
  const document = loadAsyncApiDocument();

  it('is valid AsyncAPI 3 for the AsyncAPI parser', async () => {
    const { diagnostics } = await new Parser().parse(JSON.stringify(document));
    const errors = diagnostics.filter((diagnostic) => diagnostic.severity === 0);
    expect(errors.map((error) => `${error.path.join('.')}: ${error.message}`)).toEqual([]);
  });

  it('carries the schema file as the message payload, and an example that the schema accepts', () => {
    const message = (
      document.components as {
        messages: Record<string, { payload: { schema: unknown }; examples: { payload: unknown }[] }>;
      }
    ).messages.OrderAccepted;
    expect(message?.payload.schema).toEqual(currentSchema);
    for (const example of message?.examples ?? []) expect(schemaErrors(example.payload)).toEqual([]);
  });
});
