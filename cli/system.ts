// Opens what every command needs: the database (embedded unless DATABASE_URL is set),
// the two connection pools and the cold engine (DuckDB unless TRINO_URL is set).
import path from 'node:path';
import type { Config } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import type { ColdEngine } from '../cold/engine.ts';
import { DuckDbEngine } from '../cold/duckdb.ts';
import { TrinoEngine } from '../cold/trino.ts';
import { openDatabases, type Databases } from '../hot/database.ts';
import { assertMigrated, migrate } from '../hot/migrate.ts';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../embedded/postgres.ts';
import type { TierPassDeps } from '../tiering/tierPass.ts';

export interface System {
  config: Config;
  log: Logger;
  dbs: Databases;
  engine: ColdEngine;
  embedded: EmbeddedDatabase | null;
  tierDeps: TierPassDeps;
  close(): Promise<void>;
}

export async function operatorUrl(
  config: Config,
  log: Logger,
): Promise<{ url: string; embedded: EmbeddedDatabase | null }> {
  if (config.DATABASE_URL) return { url: config.DATABASE_URL, embedded: null };
  const embedded = await startEmbeddedPostgres({
    home: config.home,
    port: config.EMBEDDED_PG_PORT,
    log,
  });
  log.info(
    { port: config.EMBEDDED_PG_PORT, dataDir: embedded.dataDir },
    'embedded PostgreSQL running',
  );
  return { url: embedded.url, embedded };
}

export async function openColdEngine(config: Config): Promise<ColdEngine> {
  if (config.TRINO_URL) {
    return TrinoEngine.open({
      url: config.TRINO_URL,
      user: config.TRINO_USER,
      catalog: config.TRINO_CATALOG,
      schema: config.TRINO_SCHEMA,
      hotCatalog: config.TRINO_HOT_CATALOG,
    });
  }
  return DuckDbEngine.open(config.lakeDir);
}

/**
 * `migrations: 'apply'` migrates (the embedded database is ours to migrate);
 * `'require'` refuses to run against an unmigrated database.
 */
export async function openSystem(
  config: Config,
  log: Logger,
  migrations: 'apply' | 'require',
): Promise<System> {
  const { url, embedded } = await operatorUrl(config, log);
  try {
    if (migrations === 'apply') {
      const applied = await migrate(url, config.APP_DB_PASSWORD);
      if (applied.length > 0) log.info({ applied }, 'migrations applied');
    } else {
      await assertMigrated(url);
    }
    const dbs = openDatabases(config, url);
    const engine = await openColdEngine(config);
    const tierDeps: TierPassDeps = {
      pool: dbs.operator,
      engine,
      workDir: path.join(config.home, 'tiering'),
      log,
    };
    return {
      config,
      log,
      dbs,
      engine,
      embedded,
      tierDeps,
      async close() {
        await engine.close();
        await dbs.close();
        await embedded?.stop();
      },
    };
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
}
