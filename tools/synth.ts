/**
 * `npm run synth [-- -c key=value ...]`: `cdk synth` without the 1,700 lines of YAML on the terminal, then one line
 * per stack: where the template is, how many resources it holds, and what cdk-nag said. The arguments go to
 * `cdk synth` as they are. A synth that cdk-nag fails exits with cdk's code and its report, as before.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PROJECT_ROOT } from '../cdk/lib/node-function.js';

/** Where `cdk synth` writes, as it reads its own `--output` / `-o` (cdk.json names none). */
function outputOf(args: string[]): string {
  const at = args.findIndex((arg) => arg === '--output' || arg === '-o');
  const given = at >= 0 ? args[at + 1] : args.find((arg) => arg.startsWith('--output='))?.slice('--output='.length);
  return given ?? join(PROJECT_ROOT, 'cdk.out');
}

interface Manifest {
  artifacts: Record<string, { type: string; properties?: { templateFile?: string } }>;
}

/** The acknowledged cdk-nag findings of a stack: the metadata CDK writes for each `Validations.acknowledge`. */
function acknowledgedFindings(out: string, stackId: string): number {
  const metadata = JSON.parse(readFileSync(join(out, `${stackId}.metadata.json`), 'utf8')) as Record<
    string,
    { type: string; data: Record<string, string> }[]
  >;
  return Object.values(metadata)
    .flat()
    .filter(({ type }) => type === 'aws:cdk:acknowledged-rules')
    .reduce((count, { data }) => count + Object.keys(data).length, 0);
}

/** One line per stack of the cloud assembly just written. */
export function summarize(out: string, startedAt: number): string[] {
  const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as Manifest;
  // Written by the synth's validation step, which runs the cdk-nag plugin the app registers; an old file means none ran.
  const report = join(out, 'validation-report.json');
  const validated = statSync(report, { throwIfNoEntry: false });
  const openFindings = validated
    ? (
        JSON.parse(readFileSync(report, 'utf8')) as { pluginReports: { violations?: unknown[] }[] }
      ).pluginReports.flatMap(({ violations = [] }) => violations).length
    : 0;
  return Object.entries(manifest.artifacts)
    .filter(([, artifact]) => artifact.type === 'aws:cloudformation:stack')
    .map(([id, artifact]) => {
      const templatePath = join(out, artifact.properties?.templateFile ?? `${id}.template.json`);
      const template = JSON.parse(readFileSync(templatePath, 'utf8')) as { Resources?: Record<string, unknown> };
      const resources = Object.keys(template.Resources ?? {}).length;
      const nag =
        validated && validated.mtimeMs >= startedAt
          ? `cdk-nag AwsSolutions passed: ${openFindings} findings open, ${acknowledgedFindings(out, id)} acknowledged with a reason`
          : 'cdk-nag did not run';
      return `${relative(process.cwd(), templatePath)}: ${resources} resources; ${nag}`;
    });
}

function main(): number {
  // Whole milliseconds: a file system may store the report's time coarser than Date.now().
  const startedAt = Math.floor(Date.now() / 1000) * 1000;
  const cdk = join(PROJECT_ROOT, 'node_modules', '.bin', 'cdk');
  const args = process.argv.slice(2);
  const synth = spawnSync(cdk, ['synth', '--quiet', ...args], { stdio: 'inherit' });
  if (synth.status !== 0) return synth.status ?? 1;
  for (const line of summarize(outputOf(args), startedAt)) console.log(line);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = main();
