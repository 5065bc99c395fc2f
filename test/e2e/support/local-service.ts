/**
 * The e2e tests' view of the service: start it in-process on a free port and its own data folder (DynamoDB Local on
 * disk, as `npm start` runs it), talk HTTP to it, and check every documented answer against the OpenAPI document.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from '@jest/globals';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Fault } from '../../../local/faults.js';
import { startService, type RunningService } from '../../../local/service.js';
import { OpenApiConformance } from './openapi-conformance.js';
// Its hook synthesizes the stack (for the deployed IAM) before the service's start, which then need not carry it.
import '../../support/iam.js';

/**
 * A start boots DynamoDB Local's JVM: 2-3 s on a quiet machine, 36 s measured beside three CPU-bound processes. A
 * hook that starts or stops services is held to this, not to the test timeout.
 */
export const SERVICE_START_TIMEOUT_MS = 180_000;

export const conformance = new OpenApiConformance();

export const newDataDir = (): Promise<string> => mkdtemp(join(tmpdir(), 'order-intake-e2e-'));
export const removeDataDir = (dataDir: string): Promise<void> => rm(dataDir, { recursive: true, force: true });

/**
 * The service in this process, on its own data folder. `timing: 'short'` (the default) shortens the workflow's Retry
 * waits, as in the workflow tests; `'asl'` keeps the ASL's own, as in AWS, for tests that measure against them.
 */
export interface StartOptions {
  faults?: Fault[];
  timing?: 'short' | 'asl';
  /** Default 0: a free port. */
  port?: number;
}

export async function startLocalService(
  dataDir: string,
  { faults = [], timing = 'short', port = 0 }: StartOptions = {},
): Promise<RunningService> {
  return startService({
    dataDir,
    port,
    faults,
    // LOG_LEVEL=INFO (or DEBUG) shows the service's logs while the tests run.
    logger: new Logger({ serviceName: 'order-intake', ...(process.env.LOG_LEVEL ? {} : { logLevel: 'SILENT' }) }),
    ...(timing === 'short' ? { retryIntervalMs: 0 } : {}),
  });
}

async function stopAndRemove(services: RunningService[], dataDir: string | undefined): Promise<void> {
  try {
    await Promise.all(services.splice(0).map((service) => service.stop()));
  } finally {
    if (dataDir) await removeDataDir(dataDir);
  }
}

const notYet = (what: string): never => {
  throw new Error(`${what} exists only while a test runs`);
};

/**
 * One service for the whole test file, on a fresh data folder: started before its first test, stopped and its folder
 * removed after the last, whether the tests (or the start itself) failed or not.
 */
export function serviceForFile(options: StartOptions = {}): {
  readonly service: RunningService;
  readonly dataDir: string;
} {
  let dataDir: string | undefined;
  const started: RunningService[] = [];
  beforeAll(async () => {
    dataDir = await newDataDir();
    started.push(await startLocalService(dataDir, options));
  }, SERVICE_START_TIMEOUT_MS);
  afterAll(() => stopAndRemove(started, dataDir), SERVICE_START_TIMEOUT_MS);
  return {
    get service() {
      return started[0] ?? notYet('the service');
    },
    get dataDir() {
      return dataDir ?? notYet('the data folder');
    },
  };
}

/**
 * A fresh data folder for each test, and `start` for services on it (a restart is a second start on the same folder):
 * after the test, every service it started is stopped and the folder removed, whether the test failed or not.
 */
export function dataDirForEachTest(): {
  readonly dataDir: string;
  start(options?: StartOptions): Promise<RunningService>;
} {
  let dataDir: string | undefined;
  const started: RunningService[] = [];
  beforeEach(async () => {
    dataDir = await newDataDir();
  });
  afterEach(async () => {
    await stopAndRemove(started, dataDir);
    dataDir = undefined;
  }, SERVICE_START_TIMEOUT_MS);
  return {
    get dataDir() {
      return dataDir ?? notYet('the data folder');
    },
    async start(options) {
      const service = await startLocalService(dataDir ?? notYet('the data folder'), options);
      started.push(service);
      return service;
    },
  };
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown>;
}

/**
 * One HTTP exchange. An answer to a documented operation must conform to the OpenAPI document; any answer must carry
 * API Gateway's x-amzn-RequestId.
 */
export async function call(
  service: Pick<RunningService, 'url'>,
  method: string,
  path: string,
  init: { body?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<HttpAnswer> {
  // Bytes, not a string: for a string body fetch would add a Content-Type of its own.
  const body = typeof init.body === 'string' ? Buffer.from(init.body, 'utf8') : init.body;
  const response = await fetch(`${service.url}${path}`, { method, body, headers: init.headers });
  const text = await response.text();
  const pathname = new URL(path, service.url).pathname;
  // API Gateway's own id is on every answer; ours on every answer of an operation (the document says which).
  expect(response.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
  if (conformance.documents(method, pathname)) {
    expect(
      conformance.violations({
        method,
        path: pathname,
        status: response.status,
        headers: response.headers,
        body: text,
      }),
    ).toEqual([]);
  }
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // Not every answer has to be JSON for the caller to look at its status.
  }
  return { status: response.status, headers: response.headers, text, json };
}

export const postOrder = (
  service: Pick<RunningService, 'url'>,
  body: string | Buffer,
  headers: Record<string, string> = { 'Content-Type': 'application/json' },
) => call(service, 'POST', '/orders', { body, headers });

/** The archive's files, relative to its folder. */
export async function archivedFiles(archiveDir: string): Promise<string[]> {
  const entries = await readdir(archiveDir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(archiveDir.length + 1))
    .sort();
}
