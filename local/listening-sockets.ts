/**
 * Which TCP sockets a process tree listens on, and on which address, read from Linux's /proc: the service checks
 * that DynamoDB Local's JVM answers this machine only, and the tests check every socket of a running service. A
 * tree, not every process of a name: other DynamoDB Local JVMs on the machine (the workflow tests' own, another
 * project's) are not this service's.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { endianness } from 'node:os';

export interface Listener {
  pid: number;
  /** As `ss` prints it: 127.0.0.1, 0.0.0.0, ::1, ::ffff:127.0.0.1, :: */
  address: string;
  port: number;
  /** Answers this machine only: 127.0.0.0/8, ::1, or an IPv4-mapped 127.0.0.0/8. */
  loopback: boolean;
}

/** Whether this machine has the /proc files read here (Linux). */
export const canInspectListeners = (): boolean => existsSync('/proc/net/tcp');

const readOrEmpty = (path: string): string => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

/** `rootPid` and every process descended from it, as they are now. */
export function processTree(rootPid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    // pid (comm) state ppid ...: comm may hold spaces and parentheses, so the fields are read after the last ')'.
    const stat = readOrEmpty(`/proc/${entry}/stat`);
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!Number.isInteger(ppid)) continue;
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const tree = [rootPid];
  for (let i = 0; i < tree.length; i += 1) tree.push(...(children.get(tree[i] as number) ?? []));
  return tree;
}

/** The socket inodes a process holds open (none once it has ended). */
function socketInodes(pid: number): string[] {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return [];
  }
  return fds.flatMap((fd) => {
    try {
      return /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1] ?? [];
    } catch {
      return [];
    }
  });
}

/** The kernel prints an address as 32-bit words, each in the machine's byte order. */
function addressBytes(hex: string): number[] {
  const bytes: number[] = [];
  for (let word = 0; word < hex.length; word += 8) {
    const wordBytes = (hex.slice(word, word + 8).match(/../g) ?? []).map((pair) => parseInt(pair, 16));
    bytes.push(...(endianness() === 'LE' ? wordBytes.reverse() : wordBytes));
  }
  return bytes;
}

function describe(bytes: number[]): { address: string; loopback: boolean } {
  if (bytes.length === 4) return { address: bytes.join('.'), loopback: bytes[0] === 127 };
  const mapped = bytes.slice(0, 10).every((byte) => byte === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (mapped) return { address: `::ffff:${bytes.slice(12).join('.')}`, loopback: bytes[12] === 127 };
  const groups = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  const address = groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
  return { address, loopback: bytes.slice(0, 15).every((byte) => byte === 0) && bytes[15] === 1 };
}

const LISTEN = '0A';

/** The listening TCP sockets (IPv4 and IPv6) held by these processes, read in the first one's network namespace. */
export function listenersOf(pids: readonly number[]): Listener[] {
  const owner = new Map<string, number>();
  for (const pid of pids) for (const inode of socketInodes(pid)) owner.set(inode, pid);
  const listeners: Listener[] = [];
  for (const table of ['tcp', 'tcp6']) {
    for (const line of readOrEmpty(`/proc/${pids[0] ?? 'self'}/net/${table}`)
      .split('\n')
      .slice(1)) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      const fields = line.trim().split(/\s+/);
      const [local, state, inode] = [fields[1], fields[3], fields[9]];
      if (!local || state !== LISTEN || !inode) continue;
      const pid = owner.get(inode);
      if (pid === undefined) continue;
      const [hexAddress = '', hexPort = ''] = local.split(':');
      listeners.push({ pid, ...describe(addressBytes(hexAddress)), port: parseInt(hexPort, 16) });
    }
  }
  return listeners;
}
