/**
 * The deployed IAM policies for tests: the stack as synthesized (once per content of the code, then kept: see
 * cdk/lib/synthesis-cache.ts), resolved to the names the test uses (its own table, bus or function), so every local
 * call a test makes is authorized as in AWS.
 */
import { synthesizedStack, type SynthesizedStack } from '../../cdk/lib/synthesis-cache.js';
import { authorizersFor, type CallerAuthorizers } from '../../local/iam/index.js';
import { deployedIamSource, type LocalResourceNames } from '../../local/iam/deployed-roles.js';
import { LOCAL_RESOURCES } from '../../local/local-account.js';

/**
 * A first synthesis takes 3-4 s on a quiet machine, several times that on a loaded one: a CI run saw the first test
 * of a file that carried it pass the 30 s test timeout. Read as the module loads, no test carries it.
 */
const deployed: SynthesizedStack = await synthesizedStack();

/** The stack as deployed, for tests that change a copy of its template. */
export const deployedStack = (): SynthesizedStack => deployed;

export function deployedAuthorizers(names: Partial<LocalResourceNames> = {}): CallerAuthorizers {
  const { logicalIds, template } = deployedStack();
  return authorizersFor(deployedIamSource(logicalIds, template, { ...LOCAL_RESOURCES, ...names }));
}
