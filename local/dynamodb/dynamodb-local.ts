/**
 * AWS's own DynamoDB Local, from the jar that the npm package amplify-dynamodb-simulator ships (the package's
 * launcher looks for the jar under ~/.amplify, so the jar is started here directly). Needs Java 17+.
 *
 * The jar has no bind option: it listens on every interface, with no authentication. It runs here unchanged, as its
 * README starts it, with one library preloaded into the JVM (loopback-bind.c) that makes its listening socket
 * loopback-only; the start checks the socket it got, and says so when it answers other machines.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect, createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { dirname, join, resolve } from 'node:path';
// Loaded once the JVM is spawned (the SDK takes ~100 ms to load, which npm start would otherwise add to its start).
import type * as DynamoDbSdk from '@aws-sdk/client-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { canInspectListeners, listenersOf, processTree } from '../listening-sockets.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../local-account.js';
import { makePrivateFolder } from '../private-files.js';
import { loopbackBind } from './loopback-bind.js';
import { traceStartup } from '../startup-trace.js';

const require = createRequire(import.meta.url);
const EMULATOR_DIR = join(dirname(require.resolve('amplify-dynamodb-simulator/package.json')), 'emulator');
const START_TIMEOUT_MS = 30_000;
const READINESS_POLL_MS = 20;
/** DynamoDB Local's files live here, under the data folder; the event runtime keeps its own beside them. */
export const DYNAMODB_FOLDER = 'dynamodb';

export interface DynamoDbLocalOptions {
  /** Folder for the database file; omit to keep everything in memory. */
  dataDir?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Told once the JVM's process is spawned, before it serves: a caller can do other work while the JVM boots. */
  onSpawn?: () => void;
}

export interface DynamoDbLocal {
  endpoint: string;
  port: number;
  /** A client for this instance, with the dummy credentials DynamoDB Local accepts. */
  client: (overrides?: { maxAttempts?: number }) => DynamoDBClient;
  /**
   * Undefined when its port was checked to answer this machine only; otherwise who else it may answer and why, for
   * the start line.
   */
  exposure: string | undefined;
  stop: () => Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((accept, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? accept(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/**
 * DynamoDB Local answers TransactWriteItems before its SQLite COMMIT has run: SQLiteDBAccess.commitTransaction
 * queues the COMMIT job on its single SQLite thread without waiting for it (PutItem and the rest do wait), so a
 * kill -9 between the answer and the end of the COMMIT (journal fsyncs, journal unlink) rolls back an acknowledged
 * transaction. Any later call that runs on that thread and waits (ListTables does) finishes only after the COMMIT,
 * so such a call after a transaction makes its answer mean "on disk", as it does in DynamoDB. The thread runs its
 * jobs in order, so one call waits for the COMMITs of every transaction answered before it was sent: transactions
 * answered in the same turn of the event loop share one.
 */
function awaitTransactionCommit(client: DynamoDBClient, { ListTablesCommand }: typeof DynamoDbSdk): DynamoDBClient {
  let nextBarrier: Promise<void> | undefined;
  const barrier = (): Promise<void> =>
    (nextBarrier ??= new Promise<void>((passed, failed) => {
      setImmediate(() => {
        // Sent now: a transaction answered from here on needs a barrier of its own.
        nextBarrier = undefined;
        client.send(new ListTablesCommand({ Limit: 1 })).then(() => passed(), failed);
      });
    }));
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName === 'TransactWriteItemsCommand') await barrier();
      return result;
    },
    { step: 'initialize', name: 'awaitDynamoDbLocalCommit' },
  );
  return client;
}

const clientFor =
  (endpoint: string, sdk: typeof DynamoDbSdk) =>
  (overrides: { maxAttempts?: number } = {}): DynamoDBClient =>
    awaitTransactionCommit(
      new sdk.DynamoDBClient({
        endpoint,
        region: LOCAL_REGION,
        credentials: LOCAL_CREDENTIALS,
        ...overrides,
      }),
      sdk,
    );

/** Whether something accepts TCP connections on the port: a refused connect costs next to nothing, a call does not. */
const accepts = (port: number): Promise<boolean> =>
  new Promise((answer) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      answer(true);
    });
    socket.once('error', () => answer(false));
  });

/**
 * Waits until DynamoDB Local answers a call. Its port is tried every READINESS_POLL_MS (a refused connect is nearly
 * free), so that the wait ends within that of the JVM's readiness rather than up to a whole longer interval after it;
 * the call is sent once the port accepts.
 */
async function waitUntilServing(endpoint: string, port: number, child: ChildProcess, sdk: typeof DynamoDbSdk) {
  const { ListTablesCommand } = sdk;
  const client = clientFor(endpoint, sdk)({ maxAttempts: 1 });
  const deadline = Date.now() + START_TIMEOUT_MS;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`DynamoDB Local exited with code ${child.exitCode}`);
      let refused: unknown = new Error(`nothing accepts connections on port ${port}`);
      if (await accepts(port)) {
        try {
          await client.send(new ListTablesCommand({ Limit: 1 }));
          return;
        } catch (error) {
          refused = error;
        }
      }
      traceStartup('dynamodb: not answering yet');
      if (Date.now() > deadline) throw new Error('DynamoDB Local did not start in time', { cause: refused });
      await new Promise((wake) => setTimeout(wake, READINESS_POLL_MS));
    }
  } finally {
    client.destroy();
  }
}

/**
 * The JVM runs under a small shell that ends it when this process ends, however it ends (kill -9 included): the
 * shell reads a pipe whose only writer is this process, and end of file means the writer is gone. It also keeps the
 * JVM's pid beside the database while the JVM runs, so a new start knows when one of an earlier run still holds the
 * files.
 */
const WATCHDOG = [
  // What the JVM writes (the database, its journal) and the pid file are the user's alone, as the data folder is.
  'umask 077',
  'exec 3<&0',
  '"$@" <&- & jvm=$!',
  'if [ -n "$PID_FILE" ]; then echo "$jvm" > "$PID_FILE"; fi',
  '{ read -r _ <&3; kill "$jvm" 2>/dev/null; } & reader=$!',
  // The shell's own report of a JVM killed by a signal is noise; the JVM's stderr stays visible.
  'wait "$jvm" 2>/dev/null; status=$?',
  // A JVM that ended on its own takes its reader along, which would otherwise kill whatever reuses its pid.
  'kill "$reader" 2>/dev/null',
  // Only its own pid: a new start on these files may already have written the next JVM's.
  'if [ -n "$PID_FILE" ] && [ "$(cat "$PID_FILE" 2>/dev/null)" = "$jvm" ]; then rm -f "$PID_FILE"; fi',
  'exit "$status"',
].join('\n');
export const PID_FILE_NAME = 'dynamodb-local.pid';
const EARLIER_JVM_GRACE_MS = 10_000;
/** How long the earlier JVM's watchdog may take to remove its pid file once the JVM is gone (killed with it: never). */
const EARLIER_WATCHDOG_GRACE_MS = 2_000;

/**
 * DynamoDB Local warns at every start that JAXB is missing (it falls back to another XML binding, which the JSON
 * API never uses), over two lines that read like an error: the JAXB line and the logger's header line before it
 * (the header pattern drops any warning header of that logger; the warning text after it still shows). Every other
 * line of the JVM's stderr reaches this process's, so its real errors stay visible.
 */
const NOISE = [/^\w{3} \d{1,2}, \d{4} .* com\.amazonaws\.log\.JulLog warn$/, /^WARNING: JAXB is unavailable\./];
export const isStartupNoise = (line: string): boolean => NOISE.some((pattern) => pattern.test(line));
function forwardMeaningfulLines(stderr: NodeJS.ReadableStream): void {
  createInterface({ input: stderr }).on('line', (line) => {
    if (!isStartupNoise(line)) process.stderr.write(`${line}\n`);
  });
}

/**
 * Whether `pid` is still a DynamoDB Local JVM: a pid file outlives a shell killed with its group, and its pid may
 * since belong to another process (or to a zombie), which must neither be waited for nor harmed.
 */
const isDynamoDbLocal = (pid: number): boolean => {
  try {
    const command = execFileSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' });
    return command.includes('DynamoDBLocal.jar');
  } catch {
    return false;
  }
};

/** Waits for the JVM of an earlier run on these files to end (its watchdog is ending it); never kills it. */
async function awaitEarlierJvm(pidFile: string): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').trim());
  } catch {
    return;
  }
  const deadline = Date.now() + EARLIER_JVM_GRACE_MS;
  while (Number.isInteger(pid) && pid > 0 && isDynamoDbLocal(pid)) {
    if (Date.now() > deadline) {
      throw new Error(`DynamoDB Local (pid ${pid}) still runs on ${dirname(pidFile)}: is another service using it?`);
    }
    await new Promise((wake) => setTimeout(wake, 100));
  }
  // Its watchdog removes the pid file just after the JVM has gone; this start's file is written only after that, so
  // that the earlier watchdog can never remove it. A file that stays names a JVM whose watchdog was killed with it.
  const watchdogDeadline = Date.now() + EARLIER_WATCHDOG_GRACE_MS;
  while (existsSync(pidFile) && Date.now() < watchdogDeadline) await new Promise((wake) => setTimeout(wake, 20));
  rmSync(pidFile, { force: true });
}

/** Why the JVM under `watchdogPid` answers beyond this machine, or undefined when it answers loopback only. */
function exposureOf(watchdogPid: number | undefined, port: number, shimUnavailable: string | undefined) {
  const everywhere = `DynamoDB Local (port ${port}, no authentication) answers every network interface`;
  if (shimUnavailable) return `${everywhere}: ${shimUnavailable}`;
  if (watchdogPid === undefined || !canInspectListeners()) return `${everywhere} unless the loopback shim held`;
  const listeners = listenersOf(processTree(watchdogPid));
  const open = listeners.filter((listener) => !listener.loopback);
  if (listeners.length === 0) return `${everywhere} unless the loopback shim held (its socket was not found)`;
  if (open.length === 0) return undefined;
  const addresses = open.map((listener) => `${listener.address}:${listener.port}`).join(', ');
  return `${everywhere}: it listens on ${addresses} (the loopback shim did not hold)`;
}

export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  traceStartup('dynamodb: launcher called');
  const shim = await loopbackBind();
  const port = options.port || (await freePort());
  const dataDir = options.dataDir ? resolve(options.dataDir) : undefined;
  const storage = dataDir ? ['-dbPath', dataDir] : ['-inMemory'];
  // In memory there are no files to hold, so no pid file either.
  const pidFile = dataDir ? join(dataDir, PID_FILE_NAME) : '';
  if (dataDir) {
    makePrivateFolder(dataDir);
    await awaitEarlierJvm(pidFile);
  }
  // -sharedDb: one database whatever the client's credentials and Region, as a single local service expects.
  // IPv4 sockets only: the shim's wildcard-to-127.0.0.1 rewrite is then the whole story.
  const java = ['java', '-Djava.net.preferIPv4Stack=true', '-Djava.library.path=./DynamoDBLocal_lib'];
  java.push('-jar', 'DynamoDBLocal.jar', '-port', String(port), ...storage, '-sharedDb', '-disableTelemetry');
  // Preloaded by the JVM only (`env` execs it, keeping the pid the watchdog waits for), ahead of any of the user's.
  const preload = 'library' in shim ? [shim.library, process.env.LD_PRELOAD].filter(Boolean).join(':') : undefined;
  const command = preload ? ['env', `LD_PRELOAD=${preload}`, ...java] : java;
  const child = spawn('sh', ['-c', WATCHDOG, 'dynamodb-local', ...command], {
    cwd: EMULATOR_DIR,
    stdio: ['pipe', 'ignore', 'pipe'],
    env: { ...process.env, PID_FILE: pidFile },
  });
  if (child.stderr) forwardMeaningfulLines(child.stderr);
  traceStartup('dynamodb: JVM spawned');
  options.onSpawn?.();
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.stdin?.end();
    await exited;
  };

  const endpoint = `http://127.0.0.1:${port}`;
  let sdk: typeof DynamoDbSdk;
  try {
    sdk = await import('@aws-sdk/client-dynamodb');
    traceStartup('dynamodb: SDK loaded');
    await waitUntilServing(endpoint, port, child, sdk);
    traceStartup('dynamodb: answering');
  } catch (error) {
    await stop();
    throw error;
  }
  const exposure = exposureOf(child.pid, port, 'unavailable' in shim ? shim.unavailable : undefined);
  return { endpoint, port, client: clientFor(endpoint, sdk), exposure, stop };
}
