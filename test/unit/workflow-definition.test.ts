import { readFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from '@jest/globals';
import validator from 'asl-validator';
import {
  loadOrderIntakeDefinition,
  ORDER_INTAKE_ASL_PATH,
  workflowSubstitutions,
  type WorkflowResources,
} from '../../asl/order-intake.js';
import { localIntegrations } from '../../local/stepfunctions/task-integrations.js';
import { deployedAuthorizers } from '../support/iam.js';
import { RecordingBus } from '../support/recording-bus.js';

const resources: WorkflowResources = {
  ValidateFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:order-intake-validate',
  OrdersTableName: 'orders',
  EventBusName: 'order-intake',
};

type Handler = { ErrorEquals: string[]; Next?: string; ResultPath?: string };
type State = {
  Type: string;
  Resource?: string;
  Next?: string;
  Default?: string;
  Retry?: Handler[];
  Catch?: (Handler & { Next: string })[];
  ErrorPath?: string;
  CausePath?: string;
};
const definition = loadOrderIntakeDefinition(resources) as { StartAt: string; States: Record<string, State> };

describe('asl/order-intake.asl.json', () => {
  it('passes asl-validator once its substitutions are applied', () => {
    const result = validator(definition, { checkPaths: true, checkArn: true });
    expect(result.errors).toEqual([]);
    expect(result.isValid).toBe(true);
  });

  it('takes every resource name through a substitution, none hard-coded', () => {
    const template = readFileSync(ORDER_INTAKE_ASL_PATH, 'utf8');
    const placeholders = new Set([...template.matchAll(/\$\{(\w+)\}/g)].map((match) => match[1]));
    expect([...placeholders].sort()).toEqual(Object.keys(workflowSubstitutions(resources)).sort());
    expect(template).not.toMatch(/arn:aws:(lambda|dynamodb|events):/);
  });

  it('has a local integration for every Task resource, so both runtimes run the same file', () => {
    const integrations = localIntegrations({
      // Never called: only the integrations' names are read.
      dynamodb: new DynamoDBClient({ region: 'local' }),
      bus: new RecordingBus(),
      functions: {},
      iam: deployedAuthorizers().workflow,
    });
    const resourcesUsed = Object.values(definition.States).flatMap((state) => state.Resource ?? []);
    expect(resourcesUsed.length).toBeGreaterThan(0);
    for (const resource of resourcesUsed) expect(Object.keys(integrations)).toContain(resource);
  });

  it('ends every expected outcome in a response state, and only the unexpected in the one Fail state', () => {
    const ends = Object.entries(definition.States).filter(([, state]) => 'End' in state);
    expect(ends.map(([name]) => name).sort()).toEqual([
      'RespondAccepted',
      'RespondDuplicate',
      'RespondInProgress',
      'RespondKeyReused',
      'RespondRejected',
      'RespondReplayed',
      'RespondUnavailable',
    ]);
    const fails = Object.entries(definition.States).filter(([, state]) => state.Type === 'Fail');
    expect(fails.map(([name]) => name)).toEqual(['InternalError']);
  });

  it('fails with the error that was caught, so the execution names it and the failure alarm counts it', () => {
    expect(definition.States.InternalError).toMatchObject({
      ErrorPath: '$.failure.Error',
      CausePath: '$.failure.Cause',
    });
    const catchers = Object.values(definition.States).flatMap((state) => state.Catch ?? []);
    const intoFail = catchers.filter((catcher) => catcher.Next === 'InternalError');
    expect(intoFail.length).toBeGreaterThan(0);
    for (const catcher of intoFail) expect(catcher).toMatchObject({ ResultPath: '$.failure' });
  });

  it('never retries or softens a misconfiguration: unmodeled errors end in the Fail state unless the order is stored', () => {
    const unmodeled = ['DynamoDb.DynamoDbException', 'DynamoDB.AmazonDynamoDBException'];
    for (const [name, state] of Object.entries(definition.States)) {
      const retried = (state.Retry ?? []).flatMap((retry) => retry.ErrorEquals);
      expect({ state: name, retried: retried.filter((error) => unmodeled.includes(error)) }).toEqual({
        state: name,
        retried: [],
      });
      for (const catcher of state.Catch ?? []) {
        const caught = catcher.ErrorEquals.filter((error) => unmodeled.includes(error));
        // The one detour: a transaction that failed unmodeled may have committed, so its own order is read first.
        if (caught.length > 0) expect([name, catcher.Next]).toEqual(['Persist', 'ReadOwnOrder']);
      }
    }
    const wasCancelled = definition.States.WasCancelled as unknown as {
      Choices: { StringEquals?: string; Next: string }[];
    };
    expect(wasCancelled.Choices).toContainEqual(
      expect.objectContaining({ StringEquals: 'DynamoDb.DynamoDbException', Next: 'InternalError' }),
    );
  });

  it('answers 503 only for what a retry can cure: a refused Lambda invoke (AWSLambdaException) that persists fails', () => {
    const unavailable = definition.States.Validate?.Catch?.find((catcher) => catcher.Next === 'UnavailableProblem');
    expect(unavailable?.ErrorEquals).not.toContain('Lambda.AWSLambdaException');
    expect(definition.States.Validate?.Retry?.[0]?.ErrorEquals).toContain('Lambda.AWSLambdaException');
  });
});
