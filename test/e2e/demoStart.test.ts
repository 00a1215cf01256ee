// What `npm start` does on a fresh machine, minus the servers' fixed ports: seed the
// demo, run the start-up upkeep, and the older days are in Parquet, the hot tables
// hold only the hot window, and tierStatus says so.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_DAYS, DEMO_TENANTS, NUMERIC_STEP_MS, seedDemo } from '../../embedded/demoSeed.ts';
import { addUtcDays, listPartitions, utcDay } from '../../hot/partitions.ts';
import { runUpkeep } from '../../tiering/scheduler.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.ts';

const NOW = Date.now();

interface Status {
  tierStatus: {
    watermark: string;
    hot: { days: number; firstDay: string; rows: number; bytes: number };
    warm: { days: number; firstDay: string; lastDay: string; rows: number; bytes: number };
    cold: { days: number; firstDay: string; lastDay: string; rows: number; bytes: number };
    lastPass: { outcome: string; durationMs: number; daysMoved: number };
  };
}

describe('a fresh embedded start', () => {
  let db: TestDatabase;
  let stack: Stack;

  beforeAll(async () => {
    db = await createTestDatabase();
    stack = await startStack(db);
    expect(await seedDemo(db.dbs.operator, NOW)).toBeGreaterThan(100_000);
    const pass = await runUpkeep(stack.tierDeps, NOW);
    expect(pass.status).toBe('done');
  }, 180_000);
  afterAll(async () => {
    await stack?.close();
    await db?.drop();
  });

  it('keeps only the hot window in PostgreSQL and every older day in Parquet', async () => {
    const cutoff = addUtcDays(utcDay(NOW), -7);
    const partitions = await listPartitions(db.dbs.operator);
    expect(partitions[0]!.day).toBe(cutoff);
    const { rows } = await db.dbs.operator.query<{ n: number }>(
      `SELECT count(*) AS n FROM observations WHERE ts < $1`,
      [`${cutoff}T00:00:00Z`],
    );
    expect(rows[0]!.n).toBe(0);
    const files = await stack.engine.listFiles();
    expect(files.length).toBe(DEMO_TENANTS.length * (DEMO_DAYS - 7));
  });

  it('reports it through tierStatus, to an admin of each tenant only', async () => {
    const query = `{ tierStatus { watermark hot { days firstDay rows bytes } warm { days firstDay lastDay rows bytes } cold { days firstDay lastDay rows bytes } lastPass { outcome durationMs daysMoved } } }`;
    const denied = await stack.query(await stack.token('acme', 'viewer'), query);
    expect(denied.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const cutoff = addUtcDays(utcDay(NOW), -7);
    for (const tenant of DEMO_TENANTS) {
      const res = await stack.query<Status>(await stack.token(tenant.id, 'admin'), query);
      const s = res.body.data!.tierStatus;
      expect(s.watermark).toBe(`${cutoff}T00:00:00.000Z`);
      expect(s.cold).toMatchObject({
        days: DEMO_DAYS - 7,
        firstDay: addUtcDays(utcDay(NOW), -DEMO_DAYS),
        lastDay: addUtcDays(cutoff, -1),
      });
      expect(s.hot.firstDay).toBe(cutoff);
      // The 7 days before today, and today once the demo has seeded a row in it: rows
      // come every NUMERIC_STEP_MS up to now, so in today's first step there is none yet.
      const seededToday =
        Math.floor(NOW / NUMERIC_STEP_MS) * NUMERIC_STEP_MS >
        Date.parse(`${utcDay(NOW)}T00:00:00Z`);
      expect(s.hot.days).toBe(seededToday ? 8 : 7);
      const { rows } = await db.dbs.operator.query<{ n: number }>(
        'SELECT count(*) AS n FROM observations WHERE tenant_id = $1',
        [tenant.id],
      );
      expect(s.hot.rows).toBe(rows[0]!.n);
      expect(s.cold.bytes).toBeGreaterThan(0);
      // The warm tier: rollups from the start of the 30-day warm window on, standing for
      // every numeric row there (hot ones included).
      const { rows: warm } = await db.dbs.operator.query<{
        from_day: string;
        slot: number;
        hot_numeric: number;
      }>(
        `SELECT to_char(t.rollups_from AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS from_day,
                t.rollup_slot_seconds AS slot,
                (SELECT count(*)::int FROM observations o
                  WHERE o.tenant_id = t.id AND o.num IS NOT NULL) AS hot_numeric
           FROM tenants t WHERE t.id = $1`,
        [tenant.id],
      );
      const slotMs = warm[0]!.slot * 1000;
      expect(warm[0]!.from_day).toBe(utcDay(Math.floor((NOW - 30 * 86_400_000) / slotMs) * slotMs));
      expect(s.warm.firstDay).toBe(warm[0]!.from_day);
      expect(s.warm.days).toBeGreaterThanOrEqual(30);
      expect(s.warm.rows).toBeGreaterThan(warm[0]!.hot_numeric);
      expect(s.warm.bytes).toBeGreaterThan(0);
      expect(s.lastPass).toMatchObject({ outcome: 'succeeded', daysMoved: DEMO_DAYS - 7 });
    }
  });
});
