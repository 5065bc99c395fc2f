/**
 * Reading a process tree's listening sockets from /proc: the addresses as the kernel prints them (IPv4, IPv6 and
 * IPv4-mapped), loopback or not, and only the tree's own.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { afterAll, describe, expect, it } from '@jest/globals';
import { canInspectListeners, listenersOf, processTree } from '../../local/listening-sockets.js';

const servers: Server[] = [];
async function listenOn(host: string): Promise<number> {
  const server = createServer();
  servers.push(server);
  server.listen(0, host);
  await once(server, 'listening');
  return (server.address() as { port: number }).port;
}
afterAll(() => servers.forEach((server) => server.close()));

describe.each(canInspectListeners() ? ['linux'] : [])('listening sockets (%s)', () => {
  it('reads each address and says which answer this machine only (::ffff:127.0.0.1 among them)', async () => {
    const ports = {
      '127.0.0.1': await listenOn('127.0.0.1'),
      '0.0.0.0': await listenOn('0.0.0.0'),
      '::1': await listenOn('::1'),
      '::ffff:127.0.0.1': await listenOn('::ffff:127.0.0.1'),
      '::': await listenOn('::'),
    };
    const found = listenersOf([process.pid]);
    const seen = Object.entries(ports).map(([host, port]) => {
      const listener = found.find((candidate) => candidate.port === port);
      return [host, listener?.address, listener?.loopback, listener?.pid];
    });

    expect(seen).toEqual([
      ['127.0.0.1', '127.0.0.1', true, process.pid],
      ['0.0.0.0', '0.0.0.0', false, process.pid],
      ['::1', '::1', true, process.pid],
      ['::ffff:127.0.0.1', '::ffff:127.0.0.1', true, process.pid],
      ['::', '::', false, process.pid],
    ]);
  });

  it("finds a child's sockets in its tree, and no process outside it", async () => {
    const child = spawn(process.execPath, [
      '-e',
      "require('node:net').createServer().listen(0, '127.0.0.1', function () { console.log(this.address().port) })",
    ]);
    try {
      const [line] = (await once(child.stdout, 'data')) as [Buffer];
      const port = Number(line.toString().trim());
      const tree = processTree(process.pid);

      expect(tree).toContain(child.pid);
      expect(tree).not.toContain(1);
      expect(listenersOf(tree).find((listener) => listener.port === port)?.pid).toBe(child.pid);
      // The child's own tree is the child alone: none of this process's sockets are in it.
      expect(listenersOf(processTree(child.pid as number)).map((listener) => listener.port)).toEqual([port]);
    } finally {
      child.kill();
    }
  });
});
