/**
 * Synthesizes the stack as `cdk synth` does (cdk.json's context: feature flags and defaults), with context overrides,
 * and reads what the tests ask of the template. Lambda bundling is skipped unless asked for: it is the slow part, and
 * only the bundle tests need real code.
 */
import { expect } from '@jest/globals';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IRole } from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import { buildOrderIntake, logicalIdOf, type BuildOptions } from '../../cdk/lib/synthesize.js';

export { buildOrderIntake, CDK_JSON, logicalIdOf } from '../../cdk/lib/synthesize.js';
export type { BuildOptions as SynthOptions } from '../../cdk/lib/synthesize.js';

export function synthOrderIntake(options: BuildOptions = {}) {
  const { app, stack } = buildOrderIntake(options);
  return { app, stack, template: Template.fromStack(stack) };
}

export type Json = Record<string, unknown>;

/** The properties of one resource, found by construct. */
export function propertiesOf(template: Template, construct: IConstruct): Json {
  const resource = (template.toJSON().Resources as Record<string, { Properties?: Json }>)[logicalIdOf(construct)];
  if (!resource) throw new Error(`no resource for ${construct.node.path}`);
  return resource.Properties ?? {};
}

export interface Statement {
  Sid?: string;
  Effect: string;
  Action: string[];
  Resource: unknown;
  Condition?: Json;
}

/**
 * Every statement any policy grants the role (actions sorted), and a check that it has no managed or inline policy
 * on the side: what this returns is all the role can do.
 */
export function statementsOf(template: Template, role: IRole): Statement[] {
  const roleId = logicalIdOf(role);
  const roleProperties = propertiesOf(template, role);
  if (roleProperties.ManagedPolicyArns !== undefined || roleProperties.Policies !== undefined) {
    throw new Error(`${role.node.path} has managed or inline policies`);
  }
  const policies = Object.values(template.findResources('AWS::IAM::Policy')) as { Properties: Json }[];
  return policies
    .filter(({ Properties }) =>
      (Properties.Roles as unknown[]).some((ref) => JSON.stringify(ref) === JSON.stringify({ Ref: roleId })),
    )
    .flatMap(({ Properties }) => (Properties.PolicyDocument as { Statement: Json[] }).Statement)
    .map((statement) => ({ ...statement, Action: [statement.Action].flat().sort() }) as Statement);
}

/**
 * The roles with managed policies, by logical id: statementsOf refuses them, so what it reports is exact only while
 * this names every such role.
 */
export function managedPoliciesByRole(template: Template): Record<string, unknown> {
  const roles = Object.entries(template.findResources('AWS::IAM::Role')) as [string, { Properties: Json }][];
  return Object.fromEntries(
    roles
      .filter(([, { Properties }]) => Properties.ManagedPolicyArns !== undefined)
      .map(([id, { Properties }]) => [id, Properties.ManagedPolicyArns]),
  );
}

/** A statement as statementsOf reports it. */
export const allow = (
  actions: string[],
  resource: unknown,
  extra: Partial<Pick<Statement, 'Sid' | 'Condition'>> = {},
): Statement => ({ ...extra, Effect: 'Allow', Action: [...actions].sort(), Resource: resource });

/** What an SQS event source mapping grants the function on its queue. */
export const SQS_CONSUMER_ACTIONS = [
  'sqs:ChangeMessageVisibility',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
  'sqs:GetQueueUrl',
  'sqs:ReceiveMessage',
];

/** The project's rule for every queue: encrypted at rest, and its policy refuses requests without TLS. */
export function expectSecureQueue(template: Template, queue: IQueue): void {
  expect(propertiesOf(template, queue)).toMatchObject({ SqsManagedSseEnabled: true });
  template.hasResourceProperties('AWS::SQS::QueuePolicy', {
    Queues: [Stack.of(queue).resolve(queue.queueUrl)],
    PolicyDocument: {
      Statement: Match.arrayWith([
        Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      ]),
    },
  });
}
