// Versioned schema migrations (node-pg-migrate, SQL files in hot/migrations), run as
// the operator. Start-up refuses an unmigrated database instead of migrating silently.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { runner } from 'node-pg-migrate';
import { APP_ROLE } from './database.ts';

export const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');
const MIGRATIONS_TABLE = 'schema_migrations';

export async function migrate(operatorUrl: string, appPassword: string): Promise<string[]> {
  const applied = await runner({
    databaseUrl: operatorUrl,
    dir: MIGRATIONS_DIR,
    migrationsTable: MIGRATIONS_TABLE,
    direction: 'up',
    count: Infinity,
    singleTransaction: true,
    log: () => undefined,
  });
  const client = new pg.Client({ connectionString: operatorUrl });
  await client.connect();
  try {
    // Credentials are deployment configuration, not schema: set them on every migrate.
    await client.query(
      `ALTER ROLE ${APP_ROLE} LOGIN PASSWORD ${client.escapeLiteral(appPassword)}`,
    );
  } finally {
    await client.end();
  }
  return applied.map((m) => m.name);
}

/** Migration names on disk that the database has not applied yet. */
export async function pendingMigrations(operatorUrl: string): Promise<string[]> {
  const applied = await runner({
    databaseUrl: operatorUrl,
    dir: MIGRATIONS_DIR,
    migrationsTable: MIGRATIONS_TABLE,
    direction: 'up',
    count: Infinity,
    dryRun: true,
    noLock: true,
    log: () => undefined,
  });
  return applied.map((m) => m.name);
}

export class UnmigratedDatabaseError extends Error {
  constructor(pending: string[]) {
    super(
      `the database is not migrated (${pending.length} pending: ${pending.join(', ')}); ` +
        'run `npx tidemark migrate` first',
    );
    this.name = 'UnmigratedDatabaseError';
  }
}

export async function assertMigrated(operatorUrl: string): Promise<void> {
  const pending = await pendingMigrations(operatorUrl);
  if (pending.length > 0) throw new UnmigratedDatabaseError(pending);
}
