// A fresh, migrated database per test file (cloned from the template), so files run
// in parallel without seeing each other's tenants.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { openDatabases, type Databases } from '../../hot/database.ts';

const TEMPLATE_DB = 'tidemark_test_template';
export const APP_PASSWORD = 'tidemark_app';

export interface TestDatabase {
  url: string;
  name: string;
  dbs: Databases;
  [Symbol.asyncDispose](): Promise<void>;
  drop(): Promise<void>;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: inject('adminUrl') });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `tm_test_${randomBytes(6).toString('hex')}`;
  // CREATE DATABASE ... TEMPLATE fails while another session uses the template; retry.
  for (let attempt = 0; ; attempt++) {
    try {
      await admin((c) => c.query(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE_DB}`));
      break;
    } catch (err) {
      if (attempt > 20) throw err;
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
    }
  }
  const url = withDatabase(inject('adminUrl'), name);
  const dbs = openDatabases({ APP_DATABASE_URL: undefined, APP_DB_PASSWORD: APP_PASSWORD }, url);
  const drop = async (): Promise<void> => {
    await dbs.close();
    await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  };
  return { url, name, dbs, drop, [Symbol.asyncDispose]: drop };
}
