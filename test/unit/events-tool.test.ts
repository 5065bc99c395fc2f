import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { openEventsDatabase } from '../../local/eventbridge/events-database.js';
import { LocalEventBus } from '../../local/eventbridge/local-event-bus.js';
import { synthesizedStack } from '../../cdk/lib/synthesis-cache.js';
import { matchesPattern } from '../../local/eventbridge/event-pattern.js';
import { orderAcceptedEntry } from '../../src/events/order-accepted.js';
import { EventLogReader, parseEvent, parsePattern, rulesOf } from '../../tools/local-events.js';
import example from '../../src/events/examples/order-accepted.json' with { type: 'json' };
import type { OrderDocument } from '../../src/contract/order.js';
import { folderForEachTest } from '../support/temp-folder.js';

/** The stored order the example's detail was published for (the relay adds schemaVersion back). */
const order = (orderId: string): OrderDocument => ({ ...example.detail, orderId }) as OrderDocument;

const rules = rulesOf((await synthesizedStack()).template);

describe('npm run events -- test', () => {
  it('judges an event against the stack’s own rules', () => {
    expect(rules.map((rule) => rule.description)).toContain('Every OrderAccepted to the archive queue');
    const event = parseEvent(JSON.stringify(example));
    expect(rules.filter((rule) => matchesPattern(rule.eventPattern, event))).toHaveLength(rules.length);
    const other = parseEvent(JSON.stringify({ ...example, 'detail-type': 'OrderCancelled' }));
    expect(rules.filter((rule) => matchesPattern(rule.eventPattern, other))).toEqual([]);
  });

  it('says plainly what it cannot judge', () => {
    expect(() => parseEvent('{"detail": {}}')).toThrow(/whole EventBridge event/);
    expect(() => parsePattern('{"detail": {"quantity": [{"numeric": [">", 5]}]}}')).toThrow(/exact values/);
  });
});

describe('npm run events -- tail', () => {
  const dir = folderForEachTest('events-tool');

  it('reads the events a running bus stores, from where it starts, filtered by a pattern', async () => {
    const path = join(dir(), 'events.sqlite');
    const db = openEventsDatabase(path);
    const bus = new LocalEventBus(db, { busName: 'order-intake' });
    await bus.putEvents([orderAcceptedEntry('order-intake', order('01KBF3Z8Q4M7N2P5R9T6V3W8X1'))]);

    const reader = new EventLogReader(path);
    const start = reader.lastSeq();
    await bus.putEvents([
      orderAcceptedEntry('order-intake', order('01KBF3Z8Q4M7N2P5R9T6V3W8X2')),
      { EventBusName: 'order-intake', Source: 'billing', DetailType: 'InvoiceSent', Detail: '{"invoiceId":"1"}' },
    ]);
    const all = reader.eventsAfter(start);
    expect(all.events.map((event) => event.envelope.source)).toEqual(['orders.intake', 'billing']);
    const accepted = reader.eventsAfter(start, parsePattern('{"detail":{"schemaVersion":[{"prefix":"1."}]}}'));
    expect(accepted.events.map((event) => event.envelope.detail.orderId)).toEqual(['01KBF3Z8Q4M7N2P5R9T6V3W8X2']);
    expect(accepted.lastSeq).toBe(all.lastSeq);
    expect(reader.eventsAfter(all.lastSeq).events).toEqual([]);
    reader.close();
    db.close();
  });
});
