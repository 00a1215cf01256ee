import { defineConfig } from 'vitest/config';

const database = {
  globalSetup: ['test/support/globalSetup.ts'],
  testTimeout: 60_000,
  hookTimeout: 120_000,
};

export default defineConfig({
  // One graphql module instance: ESM and CJS copies would fail instanceof checks
  // between type-graphql, Apollo and our scalars (the dual-package hazard).
  resolve: { alias: { graphql: 'graphql/index.js' } },
  test: {
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        extends: true,
        test: { name: 'integration', include: ['test/integration/**/*.test.ts'], ...database },
      },
      { extends: true, test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], ...database } },
    ],
  },
});
