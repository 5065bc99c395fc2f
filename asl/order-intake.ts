/**
 * The order-intake workflow definition and the values it is instantiated with. The CDK stack passes these as
 * definitionSubstitutions; the local runtime substitutes them the same way, so both run this one file.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PROBLEM_TYPE_BASE } from '../src/contract/problem.js';
import { ORDER_STATUS_ACCEPTED } from '../src/contract/order.js';
import { substitutePlaceholders } from '../src/placeholders.js';
import { ORDER_ACCEPTED_DETAIL_TYPE, ORDER_EVENT_SOURCE } from '../src/events/order-accepted.js';

export const ORDER_INTAKE_ASL_PATH = fileURLToPath(new URL('./order-intake.asl.json', import.meta.url));

/** Resource references: they differ per deployment. */
export type WorkflowResources = {
  ValidateFunctionArn: string;
  OrdersTableName: string;
  EventBusName: string;
};

/** Contract values: the same everywhere, defined in src/ and only substituted here. */
export const WORKFLOW_CONSTANTS = {
  OrderEventSource: ORDER_EVENT_SOURCE,
  OrderAcceptedDetailType: ORDER_ACCEPTED_DETAIL_TYPE,
  ProblemTypeBase: PROBLEM_TYPE_BASE,
  OrderStatusAccepted: ORDER_STATUS_ACCEPTED,
} as const;

/** Deployment choices the workflow reads. */
export type WorkflowSettings = {
  /** ON: Publish right after the transaction (and the relay too); OFF: the stream relay alone publishes. */
  PublishFastPath: 'ON' | 'OFF';
};

export const DEFAULT_WORKFLOW_SETTINGS: WorkflowSettings = { PublishFastPath: 'ON' };

export type WorkflowSubstitutions = WorkflowResources & WorkflowSettings & typeof WORKFLOW_CONSTANTS;

export const workflowSubstitutions = (
  resources: WorkflowResources,
  settings: WorkflowSettings = DEFAULT_WORKFLOW_SETTINGS,
): WorkflowSubstitutions => ({ ...resources, ...settings, ...WORKFLOW_CONSTANTS });

export function loadOrderIntakeDefinition(
  resources: WorkflowResources,
  settings: WorkflowSettings = DEFAULT_WORKFLOW_SETTINGS,
): unknown {
  const template = readFileSync(ORDER_INTAKE_ASL_PATH, 'utf8');
  return JSON.parse(substitutePlaceholders(template, workflowSubstitutions(resources, settings)));
}
