/**
 * A service database's WAL is folded into its file by a worker thread, not by the COMMIT that crosses 1,000 pages on
 * the event loop.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, expect, it } from '@jest/globals';
import { checkpointInBackground, type BackgroundCheckpoints } from '../../local/sqlite-checkpoints.js';
import { eventually } from '../support/eventually.js';

let folder: string | undefined;
let db: DatabaseSync | undefined;
let checkpoints: BackgroundCheckpoints | undefined;
afterEach(() => {
  checkpoints?.stop();
  db?.close();
  if (folder) rmSync(folder, { recursive: true, force: true });
});

/** A database as the service opens its own: WAL, synchronous = NORMAL, one table of entries; its path. */
function openServiceDatabase(): { file: string; writer: DatabaseSync } {
  folder = mkdtempSync(join(tmpdir(), 'checkpoints-'));
  const file = join(folder, 'log.sqlite');
  const writer = new DatabaseSync(file);
  db = writer;
  writer.exec('PRAGMA journal_mode = WAL');
  writer.exec('PRAGMA synchronous = NORMAL');
  writer.exec('CREATE TABLE entries (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
  return { file, writer };
}

it('copies committed pages into the database file from a worker, the writer checkpointing nothing itself', async () => {
  const { file, writer } = openServiceDatabase();
  checkpoints = checkpointInBackground(writer, file, { intervalMs: 10 });
  expect(writer.prepare('PRAGMA wal_autocheckpoint').get()).toEqual({ wal_autocheckpoint: 4096 });

  const before = statSync(file).size;
  const insert = writer.prepare('INSERT INTO entries (body) VALUES (?)');
  for (let n = 0; n < 200; n += 1) insert.run('x'.repeat(1000)); // 200 commits, about 50 pages
  // Each commit is in the WAL at once; the file itself grows only when a checkpoint copies the pages over.
  await eventually('the database file holds the committed pages', () => statSync(file).size >= before + 150_000);
  expect(writer.prepare('SELECT COUNT(*) AS n FROM entries').get()).toEqual({ n: 200 });
});

it('keeps the WAL bounded while commits never stop, by the writer’s own rare checkpoint', () => {
  const { file, writer } = openServiceDatabase();
  // A worker that never gets a turn: only the writer's own checkpoint can bound the WAL.
  checkpoints = checkpointInBackground(writer, file, { intervalMs: 3_600_000, writerCheckpointPages: 256 });

  const insert = writer.prepare('INSERT INTO entries (body) VALUES (?)');
  let largestWal = 0;
  for (let n = 0; n < 6000; n += 1) {
    insert.run('x'.repeat(3000)); // 18 MB in all, 1 MB between the writer's checkpoints
    if (n % 100 === 0) largestWal = Math.max(largestWal, statSync(`${file}-wal`).size);
  }
  expect(largestWal).toBeLessThan(3_000_000);
  expect(writer.prepare('SELECT COUNT(*) AS n FROM entries').get()).toEqual({ n: 6000 });
});

it('leaves a database in memory alone', () => {
  db = new DatabaseSync(':memory:');
  checkpoints = checkpointInBackground(db, ':memory:');
  expect(db.prepare('PRAGMA wal_autocheckpoint').get()).toEqual({ wal_autocheckpoint: 1000 });
});
