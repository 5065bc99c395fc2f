/**
 * The kept synthesis is found again only while nothing it was made from has changed: its key covers the context and
 * every file of cdk.json, the lock file, cdk/, src/, asl/, api/ and lambdas/, so a changed construct, workflow,
 * template or handler takes effect at the next start.
 */
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { synthesisKey, synthesizedStack } from '../../cdk/lib/synthesis-cache.js';
import { folderForEachTest } from '../support/temp-folder.js';

const PROJECT = fileURLToPath(new URL('../../', import.meta.url));
const INPUTS = ['cdk.json', 'package-lock.json', 'cdk', 'src', 'asl', 'api', 'lambdas'];

describe('the synthesis key', () => {
  const folder = folderForEachTest('synthesis-key');

  /** A copy of the project's inputs, to change one at a time. */
  function copyOfInputs(): string {
    const root = `${folder()}/`;
    for (const input of INPUTS) cpSync(join(PROJECT, input), join(root, input), { recursive: true });
    return root;
  }

  it('is the same for the same inputs, wherever the project lies', () => {
    expect(synthesisKey({}, copyOfInputs())).toBe(synthesisKey());
  });

  it.each([
    ['a construct', 'cdk/lib/order-api.ts'],
    ['the workflow', 'asl/order-intake.asl.json'],
    ['a mapping template', 'api/post-orders.request.vtl'],
    ['a handler', 'lambdas/validate/handler.ts'],
    ['a contract', 'src/contract/order.schema.json'],
    ['cdk.json', 'cdk.json'],
    ['the lock file', 'package-lock.json'],
  ])('changes when %s changes', (_what, path) => {
    const root = copyOfInputs();
    const before = synthesisKey({}, root);
    writeFileSync(join(root, path), `${readFileSync(join(root, path), 'utf8')}\n`);
    expect(synthesisKey({}, root)).not.toBe(before);
  });

  it('changes when a file is added, and with the context', () => {
    const root = copyOfInputs();
    const before = synthesisKey({}, root);
    mkdirSync(join(root, 'cdk/lib/extra'), { recursive: true });
    writeFileSync(join(root, 'cdk/lib/extra/construct.ts'), 'export {};\n');
    expect(synthesisKey({}, root)).not.toBe(before);
    expect(synthesisKey({ publishFastPath: false })).not.toBe(synthesisKey());
  });
});

it('keeps the template with the logical ids the local runtime looks up, each naming a resource of it', async () => {
  const { template, logicalIds } = await synthesizedStack();
  for (const id of Object.values(logicalIds)) expect(template.Resources[id]).toBeDefined();
  expect(template.Resources[logicalIds.workflowRole]?.Type).toBe('AWS::IAM::Role');
  expect(template.Resources[logicalIds.table]?.Type).toBe('AWS::DynamoDB::Table');
});
