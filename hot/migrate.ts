// Versioned schema migrations (node-pg-migrate, SQL files in hot/migrations), run as
// the operator. Start-up refuses an unmigrated database instead of migrating silently.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { runner } from 'node-pg-migrate';
import { APP_ROLE } from './database.ts';

export const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');
const MIGRATIONS_TABLE = 'schema_migrations';

/** Migrations the database lacks: applied, or with dryRun only listed. */
async function runUp(operatorUrl: string, dryRun: boolean): Promise<string[]> {
  const ran = await runner({
    databaseUrl: operatorUrl,
    dir: MIGRATIONS_DIR,
    migrationsTable: MIGRATIONS_TABLE,
    direction: 'up',
    count: Infinity,
    singleTransaction: true,
    dryRun,
    noLock: dryRun,
    log: () => undefined,
  });
  return ran.map((m) => m.name);
}

export async function migrate(operatorUrl: string, appPassword: string): Promise<string[]> {
  const applied = await runUp(operatorUrl, false);
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
  return applied;
}

/** Migration names on disk that the database has not applied yet. */
export function pendingMigrations(operatorUrl: string): Promise<string[]> {
  return runUp(operatorUrl, true);
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
