/**
 * The two capacity profiles against the arithmetic of docs/capacity.md. Two synths: the default context, and
 * `-c capacity=burst`.
 *
 * - `default` deploys on any account, a new one with a Lambda concurrency quota of 10 included (nothing reserved),
 *   and costs nothing once; idle, about $3.85 a month at list price (a dashboard $3.00 and six alarms $0.60,
 *   <https://aws.amazon.com/cloudwatch/pricing/>; the archive queue's long polling some $0.25,
 *   <https://aws.amazon.com/sqs/pricing/>). It does NOT hold the seed's burst of 5,000 requests/s from cold: the table
 *   starts at 4,000 write units/s (about 660 orders/s) and Lambda shares the account's pool.
 * - `burst` holds the burst: the table pre-warmed to 30,000 write units/s, billed once when set and never lowered
 *   (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput.html>; the rate is on
 *   <https://aws.amazon.com/dynamodb/pricing/on-demand/>, not in the copies read: _unverified_), Validate and the relay
 *   reserving 600 concurrent executions (free). Idle, the same $3.85 a month.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import type { Template } from 'aws-cdk-lib/assertions';
import {
  BURST_REQUESTS_PER_SECOND,
  CAPACITY_PROFILES,
  WRITE_UNITS_PER_ORDER,
} from '../../cdk/lib/deployment-config.js';
import type { OrderIntakeStack } from '../../cdk/lib/order-intake-stack.js';
import { logicalIdOf, propertiesOf, synthOrderIntake, type Json } from './synth-order-intake.js';
import type { Item } from '../../src/store/orders-table.js';
import { validateOrder } from '../../src/validation/validate-order.js';

/** Two items for the order and its lock, a third for an Idempotency-Key; 2 write units each in a transaction. */
const ITEMS_PER_KEYED_ORDER = 3;
const WRITE_UNITS_PER_TRANSACTIONAL_ITEM = 2;
/** A new on-demand table's warm throughput. */
const NEW_TABLE = { writeUnitsPerSecond: 4000, readUnitsPerSecond: 12000 };
/** DynamoDB's default per-table quota for an on-demand table (DescribeLimits' TableMax*CapacityUnits). */
const TABLE_QUOTA_UNITS = 40000;
/** The most consistent single-item reads one request makes: GET reads the order; a POST reads a lock, its own order. */
const READS_PER_REQUEST = 2;
/** p95 of a warm Validate invoke, with headroom (docs/capacity.md, latency budget). */
const VALIDATE_SECONDS = 0.1;
/** Lambda concurrency: a standard account's quota and the minimum it must keep unreserved; a new account's quota. */
const STANDARD_ACCOUNT_CONCURRENCY = 1000;
const MINIMUM_UNRESERVED = 100;
const NEW_ACCOUNT_CONCURRENCY = 10;

interface Synth {
  stack: OrderIntakeStack;
  template: Template;
}
let byDefault: Synth;
let burst: Synth;
beforeAll(() => {
  byDefault = synthOrderIntake();
  burst = synthOrderIntake({ context: { capacity: 'burst' } });
});

const reservedOf = ({ stack, template }: Synth) =>
  [stack.workflow.validate.function, stack.relay.relay.function].map(
    (fn) => (propertiesOf(template, fn).ReservedConcurrentExecutions as number | undefined) ?? 0,
  );
const warmThroughputOf = ({ stack, template }: Synth) =>
  propertiesOf(template, stack.table.table).WarmThroughput as
    { WriteUnitsPerSecond: number; ReadUnitsPerSecond: number } | undefined;

describe('the default profile', () => {
  it('reserves no concurrency: it deploys on a new account, whose quota of 10 leaves nothing to reserve', () => {
    expect(reservedOf(byDefault)).toEqual([0, 0]);
    expect(NEW_ACCOUNT_CONCURRENCY).toBeLessThan(MINIMUM_UNRESERVED);
  });

  it('does not pre-warm the table: nothing billed once, nothing made irreversible', () => {
    expect(warmThroughputOf(byDefault)).toBeUndefined();
  });

  it('does not hold the burst from cold: a new table absorbs fewer orders a second than the burst sends', () => {
    expect(NEW_TABLE.writeUnitsPerSecond / WRITE_UNITS_PER_ORDER).toBeLessThan(BURST_REQUESTS_PER_SECOND);
  });
});

describe('the burst profile: 5,000 requests/s', () => {
  it('pre-warms writes for every keyed order of the burst, under the table quota', () => {
    expect(WRITE_UNITS_PER_ORDER).toBe(ITEMS_PER_KEYED_ORDER * WRITE_UNITS_PER_TRANSACTIONAL_ITEM);
    const warm = warmThroughputOf(burst);
    expect(warm?.WriteUnitsPerSecond).toBe(BURST_REQUESTS_PER_SECOND * WRITE_UNITS_PER_ORDER);
    expect(warm?.WriteUnitsPerSecond).toBeLessThanOrEqual(TABLE_QUOTA_UNITS);
  });

  it('keeps reads at a new table’s own, above every read the stage admits', () => {
    const warm = warmThroughputOf(burst);
    expect(warm?.ReadUnitsPerSecond).toBe(NEW_TABLE.readUnitsPerSecond);
    expect(warm?.ReadUnitsPerSecond).toBeGreaterThanOrEqual(BURST_REQUESTS_PER_SECOND * READS_PER_REQUEST);
  });

  it('reserves Validate its share (requests/s x a warm invoke) and caps the relay, within a standard account', () => {
    const [validate = 0, relay = 0] = reservedOf(burst);
    expect(validate).toBe(BURST_REQUESTS_PER_SECOND * VALIDATE_SECONDS);
    expect(relay).toBe(CAPACITY_PROFILES.burst.relayReservedConcurrency);
    // The archive's MaximumConcurrency (100) draws on what stays unreserved.
    expect(STANDARD_ACCOUNT_CONCURRENCY - validate - relay).toBeGreaterThanOrEqual(100 + MINIMUM_UNRESERVED);
  });
});

describe('in both profiles', () => {
  const both = (): [string, Synth][] => [
    ['default', byDefault],
    ['burst', burst],
  ];

  it.each([0, 1])('#%i lets the stage admit the whole burst at once (a ceiling, not a reservation)', (index) => {
    const [, synth] = both()[index] as [string, Synth];
    const [settings] = propertiesOf(synth.template, synth.stack.api.api.deploymentStage).MethodSettings as Json[];
    expect(settings).toMatchObject({
      ThrottlingRateLimit: BURST_REQUESTS_PER_SECOND,
      ThrottlingBurstLimit: BURST_REQUESTS_PER_SECOND,
    });
  });

  it.each([0, 1])('#%i reads the stream 2 batches a shard and caps the archive at 100', (index) => {
    const [, { stack, template }] = both()[index] as [string, Synth];
    const [streamMapping] = Object.values(
      template.findResources('AWS::Lambda::EventSourceMapping', {
        Properties: { EventSourceArn: { 'Fn::GetAtt': [logicalIdOf(stack.table.table), 'StreamArn'] } },
      }),
    ) as { Properties: Json }[];
    expect(streamMapping?.Properties.ParallelizationFactor).toBe(2);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: stack.resolve(stack.archive.queue.queueArn),
      ScalingConfig: { MaximumConcurrency: 100 },
    });
    expect(propertiesOf(template, stack.archive.consumer.function)).not.toHaveProperty('ReservedConcurrentExecutions');
  });

  it.each([0, 1])('#%i archives each order as one object in S3 Standard: no transition to pay for', (index) => {
    const [, { stack, template }] = both()[index] as [string, Synth];
    const lifecycle = propertiesOf(template, stack.archive.bucket).LifecycleConfiguration as { Rules: Json[] };
    for (const rule of lifecycle.Rules) {
      expect(rule).not.toHaveProperty('Transitions');
      expect(rule).not.toHaveProperty('Transition');
    }
  });
});

/**
 * An item's size as DynamoDB counts it: attribute names and values, a string by its UTF-8 bytes, a number 1 byte per
 * two significant digits plus 1 (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html>).
 */
const itemBytes = (item: Item): number =>
  Object.entries(item).reduce(
    (bytes, [name, value]) =>
      bytes +
      Buffer.byteLength(name) +
      ('S' in value ? Buffer.byteLength(value.S) : Math.ceil(value.N.replace(/^0+/, '').length / 2) + 1),
    0,
  );

/** The write units of the transaction Validate builds for an order of `lines` lines: 2 per item per started KB. */
function transactionOf(lines: number, clientKey?: string): { bytes: number[]; writeUnits: number } {
  const body = {
    customerId: 'CUST-7Q2K9M4X',
    items: Array.from({ length: lines }, (_, line) => ({ sku: `SKU-${String(line).padStart(8, '0')}`, quantity: 100 })),
    clientReference: 'web-checkout-42',
  };
  const outcome = validateOrder(
    new TextEncoder().encode(JSON.stringify(body)),
    {
      now: new Date(),
      newOrderId: () => '01JZ0000000000000000000000',
      tableName: 'orders',
      clientKeyRetentionHours: 24,
    },
    {
      ...(clientKey === undefined ? {} : { clientKeyHeader: clientKey }),
      caller: { accountId: '123456789012', userArn: 'arn:aws:sts::123456789012:assumed-role/OrderClient/session' },
    },
  );
  if (outcome.outcome !== 'VALID') throw new Error(outcome.problemBody);
  const bytes = outcome.transactItems.map(({ Put }) => itemBytes(Put.Item));
  return {
    bytes,
    writeUnits: bytes.reduce((units, size) => units + WRITE_UNITS_PER_TRANSACTIONAL_ITEM * Math.ceil(size / 1024), 0),
  };
}

describe('the write units of an order, from the items Validate builds (docs/capacity.md, keyed orders)', () => {
  const UUID = '8e03978e-40d5-43e8-bc93-6894a57f9324';

  it('a keyed order of up to 14 lines writes three items under 1 KB: the 6 units the burst profile is sized for', () => {
    for (const lines of [1, 14]) {
      const { bytes, writeUnits } = transactionOf(lines, UUID);
      expect(bytes).toHaveLength(ITEMS_PER_KEYED_ORDER);
      expect(Math.max(...bytes)).toBeLessThanOrEqual(1024);
      expect(writeUnits).toBe(WRITE_UNITS_PER_ORDER);
    }
  });

  it('an order without a key writes two; one of 15 lines or more stores an order item over 1 KB (8 units keyed)', () => {
    expect(transactionOf(1).writeUnits).toBe(4);
    expect(transactionOf(15, UUID).writeUnits).toBe(8);
    expect(transactionOf(20).writeUnits).toBe(6);
  });
});
