// bench:tiering — (1) tiering throughput for one day of 5M observations and the cold
// size against PostgreSQL's heap + index size for the same rows; (2) the same daily
// avg/min/max/count over 30 days for one tenant on the cold engine and on a PostgreSQL
// copy of the same rows, side by side in one run. Runs on DuckDB, and on Trino too when
// BENCH_TRINO_URL is set (`npm run stack up` first): the same generated rows, one run.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createLogger } from '../core/logger.ts';
import { DuckDbEngine } from '../cold/duckdb.ts';
import type { ColdEngine, ColdFile } from '../cold/engine.ts';
import { TrinoEngine } from '../cold/trino.ts';
import { bucketKind, offsetTimeline } from '../core/buckets.ts';
import { addTenant, defineAttributes, upsertEntities } from '../hot/admin.ts';
import { copyObservations, type ObservationRow } from '../hot/copyObservations.ts';
import { PartitionManager, addUtcDays, partitionName, utcDay } from '../hot/partitions.ts';
import { runTierPass } from '../tiering/tierPass.ts';
import {
  commit,
  freshTrinoTarget,
  machine,
  openBenchServer,
  table,
  writeSection,
  type BenchServer,
} from './support.ts';

const BIG_DAY_ROWS = Number(process.env.BENCH_BIG_DAY_ROWS ?? 5_000_000);
const DAYS = Number(process.env.BENCH_DAYS ?? 30);
const ROWS_PER_DAY = Number(process.env.BENCH_ROWS_PER_DAY ?? 200_000);
const ENTITIES = 1_000;
const REPEATS = 5;
const TRINO_URL = process.env.BENCH_TRINO_URL;
const DAY = 86_400_000;
/** `debug` shows where each tenant-day's copy spends its time. */
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'warn';

function* dayRows(
  day: string,
  rows: number,
  attributeKey: number,
  keys: number[],
): Generator<ObservationRow> {
  const start = Date.parse(`${day}T00:00:00Z`);
  const perEntity = Math.ceil(rows / ENTITIES);
  const step = Math.floor(DAY / perEntity);
  let n = 0;
  for (let j = 0; j < perEntity && n < rows; j++) {
    for (let e = 0; e < ENTITIES && n < rows; e++, n++) {
      yield {
        tenantId: 'big',
        attributeKey,
        entityKey: keys[e]!,
        tsMs: start + j * step + e,
        value: Math.round(Math.sin(n) * 1e5) / 100,
      };
    }
  }
}

async function load(pool: pg.Pool, rows: Iterable<ObservationRow>): Promise<void> {
  const client = await pool.connect();
  try {
    await copyObservations(client, rows);
  } finally {
    client.release();
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface EngineRun {
  engine: string;
  bigSeconds: number;
  bigMoved: number;
  hotBytes: number;
  hotHeap: number;
  coldBytes: number;
  monthSeconds: number;
  monthMoved: number;
  pgMs: number;
  coldMs: number;
}

async function openEngine(kind: 'duckdb' | 'trino', dbUrl: string, lake: string) {
  if (kind === 'duckdb') return DuckDbEngine.open(lake);
  return TrinoEngine.open(await freshTrinoTarget(TRINO_URL!, 'bench_tiering', dbUrl));
}

/** The whole benchmark on one engine, over a fresh database and the same generated rows. */
async function runOn(server: BenchServer, kind: 'duckdb' | 'trino'): Promise<EngineRun> {
  const dbUrl = await server.createDatabase(`tidemark_bench_tiering_${kind}`);
  const lake = await mkdtemp(path.join(os.tmpdir(), 'tm-bench-lake-'));
  const pool = new pg.Pool({ connectionString: dbUrl, max: 4 });
  const engine: ColdEngine = await openEngine(kind, dbUrl, lake);
  const deps = { pool, engine, workDir: `${lake}-work`, log: createLogger(LOG_LEVEL) };
  try {
    const today = utcDay(Date.now());
    const bigDay = addUtcDays(today, -(DAYS + 20));
    await addTenant(pool, { id: 'big', timeZone: 'UTC', hotDays: 7 });
    const attributeKey = (await defineAttributes(pool, 'big', [{ name: 'v', type: 'number' }])).get(
      'v',
    )!;
    const keyMap = await upsertEntities(
      pool,
      'big',
      Array.from({ length: ENTITIES }, (_, i) => ({ id: `dev-${i}`, kind: 'device' })),
    );
    const keys = [...keyMap.values()];

    // (1) One big day, alone in the hot tier, then one pass.
    const bigNow = Date.parse(`${addUtcDays(bigDay, 8)}T01:00:00Z`);
    await new PartitionManager(pool).ensure(bigDay, bigNow);
    console.error(`[${kind}] loading ${BIG_DAY_ROWS} rows into ${bigDay}`);
    await load(pool, dayRows(bigDay, BIG_DAY_ROWS, attributeKey, keys));
    await pool.query(`VACUUM ANALYZE ${partitionName(bigDay)}`);
    const { rows: hot } = await pool.query<{ heap: number; total: number }>(
      `SELECT pg_table_size($1::regclass) AS heap, pg_total_relation_size($1::regclass) AS total`,
      [partitionName(bigDay)],
    );
    let t0 = performance.now();
    const big = await runTierPass(deps, { nowMs: bigNow });
    const bigSeconds = (performance.now() - t0) / 1000;
    if (big.status !== 'done') throw new Error('pass was locked');
    const bigMoved = big.days.filter((d) => d.day === bigDay).reduce((n, d) => n + d.rows, 0);
    if (bigMoved !== BIG_DAY_ROWS) throw new Error(`moved ${bigMoved} of ${BIG_DAY_ROWS}`);
    const { rows: cold } = await pool.query<{ bytes: number }>(
      `SELECT sum(bytes) AS bytes FROM cold_files WHERE day = $1`,
      [bigDay],
    );
    console.error(`[${kind}] tiered ${bigMoved} rows in ${bigSeconds.toFixed(1)} s`);

    // (2) 30 days, also kept in a plain PostgreSQL table for the comparison.
    const firstDay = addUtcDays(today, -(DAYS + 8));
    const lastNow = Date.parse(`${addUtcDays(firstDay, DAYS + 7)}T01:00:00Z`);
    await new PartitionManager(pool).ensure(firstDay, lastNow);
    await pool.query(`CREATE TABLE pg_copy (LIKE observations INCLUDING ALL)`);
    for (let d = 0; d < DAYS; d++) {
      await load(pool, dayRows(addUtcDays(firstDay, d), ROWS_PER_DAY, attributeKey, keys));
    }
    await pool.query(`INSERT INTO pg_copy SELECT * FROM observations WHERE ts >= $1`, [
      `${firstDay}T00:00:00Z`,
    ]);
    await pool.query('VACUUM ANALYZE pg_copy');
    t0 = performance.now();
    const month = await runTierPass(deps, { nowMs: lastNow });
    const monthSeconds = (performance.now() - t0) / 1000;
    const monthMoved = month.status === 'done' ? month.days.reduce((n, d) => n + d.rows, 0) : 0;

    // Per entity and UTC day, as a dashboard of every entity's daily series asks:
    // PostgreSQL by hand-written SQL; the cold side through tidemark's own engine call.
    const pgSql = `SELECT entity_key, date_trunc('day', ts AT TIME ZONE 'UTC') AS day, avg(num), min(num), max(num), count(*)
                     FROM pg_copy WHERE tenant_id = 'big' AND attribute_key = $1 AND ts >= $2 AND ts < $3 GROUP BY 1, 2`;
    const { rows: files } = await pool.query<ColdFile>(
      `SELECT tenant_id AS "tenantId", to_char(day, 'YYYY-MM-DD') AS day, path, row_count AS "rowCount"
         FROM cold_files WHERE tenant_id = 'big' AND day >= $1 AND day < $2`,
      [firstDay, addUtcDays(firstDay, DAYS)],
    );
    const fromMs = Date.parse(`${firstDay}T00:00:00Z`);
    const toMs = Date.parse(`${addUtcDays(firstDay, DAYS)}T00:00:00Z`);
    const query = {
      tenantId: 'big',
      attributeKey,
      entityKeys: keys,
      fromMs,
      toMs,
      bucket: bucketKind('DAY'),
      timeZone: 'UTC',
      offsets: offsetTimeline('UTC', fromMs, toMs),
    };
    const pgTimes: number[] = [];
    const coldTimes: number[] = [];
    let pgGroups = 0;
    let coldGroups = 0;
    for (let i = 0; i < REPEATS; i++) {
      t0 = performance.now();
      pgGroups =
        (await pool.query(pgSql, [attributeKey, new Date(fromMs), new Date(toMs)])).rowCount ?? 0;
      pgTimes.push(performance.now() - t0);
      t0 = performance.now();
      coldGroups = (await engine.seriesPartials(files, query)).length;
      coldTimes.push(performance.now() - t0);
    }
    if (pgGroups !== DAYS * ENTITIES || coldGroups !== DAYS * ENTITIES) {
      throw new Error(`groups: pg ${pgGroups}, ${kind} ${coldGroups}, expected ${DAYS * ENTITIES}`);
    }
    return {
      engine: kind,
      bigSeconds,
      bigMoved,
      hotBytes: hot[0]!.total,
      hotHeap: hot[0]!.heap,
      coldBytes: cold[0]!.bytes,
      monthSeconds,
      monthMoved,
      pgMs: median(pgTimes),
      coldMs: median(coldTimes),
    };
  } finally {
    await engine.close();
    await pool.end();
    await rm(lake, { recursive: true, force: true });
    await rm(`${lake}-work`, { recursive: true, force: true });
  }
}

const MIB = 2 ** 20;
const rate = (rows: number, seconds: number): string =>
  `${seconds.toFixed(1)} s = ${Math.round(rows / seconds).toLocaleString('en-US')} rows/s`;

async function main(): Promise<void> {
  const server = await openBenchServer();
  try {
    const runs: EngineRun[] = [await runOn(server, 'duckdb')];
    if (TRINO_URL) runs.push(await runOn(server, 'trino'));
    const label = (r: EngineRun): string =>
      r.engine === 'duckdb' ? 'DuckDB over zstd Parquet' : 'Trino 476 over Iceberg (S3Proxy)';
    const row = (measure: string, cell: (r: EngineRun) => string): string[] => [
      measure,
      ...runs.map(cell),
    ];
    const report = [
      `${new Date().toISOString().slice(0, 10)} · commit ${commit()} · ${machine()} · ${server.server}`,
      '',
      table(
        ['measure', ...runs.map(label)],
        [
          row(
            `tiering one day of ${BIG_DAY_ROWS.toLocaleString('en-US')} rows (freeze, copy out, write, verify, commit)`,
            (r) => rate(r.bigMoved, r.bigSeconds),
          ),
          row(`tiering ${DAYS} days of ${ROWS_PER_DAY.toLocaleString('en-US')} rows`, (r) =>
            rate(r.monthMoved, r.monthSeconds),
          ),
          row(
            'PostgreSQL heap + indexes for the big day',
            (r) =>
              `${(r.hotBytes / MIB).toFixed(1)} MiB (heap ${(r.hotHeap / MIB).toFixed(1)} MiB)`,
          ),
          row(
            'cold bytes for the same rows',
            (r) =>
              `${(r.coldBytes / MIB).toFixed(1)} MiB = ${(r.coldBytes / r.hotBytes).toFixed(3)}× hot`,
          ),
          row(
            `daily avg/min/max/count per entity over ${DAYS} days (${(DAYS * ROWS_PER_DAY).toLocaleString('en-US')} rows, ${(DAYS * ENTITIES).toLocaleString('en-US')} groups), hand-written SQL on a PostgreSQL copy, median of ${REPEATS}`,
            (r) => `${r.pgMs.toFixed(0)} ms`,
          ),
          row(
            `the same through tidemark's cold engine over the tiered rows, median of ${REPEATS}`,
            (r) =>
              `${r.coldMs.toFixed(0)} ms = ${(r.pgMs / r.coldMs).toFixed(1)}× PostgreSQL's speed`,
          ),
        ],
      ),
      '',
      'Targets (issue 4): ≥ 500,000 rows/s moved; cold bytes ≤ 0.2× hot bytes; cold aggregate ≥ 5× faster than PostgreSQL.',
      TRINO_URL
        ? 'Trino runs single-node on the same 2 cores (scripts/stack.sh, 4 GiB heap), reading the hot partition over JDBC and writing Iceberg to S3Proxy on loopback.'
        : 'Trino column: run with BENCH_TRINO_URL (e.g. after `npm run stack up`).',
    ].join('\n');
    console.log(report);
    await writeSection('Tiering and cold aggregates (`npm run bench:tiering`)', report);
  } finally {
    await server.close();
  }
}

await main();
