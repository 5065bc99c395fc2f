/**
 * IAM, locally: each caller (the workflow, API Gateway's integrations, the two Lambda functions) gets an authorizer
 * holding its role's policies from the synthesized stack (kept by content: cdk/lib/synthesis-cache.ts); the local
 * names are resolved into its policies per set of names (tests use tables of their own).
 */
import { synthesizedStack } from '../../cdk/lib/synthesis-cache.js';
import {
  CALLER_ROLES,
  deployedIamSource,
  deployedRole,
  type CallerRole,
  type DeployedIamSource,
  type LocalResourceNames,
} from './deployed-roles.js';
import { RoleAuthorizer } from './role-authorizer.js';

export type CallerAuthorizers = Record<CallerRole, RoleAuthorizer>;

/** The assumed-role session names AWS would show in a denial. */
const SESSIONS: Record<CallerRole, string> = {
  workflow: 'StepFunctionsExecution',
  api: 'BackplaneAssumeRoleSession',
  relay: 'order-intake-relay',
  archive: 'order-intake-archive',
};

/** The deployed policies, with the template's resources resolved to these local names. */
export async function deployedIam(names: LocalResourceNames): Promise<DeployedIamSource> {
  const { logicalIds, template } = await synthesizedStack();
  return deployedIamSource(logicalIds, template, names);
}

export function authorizersFor(source: DeployedIamSource): CallerAuthorizers {
  const callers = Object.keys(CALLER_ROLES) as CallerRole[];
  return Object.fromEntries(
    callers.map((caller) => [caller, new RoleAuthorizer(deployedRole(source, caller), SESSIONS[caller])]),
  ) as CallerAuthorizers;
}

export { AccessDeniedError, RoleAuthorizer, type AuthorizationRequest } from './role-authorizer.js';
export type { CallerRole, DeployedIamSource, LocalResourceNames } from './deployed-roles.js';
