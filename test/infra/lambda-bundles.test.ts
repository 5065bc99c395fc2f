/**
 * The Lambda bundles as `cdk synth` builds them (esbuild, ESM, minified, source maps), run as Lambda would load
 * them: a separate Node process that imports index.mjs and calls `handler`. This file alone bundles for real.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import type { Template } from 'aws-cdk-lib/assertions';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { NodeFunction } from '../../cdk/lib/node-function.js';
import type { OrderIntakeStack } from '../../cdk/lib/order-intake-stack.js';
import { ARCHIVE_ENVIRONMENT } from '../../src/archive/archive-order.js';
import { ORDER_ID_PATTERN } from '../../src/contract/order.js';
import { OUTBOX_ENVIRONMENT } from '../../src/outbox/relay-order-events.js';
import { validOrder, workflowInput } from '../support/order-samples.js';
import { propertiesOf, synthOrderIntake } from './synth-order-intake.js';

/** Budgets that catch an accidental dependency (the whole SDK, a second copy of a library), not byte-level drift. */
const BUNDLE_BUDGET_BYTES = { validate: 200_000, relay: 800_000, archive: 1_000_000 };

let stack: OrderIntakeStack;
let template: Template;
let outdir: string;
beforeAll(() => {
  const synth = synthOrderIntake({ bundle: true });
  ({ stack, template } = synth);
  outdir = synth.app.outdir;
});

/** The bundle of a function: its code asset, staged in the cloud assembly. */
const bundleOf = (fn: NodeFunction): string => {
  const { S3Key } = propertiesOf(template, fn.function).Code as { S3Key: string };
  return `${outdir}/asset.${S3Key.replace(/\.zip$/, '')}/index.mjs`;
};

/** Imports the bundle in a fresh Node (the pinned one running Jest) and calls its handler with `event`. */
function invoke(bundle: string, event: unknown, env: Record<string, string> = {}): unknown {
  const script = `
    const { handler } = await import(${JSON.stringify(pathToFileURL(bundle).href)});
    process.stdout.write(JSON.stringify(await handler(${JSON.stringify(event)}, {})));`;
  const run = spawnSync(process.execPath, ['--enable-source-maps', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, POWERTOOLS_LOG_LEVEL: 'ERROR', AWS_REGION: 'eu-west-1', ...env },
    timeout: 20_000,
  });
  if (run.status !== 0) throw new Error(`bundle failed (${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout);
}

describe.each([
  ['validate', () => stack.workflow.validate],
  ['relay', () => stack.relay.relay],
  ['archive', () => stack.archive.consumer],
] as const)('%s bundle', (name, fn) => {
  it('is one minified ES module with a linked source map, within its size budget', () => {
    const bundle = bundleOf(fn());
    const source = readFileSync(bundle, 'utf8');
    expect(source).toMatch(/\/\/# sourceMappingURL=index\.mjs\.map\s*$/);
    expect(existsSync(`${bundle}.map`)).toBe(true);
    // Minified: long lines, no indentation left (template literals may still hold a few newlines).
    expect(source.length / source.split('\n').length).toBeGreaterThan(2000);
    expect(statSync(bundle).size).toBeLessThan(BUNDLE_BUDGET_BYTES[name]);
  });

  it('holds no code of the local runtime (and so nothing of its AGPL IAM evaluator)', () => {
    const sources = (JSON.parse(readFileSync(`${bundleOf(fn())}.map`, 'utf8')) as { sources: string[] }).sources;
    expect(sources.length).toBeGreaterThan(0);
    expect(sources.filter((source) => /(^|\/)(local\/|node_modules\/@cloud-copilot\/)/.test(source))).toEqual([]);
  });
});

describe('running the bundles', () => {
  it('validate accepts a valid order and rejects an invalid one', () => {
    const bundle = bundleOf(stack.workflow.validate);
    // The environment the stack gives the function.
    const env = { ORDERS_TABLE_NAME: 'orders', CLIENT_KEY_RETENTION_HOURS: '24' };
    expect(invoke(bundle, workflowInput(JSON.stringify(validOrder)), env)).toMatchObject({
      outcome: 'VALID',
      orderId: expect.stringMatching(ORDER_ID_PATTERN),
      transactItems: [{ Put: { TableName: 'orders' } }, { Put: { TableName: 'orders' } }],
    });
    expect(invoke(bundle, workflowInput(JSON.stringify({ ...validOrder, customerId: 'nope' })), env)).toMatchObject({
      outcome: 'REJECTED',
      statusCode: 400,
    });
  });

  it('relay relays nothing from a batch without new orders', () => {
    const event = {
      Records: [{ eventName: 'REMOVE', dynamodb: { SequenceNumber: '1', Keys: { pk: { S: 'ORDER#X' } } } }],
    };
    expect(invoke(bundleOf(stack.relay.relay), event, { [OUTBOX_ENVIRONMENT.eventBusName]: 'bus' })).toEqual({
      batchItemFailures: [],
    });
  });

  it('archive reports a malformed message as a batch item failure', () => {
    const event = {
      Records: [
        { messageId: 'm-1', body: '{"detail":{}}', eventSource: 'aws:sqs', attributes: {}, messageAttributes: {} },
      ],
    };
    expect(invoke(bundleOf(stack.archive.consumer), event, { [ARCHIVE_ENVIRONMENT.bucketName]: 'bucket' })).toEqual({
      batchItemFailures: [{ itemIdentifier: 'm-1' }],
    });
  });
});
