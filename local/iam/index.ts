/**
 * IAM, locally: each caller (the workflow, API Gateway's integrations, the two Lambda functions) gets an authorizer
 * holding its role's policies from the synthesized stack. The stack is synthesized once per process, in process and
 * offline; the local names are resolved into its policies per set of names (tests use tables of their own).
 */
import { synthesizeOrderIntake } from '../../cdk/lib/synthesize.js';
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

let synthesized: ReturnType<typeof synthesizeOrderIntake> | undefined;

/** The stack as the CDK app synthesizes it with cdk.json's defaults; built on first use, then shared. */
export function synthesizedStack(): ReturnType<typeof synthesizeOrderIntake> {
  return (synthesized ??= synthesizeOrderIntake());
}

/** The deployed policies, with the template's resources resolved to these local names. */
export function deployedIam(names: LocalResourceNames): DeployedIamSource {
  const { stack, template } = synthesizedStack();
  return deployedIamSource(stack, template, names);
}

export function authorizersFor(source: DeployedIamSource): CallerAuthorizers {
  const callers = Object.keys(CALLER_ROLES) as CallerRole[];
  return Object.fromEntries(
    callers.map((caller) => [caller, new RoleAuthorizer(deployedRole(source, caller), SESSIONS[caller])]),
  ) as CallerAuthorizers;
}

export { AccessDeniedError, RoleAuthorizer, type AuthorizationRequest } from './role-authorizer.js';
export type { CallerRole, DeployedIamSource, LocalResourceNames } from './deployed-roles.js';
