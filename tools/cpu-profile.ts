/**
 * `npm run cpu-profile -- <file.cpuprofile> [--top N]`: where a V8 CPU profile's time went, as the bench's
 * BENCH_PROFILE writes them for the local service: self time by package or project file, by function, and the time
 * spent under each package or project file (inclusive). A package counts once per sample however deep it recurs.
 */
import { readFileSync } from 'node:fs';
import { cliArguments } from './cli-arguments.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** `npm:<package>`, a project file relative to the project, `node:<module>`, or the V8 pseudo-frame's name. */
export function placeOf(url: string, functionName: string): string {
  if (!url) return functionName ? `(${functionName.replace(/^\(|\)$/g, '')})` : '(native)';
  const packageName = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (packageName) return `npm:${packageName[1]}`;
  if (url.startsWith('node:')) return url.split('/')[0] ?? url;
  const project = url.replace(/^file:\/\//, '').replace(`${process.cwd()}/`, '');
  return project;
}

export interface ProfileSummary {
  totalMs: number;
  selfByPlace: [string, number][];
  selfByFunction: [string, number][];
  inclusiveByPlace: [string, number][];
}

/** Shares of the profile's time, largest first, in percent. */
export function summarize(profile: CpuProfile): ProfileSummary {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  const timeByNode = new Map<number, number>();
  profile.samples.forEach((id, index) =>
    timeByNode.set(id, (timeByNode.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0)),
  );
  const total = [...timeByNode.values()].reduce((sum, time) => sum + time, 0);

  const selfByPlace = new Map<string, number>();
  const selfByFunction = new Map<string, number>();
  const inclusiveByPlace = new Map<string, number>();
  const add = (map: Map<string, number>, key: string, time: number): void => {
    map.set(key, (map.get(key) ?? 0) + time);
  };
  for (const [id, time] of timeByNode) {
    const frame = nodes.get(id)?.callFrame;
    if (!frame) continue;
    const place = placeOf(frame.url, frame.functionName);
    add(selfByPlace, place, time);
    add(
      selfByFunction,
      frame.url ? `${frame.functionName || '(anonymous)'} ${place}:${frame.lineNumber + 1}` : place,
      time,
    );
    const seen = new Set<string>();
    for (let current: number | undefined = id; current !== undefined; current = parents.get(current)) {
      const callFrame = nodes.get(current)?.callFrame;
      if (!callFrame?.url) continue;
      const callerPlace = placeOf(callFrame.url, callFrame.functionName);
      if (seen.has(callerPlace)) continue;
      seen.add(callerPlace);
      add(inclusiveByPlace, callerPlace, time);
    }
  }
  const shares = (map: Map<string, number>): [string, number][] =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .map(([key, time]): [string, number] => [key, Number(((100 * time) / total).toFixed(1))]);
  return {
    totalMs: Math.round(total / 1000),
    selfByPlace: shares(selfByPlace),
    selfByFunction: shares(selfByFunction),
    inclusiveByPlace: shares(inclusiveByPlace),
  };
}

const USAGE = 'usage: npm run cpu-profile -- <file.cpuprofile> [--top N]';

function main(): number {
  const { values, positionals } = cliArguments(USAGE, { options: { top: { type: 'string' } }, allowPositionals: true });
  const [file] = positionals;
  if (!file) {
    console.error(USAGE);
    return 2;
  }
  const top = Number(values.top ?? 25);
  const summary = summarize(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
  console.log(`${file}: ${summary.totalMs} ms sampled`);
  const print = (title: string, rows: [string, number][]): void => {
    console.log(`\n${title}`);
    for (const [key, share] of rows.slice(0, top)) console.log(`${share.toFixed(1).padStart(6)} %  ${key}`);
  };
  print('self time, by package or file', summary.selfByPlace);
  print('self time, by function', summary.selfByFunction);
  print('time under each package or file (inclusive)', summary.inclusiveByPlace);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = main();
