// The warm tier's rollups hold each numeric row exactly once, whatever path it came in
// by: ingest (duplicates and retries included), partition creation moving rows out of
// the default partition, and a tiering pass that compacts them and trims them to the
// warm window.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addTenant, defineAttributes, upsertEntities } from '../../hot/admin.ts';
import { PartitionManager, addUtcDays, utcDay } from '../../hot/partitions.ts';
import { IngestBatch, type RawRow } from '../../subgraphs/oltp/domain/ingest/ingestBatch.ts';
import { runTierPass } from '../../tiering/tierPass.ts';
import { openTestEngine } from '../support/coldEngine.ts';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ColdEngine } from '../../cold/engine.ts';
import { createLogger } from '../../core/logger.ts';

const NOW = Date.parse('2026-11-20T12:00:00Z');
const DAY = 86_400_000;
const HOUR = 3_600_000;
const bounds = { minMs: Date.parse('2000-01-01T00:00:00Z'), maxMs: NOW + DAY };
const rows = (items: unknown[]): RawRow[][] => [items.map((raw, index) => ({ index, raw }))];

describe('warm-tier rollups', () => {
  let db: TestDatabase;
  let lake: string;
  let engine: ColdEngine;
  let dispose: () => Promise<void>;

  beforeAll(async () => {
    db = await createTestDatabase();
    lake = await mkdtemp(path.join(os.tmpdir(), 'tm-rollups-'));
    ({ engine, dispose } = await openTestEngine(db, lake));
    // Partitions only from 2 days ago: older rows land in the default partition.
    await new PartitionManager(db.dbs.operator).ensure(addUtcDays(utcDay(NOW), -2), NOW);
    await addTenant(db.dbs.operator, { id: 'kol', timeZone: 'Asia/Kolkata', hotDays: 3 });
    await defineAttributes(db.dbs.operator, 'kol', [{ name: 'temp', type: 'number' }]);
    await upsertEntities(db.dbs.operator, 'kol', [
      { id: 'a', kind: 'pump' },
      { id: 'b', kind: 'pump' },
    ]);
  });
  afterAll(async () => {
    await dispose?.();
    await db?.drop();
    await rm(lake, { recursive: true, force: true });
  });

  /** Rows vs rollups: count, sum, min, max over [from, to), and rollup rows per slot. */
  async function compare(fromMs = Date.UTC(2000, 0, 1), toMs = Date.UTC(2100, 0, 1)) {
    const {
      rows: [raw],
    } = await db.dbs.operator.query<{ n: number; s: number; mn: number; mx: number }>(
      `SELECT count(*)::int AS n, coalesce(sum(num), 0) AS s, min(num) AS mn, max(num) AS mx
         FROM observations WHERE tenant_id = 'kol' AND ts >= $1 AND ts < $2`,
      [new Date(fromMs), new Date(toMs)],
    );
    const {
      rows: [rolled],
    } = await db.dbs.operator.query<{ n: number; s: number; mn: number; mx: number; most: number }>(
      `SELECT coalesce(sum(count), 0)::int AS n, coalesce(sum(sum), 0) AS s, min(min) AS mn,
              max(max) AS mx,
              (SELECT coalesce(max(c), 0)::int FROM (SELECT count(*) AS c FROM observation_rollups
                WHERE tenant_id = 'kol' GROUP BY attribute_key, entity_key, slot) x) AS most
         FROM observation_rollups WHERE tenant_id = 'kol' AND slot >= $1 AND slot < $2`,
      [new Date(fromMs), new Date(toMs)],
    );
    return { raw: raw!, rolled: rolled! };
  }

  const batch = () => new IngestBatch(db.dbs.app, 'kol');
  const observation = (entity: string, tsMs: number, value: number) => ({
    entity,
    attribute: 'temp',
    ts: new Date(tsMs).toISOString(),
    value,
  });

  it('uses half-hour slots for a half-hour zone', async () => {
    const { rows: t } = await db.dbs.operator.query<{ s: number }>(
      `SELECT rollup_slot_seconds AS s FROM tenants WHERE id = 'kol'`,
    );
    expect(t[0]!.s).toBe(1800);
  });

  it('rolls up each ingested row once, duplicates and idempotent retries included', async () => {
    const items = Array.from({ length: 200 }, (_, i) =>
      observation(i % 2 ? 'a' : 'b', NOW - 5 * HOUR + i * 61_000, (i % 37) - 10.5),
    );
    const key = 'rollup-batch-1';
    expect((await batch().run(rows(items), { bounds, idempotencyKey: key })).accepted).toBe(200);
    expect((await batch().run(rows(items), { bounds, idempotencyKey: key })).replayed).toBe(true);
    const again = await batch().run(rows(items.slice(0, 120)), { bounds }); // plain duplicates
    expect(again).toMatchObject({ accepted: 0, duplicates: 120 });
    const { raw, rolled } = await compare();
    expect(raw.n).toBe(200);
    expect(rolled.n).toBe(raw.n);
    expect(rolled.s).toBeCloseTo(raw.s, 9);
    expect([rolled.mn, rolled.mx]).toEqual([raw.mn, raw.mx]);
  });

  it('puts each row in the half-hour slot that holds its timestamp', async () => {
    // Per entity and slot, the rows (slot computed here from epoch milliseconds) vs
    // the rollups. The rows of the test above fall at 61-second steps across slots.
    const { rows: expected } = await db.dbs.operator.query<{ key: string; n: number }>(
      `SELECT entity_key || ' ' || (floor(extract(epoch FROM ts) * 1000 / 1800000) * 1800000)::bigint AS key,
              count(*)::int AS n
         FROM observations WHERE tenant_id = 'kol' GROUP BY 1 ORDER BY 1`,
    );
    const { rows: rolled } = await db.dbs.operator.query<{ key: string; n: number }>(
      `SELECT entity_key || ' ' || (extract(epoch FROM slot) * 1000)::bigint AS key,
              sum(count)::int AS n
         FROM observation_rollups WHERE tenant_id = 'kol' GROUP BY 1 ORDER BY 1`,
    );
    expect(expected.length).toBeGreaterThan(10);
    expect(rolled).toEqual(expected);
  });

  it('keeps rows rolled up once when a new partition takes them from the default one', async () => {
    const oldDay = NOW - 4 * DAY;
    const late = Array.from({ length: 30 }, (_, i) => observation('a', oldDay + i * 600_000, i));
    await batch().run(rows(late), { bounds });
    const before = await compare();
    expect(before.rolled.n).toBe(before.raw.n);
    const created = await new PartitionManager(db.dbs.operator).ensure(utcDay(oldDay), NOW);
    expect(created).toContain(utcDay(oldDay));
    const { rows: left } = await db.dbs.operator.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM observations_default`,
    );
    expect(left[0]!.n).toBe(0); // the rows moved into the new partition
    const after = await compare();
    expect(after.raw.n).toBe(before.raw.n);
    expect(after.rolled.n).toBe(after.raw.n);
  });

  it('compacts each slot to one row and trims rollups to the warm window in a pass', async () => {
    // Many small batches: one rollup row per slot and batch before the pass.
    for (let i = 0; i < 5; i++) {
      await batch().run(rows([observation('a', NOW - 2 * HOUR + i * 1000, i)]), { bounds });
    }
    expect((await compare()).rolled.most).toBeGreaterThan(1);
    await db.dbs.operator.query(`UPDATE tenants SET warm_days = 2 WHERE id = 'kol'`);
    const log = createLogger('silent');
    const result = await runTierPass(
      { pool: db.dbs.operator, engine, workDir: lake, log },
      { nowMs: NOW },
    );
    expect(result.status).toBe('done');
    const { rows: t } = await db.dbs.operator.query<{ from_ms: number }>(
      `SELECT (extract(epoch FROM rollups_from) * 1000)::float8 AS from_ms FROM tenants WHERE id = 'kol'`,
    );
    const cutoff = Math.floor((NOW - 2 * DAY) / (1800 * 1000)) * 1800 * 1000;
    expect(t[0]!.from_ms).toBe(cutoff);
    const { rows: older } = await db.dbs.operator.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM observation_rollups WHERE tenant_id = 'kol' AND slot < $1`,
      [new Date(cutoff)],
    );
    expect(older[0]!.n).toBe(0);
    const { raw, rolled } = await compare(cutoff);
    expect(rolled.most).toBe(1);
    expect(raw.n).toBeGreaterThan(0);
    expect(rolled.n).toBe(raw.n); // rows tiered to cold stay rolled up: none here is older than 3 days
    expect(rolled.s).toBeCloseTo(raw.s, 9);
  });
});
