/**
 * CPU per request of the local service, not requests per second: on a shared machine the rate swings by tens of
 * percent with the neighbours' load, while the CPU time a process spends on a fixed number of requests moves far
 * less. Starts the service as `npm run bench` does (local/main.ts on the pinned Node, in a process group of its own),
 * warms it, sends a fixed number of new orders at a fixed concurrency, and reads the CPU time (user + system, from
 * /proc) of the service's Node and of DynamoDB Local's JVM over those requests, and what each wrote to storage. Modes run alternately, so that a
 * change in the machine's load falls on each mode alike.
 *
 * `npx tsx bench/cpu-per-request.ts [--root <project>] [--rounds 3] [--requests 3000] [--connections 50]
 *   [--modes off,on] [--profile <folder>]`: each mode is ORDER_INTAKE_CONSOLE's value; --root names one checkout of the project or
 * several (comma-separated, each with its own node_modules), run alternately to compare code the same way; --profile writes each start's V8 CPU profile
 * (`npm run cpu-profile -- <file>` summarises it).
 */
import { uniqueOrders } from './unique-orders.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request, Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    root: { type: 'string', default: process.cwd() },
    rounds: { type: 'string', default: '3' },
    requests: { type: 'string', default: '3000' },
    warmup: { type: 'string', default: '1500' },
    connections: { type: 'string', default: '50' },
    modes: { type: 'string', default: 'off,on' },
    profile: { type: 'string' },
  },
});
const roots = values.root.split(',').map((root) => resolve(root));
const rounds = Number(values.rounds);
const requests = Number(values.requests);
const warmup = Number(values.warmup);
const connections = Number(values.connections);
const modes = values.modes.split(',');
const TICKS_PER_SECOND = 100; // getconf CLK_TCK on Linux

/** What /proc/<pid>/io counts as written to storage by the process (0 once it is gone). */
function writtenBytes(pid: string): number {
  try {
    return Number(/write_bytes: (\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** User + system CPU (ms) of every process of a process group, the leader as node, the others by command (java). */
function groupCpu(pgid: number): Record<string, number> {
  const cpu: Record<string, number> = {};
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // The command is in parentheses and may hold spaces: the fields after it are split on spaces.
    const command = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) !== pgid) continue;
    const ms = ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
    // Bytes the process caused to be written to storage (WAL, checkpoints, DynamoDB Local's files), as `<name> io`.
    const written = writtenBytes(entry);
    // The group's leader is the service's Node (its main thread names itself MainThread).
    const name = Number(entry) === pgid ? 'node' : command;
    cpu[name] = (cpu[name] ?? 0) + ms;
    cpu[`${name} io`] = (cpu[`${name} io`] ?? 0) + written;
  }
  return cpu;
}

const order = uniqueOrders('cpu');

/** `amount` new orders over `connections` keep-alive connections; answers counted by status. */
async function send(url: URL, amount: number): Promise<{ seconds: number; statuses: Record<number, number> }> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const statuses: Record<number, number> = {};
  let left = amount;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (left > 0) {
      left -= 1;
      const body = order();
      const status = await new Promise<number>((done, fail) => {
        const sent = request(
          new URL('/orders', url),
          { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
          (response) => {
            response.resume();
            response.on('end', () => done(response.statusCode ?? 0));
          },
        );
        sent.on('error', fail);
        sent.end(body);
      });
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  agent.destroy();
  return { seconds: (performance.now() - started) / 1000, statuses };
}

async function start(root: string, dataDir: string, mode: string): Promise<{ child: ChildProcess; url: URL }> {
  // A test runner's or tsx's NODE_OPTIONS is not the service's.
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'ERROR' };
  env.ORDER_INTAKE_CONSOLE = mode;
  delete env.NODE_OPTIONS;
  const profile = values.profile ? ['--cpu-prof', `--cpu-prof-dir=${resolve(values.profile)}`] : [];
  const child = spawn(join(root, 'node_modules/.bin/node'), [...profile, '--import', 'tsx', 'local/main.ts'], {
    cwd: root,
    detached: true,
    stdio: ['ignore', 'pipe', 'inherit'],
    env,
  });
  const { stdout } = child;
  if (!stdout) throw new Error('no stdout');
  const url = await new Promise<string>((found, fail) => {
    const lines = createInterface({ input: stdout });
    lines.on('line', (line) => {
      const match = /listening on (http:\/\/\S+)/.exec(line);
      if (match?.[1]) found(match[1]);
    });
    child.once('exit', () => fail(new Error('the service exited before it listened')));
  });
  return { child, url: new URL(url) };
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((done) => child.once('exit', done));
  child.kill('SIGTERM');
  const timer = setTimeout(() => process.kill(-(child.pid ?? 0), 'SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

const results: Record<string, { node: number[]; jvm: number[]; rate: number[] }> = {};
console.log(
  `${roots.join(', ')}: ${requests} requests at ${connections} connections per run, after ${warmup} to warm up`,
);
for (let round = 1; round <= rounds; round += 1) {
  for (const [root, mode] of roots.flatMap((root) => modes.map((mode) => [root, mode] as const))) {
    const key = roots.length > 1 ? `${root} console ${mode}` : `console ${mode}`;
    const dir = mkdtempSync(join(tmpdir(), 'cpu-per-request-'));
    const { child, url } = await start(root, dir, mode);
    try {
      await send(url, warmup);
      const before = groupCpu(child.pid ?? 0);
      const { seconds, statuses } = await send(url, requests);
      const after = groupCpu(child.pid ?? 0);
      const perRequest = (command: string): number =>
        (((after[command] ?? 0) - (before[command] ?? 0)) * 1000) / requests;
      const node = perRequest('node');
      const jvm = perRequest('java');
      const kB = (command: string): string =>
        (((after[`${command} io`] ?? 0) - (before[`${command} io`] ?? 0)) / 1024 / requests).toFixed(1);
      const rate = requests / seconds;
      const figures = (results[key] ??= { node: [], jvm: [], rate: [] });
      figures.node.push(node);
      figures.jvm.push(jvm);
      figures.rate.push(rate);
      const load = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
      console.log(
        `round ${round} ${key}: node ${node.toFixed(0)} µs/request, JVM ${jvm.toFixed(0)} µs/request, ` +
          `${rate.toFixed(0)} req/s, written ${kB('node')} kB (node) ${kB('java')} kB (JVM) per request, load ${load}, ` +
          JSON.stringify(statuses),
      );
    } finally {
      await stop(child);
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
const median = (list: number[]): number => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)] ?? NaN;
for (const [key, { node, jvm, rate }] of Object.entries(results)) {
  console.log(
    `${key}, median of ${node.length}: node ${median(node).toFixed(0)} µs/request, ` +
      `JVM ${median(jvm).toFixed(0)} µs/request, ${median(rate).toFixed(0)} req/s`,
  );
}
