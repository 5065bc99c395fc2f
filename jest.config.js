// Jest runs in native ESM mode (NODE_OPTIONS=--experimental-vm-modules, set by `npm test`), because several
// dependencies (canonicalize, ulid, aws-local-stepfunctions) are import-only packages.
const base = {
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true }] },
  setupFilesAfterEnv: ['<rootDir>/test/support/setup.ts'],
  // The stack is synthesized once per run (and kept by content), not by each test file or service that reads it.
  globalSetup: '<rootDir>/test/support/keep-synthesis.ts',
};

/** @type {import('jest').Config} */
export default {
  testTimeout: 30_000,
  projects: [
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    // The one project that shares a DynamoDB Local (a JVM): Jest runs a project's global setup only when one of its
    // tests runs, so the other projects run without Java. e2e and chaos start their own, one per service.
    {
      ...base,
      displayName: 'workflow',
      testMatch: ['<rootDir>/test/workflow/**/*.test.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
    { ...base, displayName: 'infra', testMatch: ['<rootDir>/test/infra/**/*.test.ts'] },
    { ...base, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'] },
    // Long crash, fault and hostile-input runs: `npm run test:chaos`, which CI runs after `npm test`.
    { ...base, displayName: 'chaos', testMatch: ['<rootDir>/test/chaos/**/*.chaos.test.ts'] },
    // The ops console in a real browser (Debian's chromium, driven by playwright-core): `npm run test:browser`, which
    // CI runs after `npm test`.
    { ...base, displayName: 'browser', testMatch: ['<rootDir>/test/browser/**/*.browser.test.ts'] },
  ],
};
