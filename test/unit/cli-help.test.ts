/** Every command-line tool of the project answers --help with its usage and exit 0, and a wrong option with exit 2. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';

const PROJECT = fileURLToPath(new URL('../..', import.meta.url));
const TOOLS = [
  'tools/events.ts',
  'tools/smoke.ts',
  'tools/loadtest.ts',
  'tools/cpu-profile.ts',
  'tools/preflight.ts',
  'bench/run.ts',
];

const run = (tool: string, flag: string) => {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return spawnSync(process.execPath, ['--import', 'tsx', tool, flag], { cwd: PROJECT, env, encoding: 'utf8' });
};

describe.each(TOOLS)('%s', (tool) => {
  it('answers --help with its usage on stdout and exit 0', () => {
    const answer = run(tool, '--help');
    expect([answer.status, answer.stdout.startsWith('usage: npm run ')]).toEqual([0, true]);
  });

  it('answers an unknown option with what is wrong and its usage, exit 2, and no stack trace', () => {
    const answer = run(tool, '--no-such-option');
    expect(answer.status).toBe(2);
    expect(answer.stderr).toContain("Unknown option '--no-such-option'");
    expect(answer.stderr).toContain('usage: npm run ');
    expect(answer.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('the Idempotency-Key options', () => {
  it.each([
    ['tools/smoke.ts', ['--idempotency-key <key>']],
    ['tools/loadtest.ts', ['--idempotency-key <key>', '--idempotency-key-per-request']],
  ])('%s documents them in its --help', (tool, options) => {
    const answer = run(tool, '--help');
    for (const option of options) expect(answer.stdout).toContain(option);
  });
});
