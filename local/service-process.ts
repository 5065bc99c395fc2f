/**
 * The local service as a user runs it, in a process of its own: the one launcher of the bench, the end-to-end tests
 * and the chaos suite. It runs in a process group of its own, as a terminal's foreground job does, so that the whole
 * of it (Node, and DynamoDB Local's JVM with its watchdog) can be stopped or killed at once, or in parts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface ServiceProcess {
  child: ChildProcess;
  url: string;
  dataDir: string;
  /** From the spawn to the line that says where it listens. */
  startupMs: number;
  /** Everything it has written so far, stdout and stderr. */
  output: () => string;
  /** Its exit code, once it has exited (null when a signal ended it). */
  exited: Promise<number | null>;
}

export interface LaunchOptions {
  dataDir: string;
  /** On top of this process's environment; PORT defaults to 0 (a free port), LOG_LEVEL to ERROR. */
  env?: Record<string, string>;
  /** `npm start` as a person types it, or the service's module on the pinned Node (no npm in between). */
  via?: 'npm-start' | 'node';
  /** Given up on (and killed) if it has not said where it listens by then. */
  timeoutMs?: number;
}

/** Starts the service and resolves once it says where it listens. */
export async function launchService({
  dataDir,
  env = {},
  via = 'node',
  timeoutMs = 180_000,
}: LaunchOptions): Promise<ServiceProcess> {
  // A test runner's NODE_OPTIONS (Jest's --experimental-vm-modules) is not the user's.
  const inherited = { ...process.env };
  delete inherited.NODE_OPTIONS;
  const started = performance.now();
  const [command, args] =
    via === 'npm-start' ? ['npm', ['start']] : [process.execPath, ['--import', 'tsx/esm', 'local/main.ts']];
  const child = spawn(command, args, {
    cwd: PROJECT_ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...inherited, PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'ERROR', ...env },
  });
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  // Read as lines for as long as it runs: what follows the listening line is output too.
  const listening = new Promise<string | undefined>((found) => {
    if (!child.stdout) return found(undefined);
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      output += `${line}\n`;
      const url = /listening on (http:\/\/\S+)/.exec(line)?.[1];
      if (url) found(url);
    });
    lines.once('close', () => found(undefined));
  });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<undefined>((found) => {
    timer = setTimeout(() => found(undefined), timeoutMs);
  });
  const url = await Promise.race([listening, timedOut]);
  clearTimeout(timer);
  if (url) return { child, url, dataDir, startupMs: performance.now() - started, output: () => output, exited };
  await killGroup({ child });
  throw new Error(`the service did not start:\n${output}`);
}

const exitOf = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : once(child, 'exit').then(() => undefined);

/** kill -9 of the whole process group: Node, the watchdog and the JVM at once. */
export function killGroup({ child }: Pick<ServiceProcess, 'child'>): Promise<void> {
  const exited = exitOf(child);
  try {
    process.kill(-(child.pid ?? 0), 'SIGKILL');
  } catch {
    // already gone
  }
  return exited;
}

/** kill -9 of the Node process alone; the JVM's watchdog ends the JVM. */
export function killNode({ child }: Pick<ServiceProcess, 'child'>): Promise<void> {
  const exited = exitOf(child);
  child.kill('SIGKILL');
  return exited;
}

/** A SIGTERM, as a user stops it; kill -9 of the group if it has not stopped within the deadline. */
export async function stopGracefully(service: Pick<ServiceProcess, 'child'>, deadlineMs = 30_000): Promise<void> {
  const exited = exitOf(service.child);
  // Started by npm, the service is npm's grandchild (npm -> sh -> node), which a signal to npm does not reach: the
  // whole group hears it, as a terminal's Ctrl-C would reach it.
  const viaNpm = service.child.spawnargs[0] === 'npm';
  if (viaNpm) process.kill(-(service.child.pid ?? 0), 'SIGTERM');
  else service.child.kill('SIGTERM');
  const timer = setTimeout(() => void killGroup(service), deadlineMs);
  await exited;
  clearTimeout(timer);
}
