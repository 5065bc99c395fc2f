import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import validator from 'asl-validator';
import {
  loadOrderIntakeDefinition,
  ORDER_INTAKE_ASL_PATH,
  workflowSubstitutions,
  type WorkflowResources,
} from '../../asl/order-intake.js';
import { localIntegrations } from '../../local/workflow/task-integrations.js';
import { RecordingBus } from '../support/recording-bus.js';
import { testDynamoDbClient } from '../support/dynamodb.js';

const resources: WorkflowResources = {
  ValidateFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:order-intake-validate',
  OrdersTableName: 'orders',
  EventBusName: 'order-intake',
};

type State = { Type: string; Resource?: string; Next?: string; Default?: string; Catch?: { Next: string }[] };
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
    const integrations = localIntegrations({ dynamodb: testDynamoDbClient(), bus: new RecordingBus(), functions: {} });
    const resourcesUsed = Object.values(definition.States).flatMap((state) => state.Resource ?? []);
    expect(resourcesUsed.length).toBeGreaterThan(0);
    for (const resource of resourcesUsed) expect(Object.keys(integrations)).toContain(resource);
  });

  it('ends every path in a response state', () => {
    const ends = Object.entries(definition.States).filter(([, state]) => 'End' in state);
    expect(ends.map(([name]) => name).sort()).toEqual([
      'RespondAccepted',
      'RespondDuplicate',
      'RespondInternalError',
      'RespondRejected',
      'RespondUnavailable',
    ]);
    expect(Object.values(definition.States).some((state) => state.Type === 'Fail')).toBe(false);
  });
});
