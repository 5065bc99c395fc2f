/**
 * The docs read right in any clone: every relative link of the README and docs/ names a file of the repository (no
 * link leaves it), and every code fence is closed by a fence of its own length, so no section turns into code.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';

const PROJECT = fileURLToPath(new URL('../..', import.meta.url));
const PAGES = ['README.md', ...readdirSync(join(PROJECT, 'docs')).map((name) => `docs/${name}`)].filter((page) =>
  page.endsWith('.md'),
);

/** The text outside code fences, and the fences that were left open. */
function outsideFences(markdown: string): { prose: string; unclosed: string[] } {
  let open: string | undefined;
  const prose: string[] = [];
  for (const line of markdown.split('\n')) {
    const fence = /^(`{3,}|~{3,})/.exec(line)?.[1];
    if (open === undefined && fence) open = fence;
    else if (open !== undefined && fence === open && line.trim() === open) open = undefined;
    else if (open === undefined) prose.push(line);
  }
  return { prose: prose.join('\n'), unclosed: open === undefined ? [] : [open] };
}

describe.each(PAGES)('%s', (page) => {
  const markdown = readFileSync(join(PROJECT, page), 'utf8');

  it('closes every code fence with one of its own length, and uses no four-backtick fence', () => {
    expect(outsideFences(markdown).unclosed).toEqual([]);
    expect(markdown).not.toMatch(/^````/m);
  });

  it('links only to files inside the repository', () => {
    const targets = [...outsideFences(markdown).prose.matchAll(/\]\(([^)\s]+)\)/g)]
      .map((match) => match[1] ?? '')
      .filter((target) => !/^(https?:|mailto:|#)/.test(target))
      .map((target) => resolve(dirname(join(PROJECT, page)), target.split('#')[0] ?? ''));
    const outside = targets.filter((target) => relative(PROJECT, target).startsWith('..'));
    expect(outside).toEqual([]);
    expect(targets.filter((target) => !existsSync(target))).toEqual([]);
  });
});
