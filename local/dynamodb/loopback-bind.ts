/**
 * The LD_PRELOAD library that keeps DynamoDB Local on loopback (loopback-bind.c says how), built from source with
 * the machine's C compiler into node_modules/.cache/order-intake on first use (about 0.4 s), then reused. Nothing is
 * downloaded. Where it cannot be built (no compiler, not Linux) the answer says why, and the service says that
 * DynamoDB Local answers other machines.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const SOURCE = fileURLToPath(new URL('./loopback-bind.c', import.meta.url));
// Per project, not a shared temporary folder: a library another user could replace would run inside the JVM.
const CACHE_DIR = fileURLToPath(new URL('../../node_modules/.cache/order-intake', import.meta.url));

export type LoopbackBind = { library: string } | { unavailable: string };

let built: Promise<LoopbackBind> | undefined;

async function build(): Promise<LoopbackBind> {
  if (process.platform !== 'linux')
    return { unavailable: `the loopback shim needs Linux (this is ${process.platform})` };
  const source = readFileSync(SOURCE);
  // Named by its source, so that a changed source is built again and never mistaken for the old library.
  const library = join(CACHE_DIR, `loopback-bind-${createHash('sha256').update(source).digest('hex').slice(0, 16)}.so`);
  if (existsSync(library)) return { library };
  const compiler = process.env.CC || 'cc';
  // Another process (a parallel test worker) may build it at the same time: each writes its own file and renames it.
  const partial = `${library}.${process.pid}.partial`;
  try {
    mkdirSync(CACHE_DIR, { recursive: true, mode: 0o700 });
    await promisify(execFile)(compiler, ['-shared', '-fPIC', '-O2', '-o', partial, SOURCE, '-ldl']);
    renameSync(partial, library);
    return { library };
  } catch (error) {
    rmSync(partial, { force: true });
    // The compiler's own first complaint, or why it did not run (spawn cc ENOENT).
    const { stderr, message } = error as { stderr?: string; message?: string };
    const reason = (stderr?.trim() || message || String(error)).split('\n')[0];
    return { unavailable: `the loopback shim could not be built with ${compiler}: ${reason}` };
  }
}

/** The library, built once per process. */
export const loopbackBind = (): Promise<LoopbackBind> => (built ??= build());
