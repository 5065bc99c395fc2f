/**
 * `npm run synth` as a user runs it (tools/synth.ts: the CLI, cdk.json, the app in cdk/bin, cdk-nag as a validation
 * plugin), in an environment with no AWS credentials, configuration or region: it must still produce the template,
 * and end with one line that says where it is, how big it is and what cdk-nag said.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { PROJECT_ROOT } from '../../cdk/lib/node-function.js';
import { CDK_JSON } from './synth-order-intake.js';

let home: string;
let run: SpawnSyncReturns<string>;
beforeAll(() => {
  home = mkdtempSync(`${tmpdir()}/order-intake-synth-`);
  run = spawnSync(`${PROJECT_ROOT}node_modules/.bin/tsx`, ['tools/synth.ts', '--output', `${home}/cdk.out`], {
    cwd: PROJECT_ROOT,
    // Nothing to find credentials, a profile or a region with: only PATH, and an empty home.
    env: { PATH: process.env.PATH, HOME: home },
    encoding: 'utf8',
    timeout: 120_000,
  });
});
afterAll(() => {
  rmSync(home, { recursive: true, force: true });
});

describe('npm run synth', () => {
  it('succeeds offline, without credentials, with every cdk-nag finding acknowledged', () => {
    expect(`${run.stderr}`).not.toMatch(/AwsSolutions-|Synthesis finished with errors/);
    expect(run.status).toBe(0);
  });

  it('writes an environment-agnostic OrderIntake template', () => {
    const manifest = JSON.parse(readFileSync(`${home}/cdk.out/manifest.json`, 'utf8')) as {
      artifacts: Record<string, { type: string; environment?: string }>;
    };
    expect(manifest.artifacts.OrderIntake).toMatchObject({
      type: 'aws:cloudformation:stack',
      environment: 'aws://unknown-account/unknown-region',
    });
    const template = JSON.parse(readFileSync(`${home}/cdk.out/OrderIntake.template.json`, 'utf8')) as {
      Resources: Record<string, { Type: string }>;
    };
    const types = new Set(Object.values(template.Resources).map(({ Type }) => Type));
    for (const type of ['AWS::ApiGateway::RestApi', 'AWS::StepFunctions::StateMachine', 'AWS::DynamoDB::Table']) {
      expect(types).toContain(type);
    }
    expect(types).not.toContain('AWS::CDK::Metadata');
  });

  it('ends with one line: the template, its resource count and cdk-nag’s result', () => {
    const template = JSON.parse(readFileSync(`${home}/cdk.out/OrderIntake.template.json`, 'utf8')) as {
      Resources: Record<string, unknown>;
    };
    const last = run.stdout.trim().split('\n').at(-1) ?? '';
    expect(last).toMatch(
      new RegExp(
        `OrderIntake\\.template\\.json: ${Object.keys(template.Resources).length} resources; ` +
          'cdk-nag AwsSolutions passed: 0 findings open, [1-9]\\d* acknowledged with a reason$',
      ),
    );
  });
});

describe('cdk.json', () => {
  it('runs the app in cdk/bin and keeps the CLI off the network: no notices, no lookups, no telemetry', () => {
    expect(CDK_JSON).toMatchObject({
      app: 'npx tsx cdk/bin/order-intake.ts',
      notices: false,
      versionReporting: false,
      lookups: false,
      context: { 'cli-telemetry': false },
    });
  });
});
