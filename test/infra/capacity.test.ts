/**
 * The default deployment holds the seed's burst, 5,000 requests/s, with nothing provisioned: each default that bounds
 * throughput on the path, checked against the arithmetic of docs/capacity.md. One synth (default context).
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import type { Template } from 'aws-cdk-lib/assertions';
import type { OrderIntakeStack } from '../../cdk/lib/order-intake-stack.js';
import { logicalIdOf, propertiesOf, synthOrderIntake, type Json } from './synth-order-intake.js';

/** The seed's burst. */
const REQUESTS_PER_SECOND = 5000;
/** Two items in one transaction, 2 write units each (items under 1 KB). */
const WRITE_UNITS_PER_ORDER = 4;
/** A new on-demand table's warm throughput. */
const NEW_TABLE = { writeUnitsPerSecond: 4000, readUnitsPerSecond: 12000 };
/** The most consistent single-item reads one request makes: GET reads the order; a POST reads a lock, its own order. */
const READS_PER_REQUEST = 2;
/** p95 of a warm Validate invoke, with headroom (docs/capacity.md, latency budget). */
const VALIDATE_SECONDS = 0.1;
/** Lambda's default concurrent executions per account and Region, and what must stay unreserved. */
const ACCOUNT_CONCURRENCY = 1000;
const MINIMUM_UNRESERVED = 100;

let stack: OrderIntakeStack;
let template: Template;
beforeAll(() => {
  ({ stack, template } = synthOrderIntake());
});

const reservedConcurrencyOf = (fn: Parameters<typeof propertiesOf>[1]) =>
  propertiesOf(template, fn).ReservedConcurrentExecutions as number | undefined;

describe('capacity defaults for 5,000 requests/s', () => {
  it('pre-warms the table for every order of the burst, and reads for every request the stage admits', () => {
    const { WriteUnitsPerSecond, ReadUnitsPerSecond } = propertiesOf(template, stack.table.table).WarmThroughput as {
      WriteUnitsPerSecond: number;
      ReadUnitsPerSecond: number;
    };
    expect(NEW_TABLE.writeUnitsPerSecond / WRITE_UNITS_PER_ORDER).toBeLessThan(REQUESTS_PER_SECOND);
    expect(WriteUnitsPerSecond).toBe(REQUESTS_PER_SECOND * WRITE_UNITS_PER_ORDER);
    expect(ReadUnitsPerSecond).toBe(NEW_TABLE.readUnitsPerSecond);
    expect(ReadUnitsPerSecond).toBeGreaterThanOrEqual(REQUESTS_PER_SECOND * READS_PER_REQUEST);
  });

  it('lets the stage admit the whole burst at once', () => {
    const [settings] = propertiesOf(template, stack.api.api.deploymentStage).MethodSettings as Json[];
    expect(settings).toMatchObject({
      ThrottlingRateLimit: REQUESTS_PER_SECOND,
      ThrottlingBurstLimit: REQUESTS_PER_SECOND,
    });
  });

  it('reserves Validate its share of the account pool: requests/s x a warm invoke', () => {
    expect(reservedConcurrencyOf(stack.workflow.validate.function)).toBe(REQUESTS_PER_SECOND * VALIDATE_SECONDS);
  });

  it('caps the relay and the archive so that a backlog never reaches the request path’s share', () => {
    const relay = reservedConcurrencyOf(stack.relay.relay.function);
    expect(relay).toBe(100);
    expect(propertiesOf(template, stack.archive.consumer.function)).not.toHaveProperty('ReservedConcurrentExecutions');

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
  });

  it('fits the default account: reservations leave Lambda’s minimum unreserved, and the archive’s cap fits in it', () => {
    const reserved =
      (reservedConcurrencyOf(stack.workflow.validate.function) ?? 0) +
      (reservedConcurrencyOf(stack.relay.relay.function) ?? 0);
    const unreserved = ACCOUNT_CONCURRENCY - reserved;
    expect(unreserved).toBeGreaterThanOrEqual(MINIMUM_UNRESERVED);
    expect(unreserved).toBeGreaterThanOrEqual(100 /* the archive's MaximumConcurrency */ + MINIMUM_UNRESERVED);
  });

  it('archives each order as one object in S3 Standard: no lifecycle transition to pay for', () => {
    const lifecycle = propertiesOf(template, stack.archive.bucket).LifecycleConfiguration as { Rules: Json[] };
    for (const rule of lifecycle.Rules) {
      expect(rule).not.toHaveProperty('Transitions');
      expect(rule).not.toHaveProperty('Transition');
    }
  });
});
