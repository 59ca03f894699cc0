/** Jest projects: one per kind of test. Services for integration/e2e start once per run. */
const transform = { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] };
// The transform cache in the project (git-ignored), not below TMPDIR: the test scripts point TMPDIR at a
// scratch directory that a passing run removes (scripts/lib/scratch.sh).
const cacheDirectory = '<rootDir>/.cache/jest';
const base = { testEnvironment: 'node', transform, cacheDirectory, modulePathIgnorePatterns: ['<rootDir>/dist', '<rootDir>/.cache'] };
module.exports = {
  projects: [
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...base,
      displayName: 'workflows',
      testMatch: ['<rootDir>/test/workflows/**/*.test.ts', '<rootDir>/test/replay/**/*.test.ts'],
      // Re-recording the committed histories is a deliberate act: RECORD_HISTORIES=1 npm run test:workflows
      testPathIgnorePatterns: process.env.RECORD_HISTORIES === '1' ? ['/node_modules/'] : ['/node_modules/', '/test/replay/record-histories.test.ts'],
    },
    { ...base, displayName: 'conformance', testMatch: ['<rootDir>/test/conformance/**/*.test.ts'] },
    {
      ...base,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts', '<rootDir>/test/e2e/**/*.test.ts'],
      globalSetup: '<rootDir>/test/helpers/global-setup.ts',
      globalTeardown: '<rootDir>/test/helpers/global-teardown.ts',
    },
    // A real Temporal cluster (PostgreSQL, two server nodes): `npm run test:cluster`, which builds it first.
    { ...base, displayName: 'cluster', testMatch: ['<rootDir>/test/cluster/**/*.test.ts'] },
    // The Web UI in Chromium against the system as `npm run up` starts it: `npm run test:browser`.
    { ...base, displayName: 'browser', testMatch: ['<rootDir>/test/browser/**/*.test.ts'] },
  ],
};
