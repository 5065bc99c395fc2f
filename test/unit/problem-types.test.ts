import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { PROBLEM_SLUGS } from '../../src/contract/problem.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const filesUnder = (folder: string, extensions: string[]): string[] =>
  readdirSync(join(root, folder), { recursive: true, encoding: 'utf8' })
    .filter((name) => extensions.some((extension) => name.endsWith(extension)))
    .map((name) => join(folder, name));

/** Slugs named where answers are built: `${ProblemTypeBase}slug` in ASL and templates, problemType('slug') in code. */
function slugsUsedIn(files: string[]): Map<string, string[]> {
  const used = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8');
    for (const [, slug] of text.matchAll(/(?:\$\{ProblemTypeBase\}|problemType\(')([a-z-]+)/g)) {
      if (slug) used.set(slug, [...(used.get(slug) ?? []), file]);
    }
  }
  return used;
}

describe('problem types', () => {
  const used = slugsUsedIn([
    ...filesUnder('asl', ['.json']),
    ...filesUnder('api', ['.vtl']),
    ...filesUnder('src', ['.ts']),
    ...filesUnder('local', ['.ts']),
    ...filesUnder('lambdas', ['.ts']),
  ]);

  it('are all in the catalogue of src/contract/problem.ts', () => {
    const unknown = [...used].filter(([slug]) => !(PROBLEM_SLUGS as readonly string[]).includes(slug));
    expect(unknown).toEqual([]);
    expect(used.get('duplicate-order')).toEqual(['asl/order-intake.asl.json']);
    expect(used.size).toBeGreaterThanOrEqual(10);
  });

  it('are each answered somewhere, so the catalogue holds no dead entry', () => {
    expect(PROBLEM_SLUGS.filter((slug) => !used.has(slug))).toEqual([]);
  });
});
