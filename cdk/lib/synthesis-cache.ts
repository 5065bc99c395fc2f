/**
 * The stack's template, and the logical ids the local runtime looks up in it, kept by the content of everything the
 * synthesis reads: `npm start`, the tests and the tools read the kept copy instead of loading the CDK and
 * synthesizing again (3-4 s on a quiet machine, several times that on a loaded one). A change to a construct, the
 * workflow, a template, a handler, the lock file or the context is a new key, so it takes effect at the next start.
 * Kept under node_modules/.cache, which `npm ci` empties.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CloudFormationTemplate } from './synthesize.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** What the synthesis reads: cdk.json's context and feature flags, the dependencies' versions, and the code. */
const INPUTS = ['cdk.json', 'package-lock.json', 'cdk', 'src', 'asl', 'api', 'lambdas'];
const CACHE_DIR = join(ROOT, 'node_modules', '.cache', 'order-intake');
/** Bumped when what is kept changes shape. */
const FORMAT = 1;

/** The resources of the stack that the local runtime stands in for or authorizes as, by their logical ids. */
export interface StackLogicalIds {
  workflowRole: string;
  apiIntegrationRole: string;
  relayRole: string;
  archiveRole: string;
  table: string;
  bus: string;
  validateFunction: string;
  stateMachine: string;
  archiveBucket: string;
}

export interface SynthesizedStack {
  template: CloudFormationTemplate;
  logicalIds: StackLogicalIds;
}

function filesUnder(root: string, path: string): string[] {
  const entries = readdirSync(join(root, path), { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

/** A digest of every input's path and content under `root` (the project), and of the context. */
export function synthesisKey(context: Record<string, unknown> = {}, root = ROOT): string {
  const hash = createHash('sha256').update(JSON.stringify({ FORMAT, context }));
  for (const input of INPUTS) {
    const files = input.includes('.') ? [join(root, input)] : filesUnder(root, input);
    for (const file of files) hash.update(`\0${file.slice(root.length)}\0`).update(readFileSync(file));
  }
  return hash.digest('hex').slice(0, 32);
}

const inProcess = new Map<string, Promise<SynthesizedStack>>();

async function synthesize(context: Record<string, unknown>, file: string): Promise<SynthesizedStack> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as SynthesizedStack;
  } catch {
    // Not kept yet (or cut short by a crash): synthesize.
  }
  const { stackLogicalIds, synthesizeOrderIntake } = await import('./synthesize.js');
  const { stack, template } = synthesizeOrderIntake({ context });
  const synthesized = { template, logicalIds: stackLogicalIds(stack) };
  mkdirSync(CACHE_DIR, { recursive: true });
  // Written aside and renamed: test workers and services that start together never read half a file.
  const partial = `${file}.${process.pid}.partial`;
  writeFileSync(partial, JSON.stringify(synthesized));
  renameSync(partial, file);
  return synthesized;
}

/** The stack as `cdk synth` builds it with cdk.json's context and `context` on top: kept, or synthesized now. */
export function synthesizedStack(context: Record<string, unknown> = {}): Promise<SynthesizedStack> {
  const key = synthesisKey(context);
  let synthesized = inProcess.get(key);
  if (!synthesized) {
    synthesized = synthesize(context, join(CACHE_DIR, `stack-${key}.json`));
    inProcess.set(key, synthesized);
  }
  return synthesized;
}
