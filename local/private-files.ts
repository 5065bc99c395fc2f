/**
 * The data folder holds every order, the recorded HTTP exchanges (headers and bodies) and DynamoDB Local's database,
 * so what the service creates in it is its user's alone: folders 0700, files 0600, whatever the umask. SQLite gives
 * a database's -wal and -shm files the database file's own mode, so creating the database file first is enough.
 */
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';

export const PRIVATE_FOLDER_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** Creates the folder and any missing parent as 0700 (existing ones keep their mode). */
export function makePrivateFolder(path: string): void {
  mkdirSync(path, { recursive: true, mode: PRIVATE_FOLDER_MODE });
}

/**
 * The data folder itself is made 0700 even when it exists already (one of an earlier version, created 0755): what
 * it holds is then out of other users' reach, whatever the modes inside.
 */
export function makePrivateDataFolder(path: string): void {
  makePrivateFolder(path);
  chmodSync(path, PRIVATE_FOLDER_MODE);
}

/** Creates the file (and its folder) as 0600 unless it exists; its content is left as it is. */
export function createPrivateFile(path: string, folder: string): void {
  makePrivateFolder(folder);
  closeSync(openSync(path, 'a', PRIVATE_FILE_MODE));
}
