/**
 * The deployed IAM policies for tests: the stack is synthesized once per test file, and resolved to the names the
 * test uses (its own table, bus or function), so every local call a test makes is authorized as in AWS.
 */
import { authorizersFor, deployedIam, type CallerAuthorizers } from '../../local/iam/index.js';
import type { LocalResourceNames } from '../../local/iam/deployed-roles.js';
import { LOCAL_RESOURCES } from '../../local/service.js';

export function deployedAuthorizers(names: Partial<LocalResourceNames> = {}): CallerAuthorizers {
  return authorizersFor(deployedIam({ ...LOCAL_RESOURCES, ...names }));
}
