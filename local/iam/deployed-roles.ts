/**
 * The IAM policies of the roles the local runtime's callers have in AWS, read from the synthesized CloudFormation
 * template and never restated: the identity policies attached to each role, with the template's references to the
 * stack's own resources resolved to the local runtime's ARNs.
 */
import type { StackLogicalIds } from '../../cdk/lib/synthesis-cache.js';
import type { CloudFormationTemplate } from '../../cdk/lib/synthesize.js';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION, localArn } from '../local-account.js';

/** Who makes AWS calls locally, by the role each has in AWS. */
export const CALLER_ROLES = {
  /** The state machine's role: every Task of the workflow. */
  workflow: 'Step Functions',
  /** API Gateway's integration role: StartSyncExecution, and GetItem for GET /orders/{orderId}. */
  api: 'API Gateway',
  /** The outbox relay function's execution role: its PutEvents. */
  relay: 'Lambda',
  /** The archive consumer function's execution role: its PutObject. */
  archive: 'Lambda',
} as const;
export type CallerRole = keyof typeof CALLER_ROLES;

export interface PolicyDocument {
  Version?: string;
  Statement: unknown[];
}

export interface DeployedRole {
  caller: CallerRole;
  /** The role's logical id in the template; locally it is also the role's name. */
  logicalId: string;
  policies: PolicyDocument[];
}

/** What a Ref and a Fn::GetAtt Arn of one of the stack's resources stand for locally. */
export interface LocalStandIn {
  ref: string;
  arn: string;
}

/** The template, and where in it the callers' roles and the resources with a local stand-in are. */
export interface DeployedIamSource {
  template: CloudFormationTemplate;
  roles: Record<CallerRole, string>;
  standIns: Record<string, LocalStandIn>;
}

/** The names of the local stand-ins for the stack's resources. */
export interface LocalResourceNames {
  tableName: string;
  busName: string;
  validateFunctionArn: string;
  stateMachineArn: string;
  archiveBucketName: string;
}

export const tableArn = (tableName: string): string => localArn('dynamodb', `table/${tableName}`);
export const eventBusArn = (busNameOrArn: string): string =>
  busNameOrArn.startsWith('arn:') ? busNameOrArn : localArn('events', `event-bus/${busNameOrArn}`);
export const s3ObjectArn = (bucket: string, key: string): string => `arn:aws:s3:::${bucket}/${key}`;

/** Where the callers' roles and the stand-ins are in a template, by the logical ids synthesis found them at. */
export function deployedIamSource(
  logicalIds: StackLogicalIds,
  template: CloudFormationTemplate,
  names: LocalResourceNames,
): DeployedIamSource {
  return {
    template,
    roles: {
      workflow: logicalIds.workflowRole,
      api: logicalIds.apiIntegrationRole,
      relay: logicalIds.relayRole,
      archive: logicalIds.archiveRole,
    },
    standIns: {
      [logicalIds.table]: { ref: names.tableName, arn: tableArn(names.tableName) },
      [logicalIds.bus]: { ref: names.busName, arn: eventBusArn(names.busName) },
      [logicalIds.validateFunction]: {
        ref: names.validateFunctionArn.split(':').at(-1) ?? '',
        arn: names.validateFunctionArn,
      },
      [logicalIds.stateMachine]: { ref: names.stateMachineArn, arn: names.stateMachineArn },
      [logicalIds.archiveBucket]: {
        ref: names.archiveBucketName,
        arn: `arn:aws:s3:::${names.archiveBucketName}`,
      },
    },
  };
}

const PSEUDO_PARAMETERS: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::Region': LOCAL_REGION,
  'AWS::AccountId': LOCAL_ACCOUNT_ID,
  'AWS::URLSuffix': 'amazonaws.com',
};

/**
 * Resolves the intrinsics CDK writes into policies (Ref, Fn::GetAtt, Fn::Join). A resource without a local stand-in
 * (a log group, a queue) becomes an ARN that no local request names; any other intrinsic is an error, never a guess.
 */
export function resolveIntrinsics(value: unknown, standIns: Record<string, LocalStandIn>): unknown {
  if (Array.isArray(value)) return value.map((item) => resolveIntrinsics(item, standIns));
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value);
  const [name, argument] = entries[0] ?? [];
  const noStandIn = (id: string) =>
    `arn:aws:cloudformation:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:no-local-stand-in/${id}`;
  if (entries.length === 1 && name === 'Ref') {
    const id = String(argument);
    return PSEUDO_PARAMETERS[id] ?? standIns[id]?.ref ?? noStandIn(id);
  }
  if (entries.length === 1 && name === 'Fn::GetAtt') {
    const [id, attribute] = argument as [string, string];
    return attribute === 'Arn' ? (standIns[id]?.arn ?? noStandIn(id)) : noStandIn(`${id}.${attribute}`);
  }
  if (entries.length === 1 && name === 'Fn::Join') {
    const [separator, parts] = argument as [string, unknown[]];
    return parts.map((part) => String(resolveIntrinsics(part, standIns))).join(separator);
  }
  if (entries.length === 1 && name?.startsWith('Fn::')) throw new Error(`cannot resolve ${name} in a policy locally`);
  return Object.fromEntries(entries.map(([key, item]) => [key, resolveIntrinsics(item, standIns)]));
}

/**
 * Every identity policy of a role: the AWS::IAM::Policy resources attached to it and its inline policies. A managed
 * policy cannot be read offline, so a caller's role with one is refused rather than half-enforced.
 */
export function deployedRole(source: DeployedIamSource, caller: CallerRole): DeployedRole {
  const logicalId = source.roles[caller];
  const resources = source.template.Resources;
  const role = resources[logicalId];
  if (role?.Type !== 'AWS::IAM::Role') throw new Error(`${caller}: ${logicalId} is not a role of the template`);
  if (role.Properties?.ManagedPolicyArns !== undefined) {
    throw new Error(`${caller}: role ${logicalId} has managed policies, which cannot be evaluated offline`);
  }
  const attached = Object.values(resources)
    .filter(({ Type, Properties }) => {
      if (Type !== 'AWS::IAM::Policy') return false;
      return ((Properties?.Roles ?? []) as unknown[]).some(
        (ref) => JSON.stringify(ref) === JSON.stringify({ Ref: logicalId }),
      );
    })
    .map(({ Properties }) => Properties?.PolicyDocument);
  const inline = ((role.Properties?.Policies ?? []) as { PolicyDocument: unknown }[]).map(
    ({ PolicyDocument }) => PolicyDocument,
  );
  const policies = [...attached, ...inline].map(
    (document) => resolveIntrinsics(document, source.standIns) as PolicyDocument,
  );
  return { caller, logicalId, policies };
}
