/**
 * The workflow definition through AWS's own ASL checker, and a guard on what the local engine cannot run.
 *
 * `amazon-states-language-service` is the validator behind the AWS Toolkit's Step Functions editor; asl-validator
 * (workflow-definition.test.ts) checks the same file against the ASL schema. aws-local-stepfunctions 3.0 silently
 * ignores the JSONata and variables fields (a Pass state's `Output` comes back unevaluated), so a state that used one
 * would pass every local test and behave differently in AWS: the guard fails on any of them, and the last tests show
 * the engine still ignores each, so the guard can go the day one of them fails.
 */
import { describe, expect, it } from '@jest/globals';
import asl from 'amazon-states-language-service';
import { StateMachine } from 'aws-local-stepfunctions';
import { loadOrderIntakeDefinition } from '../../asl/order-intake.js';

const definition = loadOrderIntakeDefinition({
  ValidateFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:order-intake-validate',
  OrdersTableName: 'orders',
  EventBusName: 'order-intake',
}) as { States: Record<string, Record<string, unknown>> };

/** What AWS's ASL language service reports on a definition, one line per finding. */
async function aslServiceFindings(document: unknown): Promise<string[]> {
  const service = asl.getLanguageService({});
  const text = asl.TextDocument.create('file:///order-intake.asl.json', 'json', 1, JSON.stringify(document, null, 2));
  const findings = await service.doValidation(text, service.parseJSONDocument(text));
  return findings.map(({ message, range }) => `line ${range.start.line + 1}: ${message}`);
}

/** The ASL fields aws-local-stepfunctions 3.0 does not implement. */
const IGNORED_LOCALLY = ['QueryLanguage', 'Arguments', 'Output', 'Condition', 'Assign'] as const;
/** Fields whose value is the state's data, not ASL: their keys are the payload's own. */
const PAYLOAD_FIELDS = new Set(['Parameters', 'ResultSelector', 'Result', 'ItemSelector']);

/** Every use of a field the local engine ignores, by its path in the definition. */
function fieldsIgnoredLocally(value: unknown, path = '$'): string[] {
  if (Array.isArray(value)) return value.flatMap((item, index) => fieldsIgnoredLocally(item, `${path}[${index}]`));
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, item]) => [
    ...((IGNORED_LOCALLY as readonly string[]).includes(key) ? [`${path}.${key}`] : []),
    ...(PAYLOAD_FIELDS.has(key) ? [] : fieldsIgnoredLocally(item, `${path}.${key}`)),
  ]);
}

describe('AWS’s ASL language service', () => {
  it('finds nothing in the definition', async () => {
    await expect(aslServiceFindings(definition)).resolves.toEqual([]);
  });

  it('does find a broken definition: a Next to no state', async () => {
    const broken = structuredClone(definition);
    const [first = ''] = Object.keys(broken.States);
    broken.States[first] = { ...broken.States[first], Next: 'NoSuchState', End: undefined };
    await expect(aslServiceFindings(broken)).resolves.toEqual(
      expect.arrayContaining([expect.stringContaining('must be the name of an existing state')]),
    );
  });
});

describe('what the local engine ignores', () => {
  it('is used nowhere in the definition: it would pass locally and behave differently in AWS', () => {
    expect(fieldsIgnoredLocally(definition)).toEqual([]);
  });

  it('is found by the guard wherever it is, a Choice rule’s Condition included', () => {
    const jsonata = {
      QueryLanguage: 'JSONata',
      States: {
        C: { Type: 'Choice', Choices: [{ Condition: '{% true %}', Next: 'P' }] },
        P: { Type: 'Pass', Assign: { v: 1 }, Output: '{% 1 %}', Parameters: { Output: 'payload, not ASL' } },
        T: { Type: 'Task', Arguments: {} },
      },
    };
    expect(fieldsIgnoredLocally(jsonata).sort()).toEqual([
      '$.QueryLanguage',
      '$.States.C.Choices[0].Condition',
      '$.States.P.Assign',
      '$.States.P.Output',
      '$.States.T.Arguments',
    ]);
  });

  /** Runs a one-state-machine locally, as the local runtime does (schema validation on). */
  const runLocally = async (machine: object, overrides: object = {}) => {
    const stateMachine = new StateMachine(machine as ConstructorParameters<typeof StateMachine>[0]);
    return stateMachine.run({ a: 1 }, overrides).result;
  };

  it('still ignores QueryLanguage and Output: a JSONata Pass state returns its input unevaluated', async () => {
    const output = runLocally({
      QueryLanguage: 'JSONata',
      StartAt: 'P',
      States: { P: { Type: 'Pass', Output: '{% $states.input.a + 1 %}', End: true } },
    });
    // AWS answers 2.
    await expect(output).resolves.toEqual({ a: 1 });
  });

  it('still ignores Condition: a JSONata Choice rule that holds is passed over for the Default', async () => {
    const output = runLocally({
      QueryLanguage: 'JSONata',
      StartAt: 'C',
      States: {
        C: { Type: 'Choice', Choices: [{ Condition: '{% true %}', Next: 'Held' }], Default: 'Passed' },
        Held: { Type: 'Pass', Result: 'held', End: true },
        Passed: { Type: 'Pass', Result: 'passed over', End: true },
      },
    });
    // AWS answers "held".
    await expect(output).resolves.toBe('passed over');
  });

  it('still ignores Arguments: a JSONata Task gets the state input, not its arguments', async () => {
    const output = runLocally(
      {
        QueryLanguage: 'JSONata',
        StartAt: 'T',
        States: {
          T: {
            Type: 'Task',
            Resource: 'arn:aws:lambda:eu-west-1:123456789012:function:f',
            Arguments: { b: 2 },
            End: true,
          },
        },
      },
      { overrides: { taskResourceLocalHandlers: { T: async (input: unknown) => input } } },
    );
    // AWS invokes the function with {"b":2}.
    await expect(output).resolves.toEqual({ a: 1 });
  });

  it('still ignores Assign: a variable assigned before is not there', async () => {
    const output = runLocally({
      StartAt: 'A',
      States: {
        A: { Type: 'Pass', Assign: { v: 5 }, Next: 'R' },
        R: { Type: 'Pass', Parameters: { 'v.$': '$v' }, End: true },
      },
    });
    // AWS answers {"v":5}.
    await expect(output).rejects.toThrow(/\$v/);
  });
});
