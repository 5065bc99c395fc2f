/**
 * The stack as `cdk synth` builds it (cdk.json's context: feature flags and defaults), in process and offline, for
 * whoever needs the template without the CLI: the infrastructure tests, and the local runtime, which enforces the
 * template's IAM policies. Lambda bundling is skipped unless asked for: it is the slow part, and only the bundle
 * tests need real code.
 */
import { App, CfnResource, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { readFileSync } from 'node:fs';
import { PROJECT_ROOT } from './node-function.js';
import { readDeploymentConfig } from './deployment-config.js';
import { OrderIntakeStack } from './order-intake-stack.js';
import type { StackLogicalIds } from './synthesis-cache.js';

export const CDK_JSON = JSON.parse(readFileSync(`${PROJECT_ROOT}cdk.json`, 'utf8')) as {
  app: string;
  context: Record<string, unknown>;
  [setting: string]: unknown;
};

export interface BuildOptions {
  readonly context?: Record<string, unknown>;
  /** @default false */
  readonly bundle?: boolean;
}

/** The app and stack, constructed but not synthesized. */
export function buildOrderIntake({ context = {}, bundle = false }: BuildOptions = {}) {
  const app = new App({
    context: { ...CDK_JSON.context, ...(bundle ? {} : { 'aws:cdk:bundling-stacks': [] }), ...context },
  });
  return { app, stack: new OrderIntakeStack(app, readDeploymentConfig(app.node).stackName) };
}

/** A CloudFormation template, as far as this project reads one. */
export interface CloudFormationTemplate {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
  [section: string]: unknown;
}

/** The stack and its synthesized CloudFormation template. */
export function synthesizeOrderIntake(options: BuildOptions = {}) {
  const { app, stack } = buildOrderIntake(options);
  const template = app.synth().getStackByName(stack.stackName).template as CloudFormationTemplate;
  return { app, stack, template };
}

/** The resources the local runtime stands in for or authorizes as (see synthesis-cache.ts), by logical id. */
export function stackLogicalIds(stack: OrderIntakeStack): StackLogicalIds {
  const roleOf = (fn: { role?: IConstruct }): string => {
    if (!fn.role) throw new Error('a function without a role');
    return logicalIdOf(fn.role);
  };
  return {
    workflowRole: logicalIdOf(stack.workflow.role),
    apiIntegrationRole: logicalIdOf(stack.api.integrationRole),
    relayRole: roleOf(stack.relay.relay.function),
    archiveRole: roleOf(stack.archive.consumer.function),
    table: logicalIdOf(stack.table.table),
    bus: logicalIdOf(stack.events.bus),
    validateFunction: logicalIdOf(stack.workflow.validate.function),
    stateMachine: logicalIdOf(stack.workflow.stateMachine),
    archiveBucket: logicalIdOf(stack.archive.bucket),
  };
}

/** The logical id of a construct's CloudFormation resource (an L2's default child, or the L1 itself). */
export function logicalIdOf(construct: IConstruct): string {
  const resource = CfnResource.isCfnResource(construct) ? construct : construct.node.defaultChild;
  if (!CfnResource.isCfnResource(resource)) throw new Error(`${construct.node.path} has no CloudFormation resource`);
  return Stack.of(construct).getLogicalId(resource);
}
