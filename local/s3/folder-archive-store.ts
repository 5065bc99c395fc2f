import { randomUUID } from 'node:crypto';
import { link, mkdir, open, readdir, rm } from 'node:fs/promises';
import { basename, dirname, relative, resolve, sep } from 'node:path';
import type { ArchiveOutcome, ArchiveStore } from '../../src/archive/archive-order.js';
import { ArchiveStoreError } from '../../src/archive/errors.js';
import { PRIVATE_FILE_MODE, PRIVATE_FOLDER_MODE } from '../private-files.js';

const TEMPORARY_SUFFIX = '.tmp';
const TEMPORARY_FILE = /^\..+\.[0-9a-f-]{36}\.tmp$/;

// Duck-typed: under a VM context (jest ESM) fs errors come from another realm and fail `instanceof Error`.
const hasCode = (error: unknown, code: string): boolean =>
  typeof error === 'object' && error !== null && (error as NodeJS.ErrnoException).code === code;

async function fsyncPath(path: string, flags: 'r' | 'wx', data?: string): Promise<void> {
  const handle = await open(path, flags, PRIVATE_FILE_MODE);
  try {
    if (data !== undefined) await handle.writeFile(data, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * The archive as a local folder, for the local runtime. The object is written in full to a temporary file beside
 * its final name and then hard-linked to it: link(2) fails with EEXIST instead of replacing, so the create is
 * exclusive, and a crash can leave a stray temporary file but never a half-written order under the final name.
 */
export class FolderArchiveStore implements ArchiveStore {
  private readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  /**
   * Removes the temporary files a crash left behind (a write interrupted between its temporary file and the link).
   * Their events were not acknowledged by the archive, so they are delivered again and written in full. Call it
   * before any write: a temporary file of a running write looks the same.
   */
  async sweepInterruptedWrites(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.root, { recursive: true, encoding: 'utf8' });
    } catch (error) {
      if (hasCode(error, 'ENOENT')) return [];
      throw error;
    }
    const interrupted = names.filter((name) => TEMPORARY_FILE.test(basename(name)));
    for (const name of interrupted) await rm(resolve(this.root, name), { force: true });
    return interrupted;
  }

  async createIfAbsent(key: string, body: string): Promise<ArchiveOutcome> {
    const target = resolve(this.root, key);
    const inside = relative(this.root, target);
    if (inside === '' || inside.startsWith(`..${sep}`) || inside === '..') {
      throw new ArchiveStoreError(`key escapes the archive folder: ${key}`, key);
    }
    const folder = dirname(target);
    const temporary = resolve(folder, `.${basename(target)}.${randomUUID()}${TEMPORARY_SUFFIX}`);
    try {
      await mkdir(folder, { recursive: true, mode: PRIVATE_FOLDER_MODE });
      await fsyncPath(temporary, 'wx', body);
      try {
        await link(temporary, target);
      } catch (error) {
        if (hasCode(error, 'EEXIST')) return 'exists';
        throw error;
      }
      // The new directory entry is durable only once the folder itself is synced.
      await fsyncPath(folder, 'r');
      return 'created';
    } catch (error) {
      throw new ArchiveStoreError(`cannot write ${target}`, key, { cause: error });
    } finally {
      await rm(temporary, { force: true });
    }
  }
}
