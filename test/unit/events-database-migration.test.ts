/**
 * An event log written before dead letters had a typed origin (schema version 0: `origin` was `rule:<name>` or
 * `stream:<shard>`) is migrated when it is opened, without losing a letter: same ids, same payloads, each origin
 * typed, and the id sequence carried over.
 */
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from '@jest/globals';
import {
  listDeadLetters,
  openEventsDatabase,
  readDeadLetter,
  recordDeadLetter,
  SCHEMA_VERSION,
} from '../../local/eventbridge/events-database.js';
import { folderForEachTest } from '../support/temp-folder.js';

/** The tables as the release before the migration created them (local/eventbridge/events-database.ts then). */
const VERSION_0_SCHEMA = `
  CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE, bus_name TEXT NOT NULL,
    envelope TEXT NOT NULL, published_by TEXT, published_at INTEGER);
  CREATE TABLE delivery_cursors (rule_name TEXT PRIMARY KEY, last_seq INTEGER NOT NULL);
  CREATE TABLE stream_checkpoints (
    stream_arn TEXT NOT NULL, shard_id TEXT NOT NULL, sequence_number TEXT, finished INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (stream_arn, shard_id));
  CREATE TABLE dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT, origin TEXT NOT NULL, reference TEXT NOT NULL, payload TEXT NOT NULL,
    reason TEXT NOT NULL, failed_at TEXT NOT NULL);
`;

const OLD_LETTERS = [
  ['rule:order-accepted-to-archive', 'event-1', '{"id":"event-1"}', 'not delivered after 8 attempts'],
  ['stream:shardId-00000001', '000123', '{"eventID":"r1"}', 'not relayed after 10 attempts'],
  ['rule:webhook-example', 'event-2', '{"id":"event-2"}', 'refused by the target, not retried'],
  ['rule:redriven-since', 'event-3', '{"id":"event-3"}', 'not delivered after 8 attempts'],
] as const;

describe('events database migration', () => {
  const folder = folderForEachTest('events-migration');

  /** A version 0 file holding OLD_LETTERS, the last of them redriven (deleted) since. */
  function writeVersion0(path: string): void {
    const old = new DatabaseSync(path);
    old.exec(VERSION_0_SCHEMA);
    const insert = old.prepare(
      'INSERT INTO dead_letters (origin, reference, payload, reason, failed_at) VALUES (?, ?, ?, ?, ?)',
    );
    for (const [origin, reference, payload, reason] of OLD_LETTERS) {
      insert.run(origin, reference, payload, reason, '2026-12-01T10:00:00.000Z');
    }
    old.prepare('DELETE FROM dead_letters WHERE id = ?').run(OLD_LETTERS.length);
    old.close();
  }

  it('types every letter’s origin, keeping its id, payload and reason', () => {
    const path = join(folder(), 'events.sqlite');
    writeVersion0(path);

    const db = openEventsDatabase(path);
    try {
      expect(listDeadLetters(db).reverse()).toEqual([
        {
          id: 1,
          origin: { kind: 'rule', ruleName: 'order-accepted-to-archive' },
          reference: 'event-1',
          payload: '{"id":"event-1"}',
          reason: 'not delivered after 8 attempts',
          failedAt: '2026-12-01T10:00:00.000Z',
        },
        {
          id: 2,
          origin: { kind: 'stream', shardId: 'shardId-00000001' },
          reference: '000123',
          payload: '{"eventID":"r1"}',
          reason: 'not relayed after 10 attempts',
          failedAt: '2026-12-01T10:00:00.000Z',
        },
        expect.objectContaining({ id: 3, origin: { kind: 'rule', ruleName: 'webhook-example' } }),
      ]);
      expect(db.prepare('PRAGMA user_version').get()?.user_version).toBe(SCHEMA_VERSION);
      // The redriven letter's id (4) is not given again: a console link to it must not show another letter.
      recordDeadLetter(db, { origin: { kind: 'rule', ruleName: 'later' }, reference: 'e', payload: '{}', reason: 'r' });
      expect(listDeadLetters(db)[0]?.id).toBe(OLD_LETTERS.length + 1);
    } finally {
      db.close();
    }
    // Opened again, the migrated file is left as it is.
    const again = openEventsDatabase(path);
    try {
      expect(listDeadLetters(again).map((letter) => letter.id)).toEqual([5, 3, 2, 1]);
      expect(readDeadLetter(again, 2)?.origin).toEqual({ kind: 'stream', shardId: 'shardId-00000001' });
    } finally {
      again.close();
    }
  });

  it('leaves the old file as it was when the migration fails part way, to migrate at the next open', () => {
    const path = join(folder(), 'events.sqlite');
    writeVersion0(path);
    // A name the migration needs is taken: its rename fails after the columns of `events` were checked.
    const blocker = new DatabaseSync(path);
    blocker.exec('CREATE TABLE dead_letters_v1 (x)');
    blocker.close();

    expect(() => openEventsDatabase(path)).toThrow(/dead_letters_v1/);
    const untouched = new DatabaseSync(path, { readOnly: true });
    try {
      expect(
        untouched
          .prepare('SELECT origin FROM dead_letters ORDER BY id')
          .all()
          .map((row) => row.origin),
      ).toEqual(OLD_LETTERS.slice(0, -1).map(([origin]) => origin));
      expect(untouched.prepare('PRAGMA user_version').get()?.user_version).toBe(0);
    } finally {
      untouched.close();
    }

    const fixed = new DatabaseSync(path);
    fixed.exec('DROP TABLE dead_letters_v1');
    fixed.close();
    const db = openEventsDatabase(path);
    try {
      expect(listDeadLetters(db)).toHaveLength(OLD_LETTERS.length - 1);
    } finally {
      db.close();
    }
  });
});
