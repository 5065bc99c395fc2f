/**
 * The deployed IAM policies for tests: the stack is synthesized once per test file, and resolved to the names the
 * test uses (its own table, bus or function), so every local call a test makes is authorized as in AWS.
 */
import { beforeAll } from '@jest/globals';
import { authorizersFor, deployedIam, synthesizedStack, type CallerAuthorizers } from '../../local/iam/index.js';
import type { LocalResourceNames } from '../../local/iam/deployed-roles.js';
import { LOCAL_RESOURCES } from '../../local/local-account.js';

/**
 * Synthesis takes 3-4 s on a quiet machine, several times that on a loaded one: a CI run saw the first test of a file,
 * which carried it, pass the 30 s test timeout. Done in a hook before the file's tests, no test carries it (Jest
 * does not time out a synchronous hook).
 */
beforeAll(() => {
  synthesizedStack();
});

export function deployedAuthorizers(names: Partial<LocalResourceNames> = {}): CallerAuthorizers {
  return authorizersFor(deployedIam({ ...LOCAL_RESOURCES, ...names }));
}
