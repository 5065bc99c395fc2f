/**
 * `npm run smoke` against the local service: the checks it runs on a deployed stack pass here too, signed requests
 * are sent when credentials exist, and without credentials it says what is missing instead of failing checks.
 */
import { describe, expect, it, jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import { serviceForFile } from './support/local-service.js';

jest.setTimeout(60_000);

const local = serviceForFile();

/**
 * The smoke tool as a user runs it, with only the environment given (no AWS settings of this machine). Asynchronous:
 * the service answering it runs in this process.
 */
function tool(script: string, args: string[], env: Record<string, string> = {}) {
  return new Promise<{ status: number; lines: string[]; stderr: string }>((done) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', script, ...args],
      {
        encoding: 'utf8',
        timeout: 60_000,
        env: { PATH: process.env.PATH ?? '', HOME: local.dataDir, AWS_EC2_METADATA_DISABLED: 'true', ...env },
      },
      (error, stdout, stderr) =>
        done({ status: error ? Number(error.code ?? -1) : 0, lines: stdout.trim().split('\n'), stderr }),
    );
  });
}
const smoke = (args: string[], env: Record<string, string> = {}) => tool('tools/smoke.ts', args, env);
/** loadtest against this file's service, with the options given. */
const loadtest = (options: string[]) => tool('tools/loadtest.ts', ['--url', local.service.url, ...options]);

describe('npm run smoke', () => {
  it('passes every checkable row of the contract, one line per check', async () => {
    const run = await smoke(['--url', local.service.url]);

    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.lines.filter((line) => line.startsWith('PASS'))).toHaveLength(15);
    expect(run.lines.filter((line) => line.startsWith('SKIP'))).toHaveLength(3);
    expect(run.lines.at(-1)).toBe('smoke: 15 passed, 0 failed, 3 not checkable here');
  });

  it('sends the Idempotency-Key given, so that a second run with it hears the first run’s order replayed', async () => {
    const clientKey = `smoke-e2e-${Date.now()}`;
    const keyedLine = (lines: string[]) =>
      lines.find((line) => line.startsWith('PASS  POST /orders with an Idempotency-Key')) ?? '';
    const first = await smoke(['--url', local.service.url, '--idempotency-key', clientKey]);
    const second = await smoke(['--url', local.service.url, '--idempotency-key', clientKey]);

    expect([first.status, second.status]).toEqual([0, 0]);
    const orderId = /\(new (\w{26}), key /.exec(keyedLine(first.lines))?.[1];
    expect(orderId).toBeDefined();
    expect(keyedLine(second.lines)).toContain(`(replayed ${orderId}, key ${clientKey})`);
  });

  it('refuses a key the API would refuse, before sending anything (exit 2)', async () => {
    const run = await smoke(['--url', local.service.url, '--idempotency-key', 'two words']);

    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^smoke: --idempotency-key: Idempotency-Key without quotes may not hold a space/);
    expect(run.lines).toEqual(['']);
  });

  it('signs with SigV4 from the default credential chain when asked for IAM auth', async () => {
    const run = await smoke(['--url', local.service.url, '--auth', 'iam', '--region', 'local'], {
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
    });

    expect(run.status).toBe(0);
    expect(run.lines[0]).toBe(`smoke: ${local.service.url} (auth iam)`);
  });

  it('says plainly that credentials are missing, and exits 2 without running a check', async () => {
    const run = await smoke(['--url', local.service.url, '--auth', 'iam', '--region', 'local']);

    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^smoke: No AWS credentials found by the default chain/);
    expect(run.lines).toEqual(['']);
  });
});

describe('npm run loadtest', () => {
  it('drives the service at a constant rate, reports each second and the corrected percentiles, and reads every 202 back', async () => {
    const run = await loadtest(['--rate', '20', '--duration', '2']);

    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.lines[0]).toBe(`loadtest: ${local.service.url} (auth none), 20 orders/s for 2 s, open model`);
    expect(
      run.lines.filter((line) => /^\s+\d+ s {2}sent \d+ {2}answered \d+/.test(line)).length,
    ).toBeGreaterThanOrEqual(1);
    expect(run.lines.join('\n')).toMatch(/offered.*achieved.*p50.*p95.*p99.*max/s);
    const summary = JSON.parse(run.lines.slice(run.lines.indexOf('{')).join('\n')) as Record<string, unknown>;
    expect(summary).toEqual({ accepted: 40, readBack: 40, missing: [], problems: [] });
  });

  it('sends a fresh Idempotency-Key per request when asked: keyed orders, none of them a replay', async () => {
    const run = await loadtest(['--rate', '20', '--duration', '1', '--idempotency-key-per-request']);

    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.lines[0]).toMatch(/open model, an Idempotency-Key per request$/);
    const summary = JSON.parse(run.lines.slice(run.lines.indexOf('{')).join('\n')) as Record<string, unknown>;
    expect(summary).toEqual({ accepted: 20, replayed: 0, readBack: 20, missing: [], problems: [] });
  });

  it('sends one Idempotency-Key and one body when given a key: one order, the other 202s its replays', async () => {
    const run = await loadtest(['--rate', '20', '--duration', '1', '--idempotency-key', `loadtest-e2e-${Date.now()}`]);

    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const summary = JSON.parse(run.lines.slice(run.lines.indexOf('{')).join('\n')) as {
      accepted: number;
      replayed: number;
      readBack: number;
    };
    // A copy that arrives while the first is still running may hear 409 request-in-progress instead: not a 202.
    expect(summary).toMatchObject({ readBack: 1, missing: [], problems: [] });
    expect(summary.replayed).toBe(summary.accepted - 1);
  });

  it('refuses both key options at once (exit 2)', async () => {
    const run = await loadtest([
      '--rate',
      '1',
      '--duration',
      '1',
      '--idempotency-key',
      'k',
      '--idempotency-key-per-request',
    ]);

    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^--idempotency-key and --idempotency-key-per-request exclude each other/);
  });

  it('says plainly that credentials are missing for an IAM-authorized API, and exits 2 without sending anything', async () => {
    const run = await loadtest(['--auth', 'iam', '--region', 'local', '--rate', '5', '--duration', '1']);

    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^loadtest: No AWS credentials found by the default chain/);
  });
});
