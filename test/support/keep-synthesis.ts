import { tsImport } from 'tsx/esm/api';
import type * as SynthesisCache from '../../cdk/lib/synthesis-cache.js';

/**
 * Synthesizes the stack once, before any test of the run, and keeps it (cdk/lib/synthesis-cache.ts): the test files,
 * services and tools that read the deployed template then find it kept instead of each synthesizing it at once.
 */
export default async function keepSynthesis(): Promise<void> {
  // Jest loads global setup outside its module system; tsx resolves the project's imports as `npm start` does.
  const cache = (await tsImport('../../cdk/lib/synthesis-cache.ts', import.meta.url)) as typeof SynthesisCache;
  await cache.synthesizedStack();
}
