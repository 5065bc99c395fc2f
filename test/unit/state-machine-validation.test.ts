import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { validatedStateMachine, validationRecordOf } from '../../local/stepfunctions/order-workflow.js';

// Each test's definitions are its own (a Comment no other run writes), so that no earlier run's record is found.
const valid = (): StateMachineDefinition =>
  ({ Comment: randomUUID(), StartAt: 'Done', States: { Done: { Type: 'Succeed' } } }) as StateMachineDefinition;
const invalid = (): StateMachineDefinition =>
  ({ Comment: randomUUID(), StartAt: 'Nowhere', States: { Done: { Type: 'Succeed' } } }) as StateMachineDefinition;

const records: string[] = [];
const recordOf = (definition: StateMachineDefinition): string => {
  const record = validationRecordOf(definition);
  records.push(record);
  return record;
};
afterEach(() => records.splice(0).forEach((record) => rmSync(record, { force: true })));

describe('a workflow definition validated once', () => {
  it('is remembered by its content, and its machine runs as a validated one does', async () => {
    const definition = valid();
    expect(existsSync(recordOf(definition))).toBe(false);
    await expect(validatedStateMachine(definition).run({ a: 1 }).result).resolves.toEqual({ a: 1 });
    expect(existsSync(recordOf(definition))).toBe(true);
    await expect(validatedStateMachine(definition).run({ a: 2 }).result).resolves.toEqual({ a: 2 });
    // The definition is left as written (the validator fills in defaults on a copy): the same content, the same record.
    expect(definition).not.toHaveProperty('States.Done.QueryLanguage');
    // Another content is another record.
    expect(recordOf(valid())).not.toBe(recordOf(definition));
  });

  it('is not validated again, while an invalid one is refused at every build and never remembered', () => {
    const definition = invalid();
    expect(() => validatedStateMachine(definition)).toThrow(/invalid/);
    expect(() => validatedStateMachine(definition)).toThrow(/invalid/);
    expect(existsSync(recordOf(definition))).toBe(false);
    // Only a record makes the build skip validation: with one, even this definition builds.
    mkdirSync(dirname(recordOf(definition)), { recursive: true });
    writeFileSync(recordOf(definition), '');
    expect(() => validatedStateMachine(definition)).not.toThrow();
  });
});
