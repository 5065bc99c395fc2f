/**
 * The order-intake workflow definition and the values it is instantiated with. The CDK stack passes these as
 * definitionSubstitutions; the local runtime substitutes them the same way, so both run this one file.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PROBLEM_TYPE_BASE } from '../src/contract/problem.js';
import { ORDER_ACCEPTED_DETAIL_TYPE, ORDER_EVENT_SOURCE } from '../src/events/order-accepted.js';

export const ORDER_INTAKE_ASL_PATH = fileURLToPath(new URL('./order-intake.asl.json', import.meta.url));

/** Resource references: they differ per deployment. */
export interface WorkflowResources {
  ValidateFunctionArn: string;
  OrdersTableName: string;
  EventBusName: string;
}

/** Contract values: the same everywhere, defined in src/ and only substituted here. */
export const WORKFLOW_CONSTANTS = {
  OrderEventSource: ORDER_EVENT_SOURCE,
  OrderAcceptedDetailType: ORDER_ACCEPTED_DETAIL_TYPE,
  ProblemTypeBase: PROBLEM_TYPE_BASE,
} as const;

export type WorkflowSubstitutions = WorkflowResources & typeof WORKFLOW_CONSTANTS;

export const workflowSubstitutions = (resources: WorkflowResources): WorkflowSubstitutions => ({
  ...resources,
  ...WORKFLOW_CONSTANTS,
});

/** Step Functions' definitionSubstitutions semantics: every ${Name} is replaced; an unknown name is an error. */
export function substituteDefinition(template: string, substitutions: Record<string, string>): string {
  return template.replace(/\$\{([A-Za-z0-9_]+)\}/g, (_match, name: string) => {
    const value = substitutions[name];
    if (value === undefined) throw new Error(`no substitution for \${${name}} in the workflow definition`);
    // Values land inside JSON strings.
    return JSON.stringify(value).slice(1, -1);
  });
}

export function loadOrderIntakeDefinition(resources: WorkflowResources): unknown {
  const template = readFileSync(ORDER_INTAKE_ASL_PATH, 'utf8');
  return JSON.parse(substituteDefinition(template, { ...workflowSubstitutions(resources) }));
}
