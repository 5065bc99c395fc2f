/**
 * `npm start` as a person runs it: a child process that comes up, answers HTTP, and is stopped by Ctrl-C (SIGINT to
 * the whole foreground process group) or by a SIGTERM to the service alone — and nothing left running afterwards,
 * the DynamoDB Local JVM included.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { DYNAMODB_FOLDER } from '../../local/dynamodb/dynamodb-local.js';
import { listenersOf, processTree, type Listener } from '../../local/listening-sockets.js';
import { launchService, type ServiceProcess } from '../../local/service-process.js';
import { validOrder } from '../support/order-samples.js';
import { eventually } from '../support/eventually.js';
import { call, dataDirForEachTest, postOrder } from './support/local-service.js';

// How fast it starts is the bench's to measure (`npm run bench` compares it with DynamoDB Local alone); here a loaded
// machine may take long, and only a start that never comes fails.
jest.setTimeout(180_000);

/** `npm start` in its own process group, as a terminal's foreground job is. */
async function npmStart(dataDir: string, extraEnv: Record<string, string> = {}): Promise<ServiceProcess> {
  return launchService({ dataDir, via: 'npm-start', env: { LOG_LEVEL: 'WARN', ...extraEnv }, timeoutMs: 150_000 });
}

/** Every process still in the group: `ps` lists none once all are gone. */
function processesInGroup(pgid: number): string[] {
  try {
    return execFileSync('ps', ['-o', 'pid=,args=', '-g', String(pgid)], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.trim() !== '');
  } catch {
    return [];
  }
}

/** kill -9 of the whole group, then waits until none of it is left (the JVM writes in the data folder until then). */
async function killGroup(pgid: number | undefined): Promise<void> {
  if (!pgid || processesInGroup(pgid).length === 0) return;
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // already gone
  }
  await eventually('every process of the group has ended', () => processesInGroup(pgid).length === 0, {
    timeoutMs: 15_000,
    intervalMs: 100,
  });
}

const commandOf = (pid: number): string => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
};

/**
 * Every TCP socket `npm start`'s process tree listens on, sorted into the API's own (on the port it printed) and the
 * rest; each listener is found by its socket inode among the tree's open files, so no other process on the machine
 * (a DynamoDB Local JVM of another test project, say) counts.
 */
function serviceListeners(started: ServiceProcess): { api: Listener[]; others: (Listener & { command: string })[] } {
  const apiPort = Number(new URL(started.url).port);
  const listeners = listenersOf(processTree(started.child.pid as number));
  return {
    api: listeners.filter((listener) => listener.port === apiPort),
    others: listeners
      .filter((listener) => listener.port !== apiPort)
      .map((listener) => ({ ...listener, command: commandOf(listener.pid) })),
  };
}

let running: ServiceProcess | undefined;
afterEach(async () => {
  // A failed test must not leave a service behind either.
  await killGroup(running?.child.pid);
  running = undefined;
});
// Declared after the hook above, so that its afterEach removes the folder once the group is gone (Jest runs the
// afterEach hooks of one block in the order they are declared).
const folder = dataDirForEachTest();

describe('npm start', () => {
  it('comes up, serves the API, and Ctrl-C stops everything it started', async () => {
    running = await npmStart(folder.dataDir);
    const pgid = running.child.pid as number;
    process.stdout.write(`npm start: listening after ${running.startupMs} ms\n`);

    expect(running.output()).toContain(`curl -i ${running.url}/orders -H 'Content-Type: application/json'`);
    // DynamoDB Local's start-up warning about JAXB means nothing to a user and is not shown.
    expect(running.output()).not.toMatch(/JAXB|JulLog/);
    const accepted = await postOrder(running, JSON.stringify({ ...validOrder, clientReference: 'npm-start' }));
    expect(accepted.status).toBe(202);
    expect((await call(running, 'GET', String(accepted.headers.get('location')))).status).toBe(200);
    expect(
      processesInGroup(pgid).some((line) => line.includes('DynamoDBLocal.jar') && line.includes(folder.dataDir)),
    ).toBe(true);

    // Every socket answers this machine only, DynamoDB Local's JVM (which has no bind option) included.
    const { api, others } = serviceListeners(running);
    expect(api.map(({ address, loopback }) => ({ address, loopback }))).toEqual([
      { address: '127.0.0.1', loopback: true },
    ]);
    expect(others.filter((listener) => listener.command.includes('DynamoDBLocal.jar'))).not.toHaveLength(0);
    expect(others.filter((listener) => !listener.loopback)).toEqual([]);
    expect(running.output()).not.toContain('WARNING');

    process.kill(-pgid, 'SIGINT');
    await running.exited;
    await eventually('every process of the group has ended', () => processesInGroup(pgid).length === 0, {
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    expect(running.output()).toContain('SIGINT: stopping');
    expect(running.output()).not.toMatch(/stop failed|exiting anyway/);
  });

  it('with HOST=0.0.0.0 opens the API alone to other machines: DynamoDB Local still answers loopback only', async () => {
    // A listener on every interface outside the service's tree, as another program's would be: it must not count.
    const foreign = createServer();
    await new Promise<void>((listening) => foreign.listen(0, '0.0.0.0', listening));
    try {
      running = await npmStart(folder.dataDir, { HOST: '0.0.0.0' });
      expect((await postOrder(running, JSON.stringify(validOrder))).status).toBe(202);

      const { api, others } = serviceListeners(running);
      const foreignPort = (foreign.address() as { port: number }).port;
      expect(api.map(({ address, loopback }) => ({ address, loopback }))).toEqual([
        { address: '0.0.0.0', loopback: false },
      ]);
      const jvm = others.filter((listener) => listener.command.includes('DynamoDBLocal.jar'));
      expect(jvm).not.toHaveLength(0);
      expect(jvm.every((listener) => listener.command.includes(folder.dataDir))).toBe(true);
      expect(others.filter((listener) => !listener.loopback)).toEqual([]);
      expect(others.map((listener) => listener.port)).not.toContain(foreignPort);
      expect(running.output()).not.toContain('WARNING');
      // Open to others, the console (no login) is off unless asked for.
      expect(running.output()).toContain('Ops console: off');
    } finally {
      foreign.close();
    }
  });

  it('reads ORDER_INTAKE_FAULTS; a SIGTERM to the service alone also stops the DynamoDB Local it started', async () => {
    running = await npmStart(folder.dataDir, { ORDER_INTAKE_FAULTS: 'store' });
    const pgid = running.child.pid as number;
    const unavailable = await postOrder(running, JSON.stringify(validOrder));
    expect(unavailable.status).toBe(503);
    // At LOG_LEVEL=WARN, which writes no request summaries, the 503 still leaves its line, named by its request id.
    const requestId = String(unavailable.headers.get('x-request-id'));
    const line = () =>
      running
        ?.output()
        .split('\n')
        .find((candidate) => candidate.includes(requestId) && candidate.includes('"answered 503"'));
    await eventually('the 503 is logged', () => line() !== undefined, { timeoutMs: 10_000, intervalMs: 50 });
    expect(JSON.parse(line() ?? '{}')).toMatchObject({ level: 'WARN', requestId, executionName: requestId });

    // The service's Node itself, not npm's `sh -c` above it (whose command line ends the same way).
    const service = processesInGroup(pgid).find((line) => /^\s*\d+ node --import tsx\/esm local\/main\.ts$/.test(line));
    expect(service).toBeDefined();

    process.kill(Number(service?.trim().split(' ')[0]), 'SIGTERM');
    await running.exited;
    await eventually('every process of the group has ended', () => processesInGroup(pgid).length === 0, {
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    expect(running.output()).toContain('SIGTERM: stopping');
  });

  it('reports a busy port at once, naming it and PORT, before DynamoDB Local or anything else starts', async () => {
    const holder = createServer();
    await new Promise<void>((listening) => holder.listen(0, '127.0.0.1', () => listening()));
    const { port } = holder.address() as AddressInfo;
    try {
      await expect(launchService({ dataDir: folder.dataDir, env: { PORT: String(port) } })).rejects.toThrow(
        `port ${port} on 127.0.0.1 is in use by another process: stop it, or choose another port with PORT=<port>`,
      );
      expect(existsSync(join(folder.dataDir, DYNAMODB_FOLDER))).toBe(false);
    } finally {
      holder.close();
    }
  });
});
