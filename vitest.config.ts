import { defineConfig } from 'vitest/config';

// One graphql module instance: ESM and CJS copies would fail instanceof checks
// between type-graphql, Apollo and our scalars (the dual-package hazard).
const resolve = { alias: { graphql: 'graphql/index.js' } };
// Under `npm run test:stack` every tenant-day tiered is a Trino INSERT into Iceberg
// (about half a second each), so set-up hooks that tier months of data take minutes.
const onTrino = !!process.env.TEST_TRINO_URL;
const timeouts = {
  testTimeout: onTrino ? 300_000 : 60_000,
  hookTimeout: onTrino ? 900_000 : 120_000,
};

export default defineConfig({
  test: {
    // Runs once for the whole run: one PostgreSQL (embedded unless
    // TEST_DATABASE_URL is set) and a migrated template database.
    globalSetup: ['test/support/globalSetup.ts'],
    projects: [
      { resolve, test: { name: 'unit', include: ['test/unit/**/*.test.ts'], ...timeouts } },
      {
        resolve,
        test: { name: 'integration', include: ['test/integration/**/*.test.ts'], ...timeouts },
      },
      { resolve, test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], ...timeouts } },
    ],
  },
});
