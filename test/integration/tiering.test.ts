import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.ts';
import type { ColdEngine, ColdFile } from '../../cold/engine.ts';
import { defineAttributes } from '../../hot/admin.ts';
import { listPartitions, addUtcDays, utcDay } from '../../hot/partitions.ts';
import { runTierPass, type TierPassDeps, type TierStep } from '../../tiering/tierPass.ts';
import { createTenantDataset, insertRows, type Dataset } from '../support/fixtures.ts';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.ts';
import { ENGINE_UNDER_TEST, openTestEngine } from '../support/coldEngine.ts';

const NOW = Date.parse('2026-11-20T12:00:00Z');
const DAY = 86_400_000;

interface Fixture {
  db: TestDatabase;
  engine: ColdEngine;
  lake: string;
  deps: TierPassDeps;
  datasets: Dataset[];
  close(): Promise<void>;
}

async function setUp(seed: number): Promise<Fixture> {
  const db = await createTestDatabase();
  const lake = await mkdtemp(path.join(os.tmpdir(), 'tm-lake-'));
  const { engine, dispose } = await openTestEngine(db, lake);
  const deps = {
    pool: db.dbs.operator,
    engine,
    workDir: path.join(lake, '..', path.basename(lake) + '-work'),
    log: createLogger('silent'),
  };
  const datasets = [
    await createTenantDataset(db.dbs.operator, {
      tenantId: 'ny',
      timeZone: 'America/New_York',
      entities: 3,
      days: 12,
      rowsPerDay: 40,
      nowMs: NOW,
      seed,
    }),
    await createTenantDataset(db.dbs.operator, {
      tenantId: 'kol',
      timeZone: 'Asia/Kolkata',
      hotDays: 9,
      entities: 2,
      days: 12,
      rowsPerDay: 30,
      nowMs: NOW,
      seed: seed + 1,
    }),
  ];
  return {
    db,
    engine,
    lake,
    deps,
    datasets,
    async close() {
      await dispose();
      await db.drop();
      await rm(lake, { recursive: true, force: true });
    },
  };
}

/** Rows per tenant in each tier, read from the data itself, not from bookkeeping. */
async function census(f: Fixture, tenantId: string) {
  const pool = f.db.dbs.operator;
  const hot = await pool.query<{ n: number; ts: string }>(
    `SELECT count(*) AS n, coalesce(sum(extract(epoch FROM ts)), 0)::text AS ts FROM observations WHERE tenant_id = $1`,
    [tenantId],
  );
  const files = await pool.query<{ path: string }>(
    `SELECT path FROM cold_files WHERE tenant_id = $1`,
    [tenantId],
  );
  let cold = 0;
  for (const { path: p } of files.rows) cold += (await f.engine.fingerprint(p, tenantId)).rowCount;
  const ref = await pool.query<{ n: number }>(
    `SELECT count(*) AS n FROM reference_observations WHERE tenant_id = $1`,
    [tenantId],
  );
  return { hot: hot.rows[0]!.n, cold, total: hot.rows[0]!.n + cold, reference: ref.rows[0]!.n };
}

async function orphanFiles(f: Fixture): Promise<string[]> {
  const { rows } = await f.db.dbs.operator.query<{ path: string }>(`SELECT path FROM cold_files`);
  const committed = new Set(rows.map((r) => r.path));
  return (await f.engine.listFiles()).filter((p) => !committed.has(p));
}

async function expectEveryRowOnce(f: Fixture): Promise<void> {
  for (const d of f.datasets) {
    const c = await census(f, d.tenantId);
    expect(c.total, `rows of ${d.tenantId} across tiers (hot ${c.hot} + cold ${c.cold})`).toBe(
      c.reference,
    );
  }
}

describe(`tiering pass (${ENGINE_UNDER_TEST})`, () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await setUp(11);
  });
  afterAll(async () => f.close());

  it('moves every partition older than the shortest hot window and counts every row once', async () => {
    const result = await runTierPass(f.deps, { nowMs: NOW });
    expect(result.status).toBe('done');
    const cutoff = addUtcDays(utcDay(NOW), -7);
    const remaining = await listPartitions(f.db.dbs.operator);
    expect(remaining.length).toBeGreaterThan(0);
    expect(remaining.every((p) => p.day >= cutoff)).toBe(true);
    const { rows } = await f.db.dbs.operator.query<{ cold_before: Date }>(
      'SELECT cold_before FROM tier_watermark',
    );
    expect(rows[0]!.cold_before.toISOString()).toBe(`${cutoff}T00:00:00.000Z`);
    // The tenant with a 9-day window has rows older than 7 days in cold too: they are
    // served from cold, transparently.
    expect((await census(f, 'kol')).cold).toBeGreaterThan(0);
    await expectEveryRowOnce(f);
    expect(await orphanFiles(f)).toEqual([]);
  });

  it('stores a late row for a tiered day and moves it on the next pass', async () => {
    const ny = f.datasets[0]!;
    const lateTs = NOW - 10 * DAY + 1234_000;
    await insertRows(f.db.dbs.operator, ny, [
      {
        tenantId: 'ny',
        attributeKey: ny.attributeKey,
        entityKey: ny.entityKeys.get('e-000')!,
        tsMs: lateTs,
        value: 42,
      },
    ]);
    const inDefault = await f.db.dbs.operator.query(
      `SELECT 1 FROM observations_default WHERE ts = $1`,
      [new Date(lateTs)],
    );
    expect(inDefault.rowCount).toBe(1);
    await expectEveryRowOnce(f);
    const result = await runTierPass(f.deps, { nowMs: NOW });
    expect(result.status === 'done' && result.days.filter((d) => d.source === 'late')).toEqual([
      { day: utcDay(lateTs), source: 'late', rows: 1, files: 1 },
    ]);
    const left = await f.db.dbs.operator.query(`SELECT 1 FROM observations_default`);
    expect(left.rowCount).toBe(0);
    await expectEveryRowOnce(f);
  });

  it('lets a second pass exit at once while one holds the lock', async () => {
    const holder = await f.db.dbs.operator.connect();
    try {
      await holder.query(`SELECT pg_advisory_lock(hashtext('tidemark.tiering'))`);
      expect(await runTierPass(f.deps, { nowMs: NOW })).toEqual({ status: 'locked' });
    } finally {
      await holder.query(`SELECT pg_advisory_unlock(hashtext('tidemark.tiering'))`);
      holder.release();
    }
  });
});

describe(`tiering after a fault at a step boundary (${ENGINE_UNDER_TEST})`, () => {
  const steps: TierStep[] = ['frozen', 'written', 'verified', 'committed'];

  it.each(steps)(
    'an error thrown at "%s" followed by a rerun leaves every row counted once',
    async (step) => {
      const f = await setUp(100 + steps.indexOf(step));
      try {
        let hits = 0;
        await expect(
          runTierPass(f.deps, {
            nowMs: NOW,
            onStep: (s) => {
              if (s === step && ++hits === 2) throw new Error(`injected fault at ${step}`);
            },
          }),
        ).rejects.toThrow(`injected fault at ${step}`);
        await expectEveryRowOnce(f);
        const rerun = await runTierPass(f.deps, { nowMs: NOW });
        expect(rerun.status).toBe('done');
        await expectEveryRowOnce(f);
        expect(await orphanFiles(f)).toEqual([]);
        const { rows } = await f.db.dbs.operator.query(
          `SELECT outcome FROM tier_passes ORDER BY id`,
        );
        expect(rows.map((r) => r.outcome)).toEqual(['failed', 'succeeded']);
      } finally {
        await f.close();
      }
    },
  );

  it.each(['written', 'verified'] as TierStep[])(
    'a kill -9 at "%s" followed by a rerun leaves every row counted once and no orphan visible',
    async (step) => {
      const f = await setUp(200 + steps.indexOf(step));
      try {
        const code = await new Promise<number | null>((resolve, reject) => {
          const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/tierChild.ts'], {
            env: {
              ...process.env,
              TM_DB_URL: f.db.url,
              TM_DB_NAME: f.db.name,
              TM_LAKE: f.lake,
              TM_WORK: `${f.lake}-work`,
              TM_KILL_AT: step,
              TM_NOW: String(NOW),
            },
            stdio: ['ignore', 'pipe', 'inherit'],
          });
          child.on('error', reject);
          child.on('exit', (c, signal) => resolve(signal === 'SIGKILL' ? -9 : c));
        });
        expect(code).toBe(-9);
        await expectEveryRowOnce(f);
        const rerun = await runTierPass(f.deps, { nowMs: NOW });
        expect(rerun.status === 'done' && rerun.orphansRemoved).toBeGreaterThan(0);
        await expectEveryRowOnce(f);
        expect(await orphanFiles(f)).toEqual([]);
      } finally {
        await f.close();
      }
    },
  );
});

describe(`tiering string values (${ENGINE_UNDER_TEST})`, () => {
  it('keeps every string byte for byte through the move, empty strings and CSV specials included', async () => {
    const f = await setUp(31);
    try {
      const ny = f.datasets[0]!;
      const pool = f.db.dbs.operator;
      const attributeKey = (
        await defineAttributes(pool, 'ny', [{ name: 'note', type: 'string' }])
      ).get('note')!;
      const values = [
        'plain',
        'a,b',
        'say "hi"',
        'two\nlines',
        'cr\r\nlf',
        'tab\there',
        '',
        ' ',
        '\\N',
        'NULL',
        'ünïcødé ✓',
      ];
      ny.attributes.set('note', attributeKey);
      const entityKey = ny.entityKeys.get('e-000')!;
      const dayStart = Date.parse(`${addUtcDays(utcDay(NOW), -10)}T00:00:00Z`);
      await insertRows(
        pool,
        ny,
        values.map((value, i) => ({
          tenantId: 'ny',
          attributeKey,
          entityKey,
          tsMs: dayStart + i * 60_000,
          value,
        })),
      );
      expect((await runTierPass(f.deps, { nowMs: NOW })).status).toBe('done');
      const { rows: files } = await pool.query<ColdFile>(
        `SELECT tenant_id AS "tenantId", to_char(day, 'YYYY-MM-DD') AS day, path, row_count AS "rowCount"
           FROM cold_files WHERE tenant_id = 'ny'`,
      );
      const counts = await f.engine.valueCounts(files, {
        tenantId: 'ny',
        attributeKey,
        entityKeys: [entityKey],
        fromMs: dayStart,
        toMs: dayStart + DAY,
      });
      expect(counts.map((c) => [c.value, c.count]).sort()).toEqual(
        values.map((v) => [v, 1]).sort(),
      );
    } finally {
      await f.close();
    }
  });
});
