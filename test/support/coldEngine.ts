// The cold engine a test run is configured for: DuckDB over a temporary lake by default,
// Trino over Iceberg when TEST_TRINO_URL is set (`npm run test:stack`). Suites that
// exercise the engine interface open it here, so the same tests run on both engines.
import { ensureHotCatalog, TrinoEngine } from '../../cold/trino.ts';
import { DuckDbEngine } from '../../cold/duckdb.ts';
import type { ColdEngine } from '../../cold/engine.ts';

export const TEST_TRINO_URL = process.env.TEST_TRINO_URL;
export const ENGINE_UNDER_TEST: 'duckdb' | 'trino' = TEST_TRINO_URL ? 'trino' : 'duckdb';
const TRINO_SKIP_REASON =
  'skipped: needs Trino; TEST_TRINO_URL is not set (npm run test:stack sets it; CI runs it)';

/** A Trino-only suite's name, saying why it is skipped when no Trino is configured. */
export const trinoSuite = (name: string): string =>
  TEST_TRINO_URL ? name : `${name} (${TRINO_SKIP_REASON})`;

export interface TestEngine {
  engine: ColdEngine;
  /** Drops what the engine created for this test database. */
  dispose(): Promise<void>;
}

/** Trino's view of one test database: a catalog over it and an Iceberg schema of its own. */
export function trinoNames(dbName: string): { hotCatalog: string; schema: string } {
  return { hotCatalog: `hot_${dbName}`, schema: dbName };
}

/**
 * Opens the run's cold engine for one test database. For Trino, a catalog over that
 * database (tiering reads its partitions through it) and an Iceberg schema named after
 * it. Opening again (a child process of the same test) reuses both.
 */
export async function openTestEngine(
  db: { name: string; url: string },
  lakeDir: string,
): Promise<TestEngine> {
  if (!TEST_TRINO_URL) {
    const engine = await DuckDbEngine.open(lakeDir);
    return { engine, dispose: () => engine.close() };
  }
  const names = trinoNames(db.name);
  const options = { url: TEST_TRINO_URL, user: 'tidemark', catalog: 'iceberg', ...names };
  // The hot catalog must exist before tiering reads through it; the engine's own
  // open() creates only its Iceberg schema and table.
  await ensureHotCatalog(TrinoEngine.connect(options), names.hotCatalog, db.url);
  const engine = await TrinoEngine.open(options);
  return {
    engine,
    async dispose() {
      await engine.rows(`DROP TABLE IF EXISTS iceberg.${names.schema}.observations`);
      await engine.rows(`DROP SCHEMA IF EXISTS iceberg.${names.schema}`);
      await engine.rows(`DROP CATALOG IF EXISTS ${names.hotCatalog}`);
    },
  };
}
