/**
 * The deployed IAM policies for tests: the stack is synthesized once per test file, and resolved to the names the
 * test uses (its own table, bus or function), so every local call a test makes is authorized as in AWS.
 */
import { beforeAll } from '@jest/globals';
import { authorizersFor, deployedIam, synthesizedStack, type CallerAuthorizers } from '../../local/iam/index.js';
import type { LocalResourceNames } from '../../local/iam/deployed-roles.js';
import { LOCAL_RESOURCES } from '../../local/service.js';

/**
 * Synthesis takes 3-4 s on a quiet machine and was seen past 30 s in a loaded CI run. Done here, before a file's
 * tests, it is held to its own deadline instead of eating into the first test's, which then measures only itself.
 */
const SYNTH_TIMEOUT_MS = 180_000;
beforeAll(() => {
  synthesizedStack();
}, SYNTH_TIMEOUT_MS);

export function deployedAuthorizers(names: Partial<LocalResourceNames> = {}): CallerAuthorizers {
  return authorizersFor(deployedIam({ ...LOCAL_RESOURCES, ...names }));
}
