/**
 * `npm run synth` as a user runs it (tools/synth.ts: the CLI, cdk.json, the app in cdk/bin, cdk-nag as a validation
 * plugin), in an environment with no AWS credentials, configuration or region: it must still produce the template,
 * and end with one line that says where it is, how big it is and what cdk-nag said.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
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

/** Where AWS's CloudFormation linter is, or undefined: it is a Python tool, not a prerequisite of the README. */
function cfnLint(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v cfn-lint'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}
const CFN_LINT = cfnLint();
if (!CFN_LINT) {
  // CI must run it (.ci/run installs it); elsewhere one line says what was skipped and how to get it.
  if (process.env.CI) throw new Error('cfn-lint is not installed: .ci/run should have installed it');
  process.stderr.write('notice: cfn-lint not found, the template was not linted (pip install cfn-lint)\n');
}

/** The rules .cfnlintrc.yaml ignores, each with its reason there. */
const IGNORED_RULES = [
  ...readFileSync(`${PROJECT_ROOT}.cfnlintrc.yaml`, 'utf8').matchAll(/^\s+- ([EWI]\d+)\s*$/gm),
].map(([, rule]) => rule);

(CFN_LINT ? describe : describe.skip)('cfn-lint on the synthesized template', () => {
  interface Finding {
    Rule: { Id: string };
    Level: string;
    Message: string;
  }
  /** Every finding, the ignored rules included: run outside the project, where .cfnlintrc.yaml is not read. */
  const findings = (): Finding[] => {
    const run = spawnSync(CFN_LINT ?? 'cfn-lint', ['--format', 'json', `${home}/cdk.out/OrderIntake.template.json`], {
      cwd: home,
      encoding: 'utf8',
      timeout: 120_000,
    });
    return JSON.parse(run.stdout || '[]') as Finding[];
  };
  let all: Finding[];
  beforeAll(() => {
    all = findings();
  });

  it('finds no error and no warning beyond the rules ignored with a reason', () => {
    const open = all.filter(({ Rule }) => !IGNORED_RULES.includes(Rule.Id));
    expect(open.map(({ Rule, Level, Message }) => `${Level} ${Rule.Id}: ${Message}`)).toEqual([]);
  });

  it('ignores only rules that still fire: an ignore outliving its cause goes', () => {
    expect(IGNORED_RULES.length).toBeGreaterThan(0);
    for (const rule of IGNORED_RULES) expect(all.map(({ Rule }) => Rule.Id)).toContain(rule);
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
