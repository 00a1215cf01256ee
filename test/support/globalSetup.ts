// Starts (or connects to) the PostgreSQL that integration and e2e tests use and
// builds a migrated template database; each test file clones its own database from it.
// TEST_DATABASE_URL points at an existing server; otherwise an embedded one runs.
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { createLogger } from '../../core/logger.ts';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../embedded/postgres.ts';
import { migrate } from '../../hot/migrate.ts';

export const TEMPLATE_DB = 'tidemark_test_template';
export const APP_PASSWORD = 'tidemark_app';

declare module 'vitest' {
  export interface ProvidedContext {
    adminUrl: string;
  }
}

let embedded: EmbeddedDatabase | null = null;

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) {
    embedded = await startEmbeddedPostgres({
      home: path.resolve('.tidemark'),
      name: 'test-pg',
      port: Number(process.env.TEST_PG_PORT ?? 54331),
      database: 'postgres',
      log: createLogger('warn', 'test-postgres'),
    });
    adminUrl = embedded.url;
  }
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    // Clones need the template to have no other connections; a stale one from an
    // aborted run is replaced.
    await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DB} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${TEMPLATE_DB}`);
  } finally {
    await admin.end();
  }
  await migrate(withDatabase(adminUrl, TEMPLATE_DB), APP_PASSWORD);
  project.provide('adminUrl', adminUrl);
  return async () => {
    await embedded?.stop();
  };
}
