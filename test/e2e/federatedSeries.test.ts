// Differential: series answered through the gateway, across cold Parquet and hot
// PostgreSQL (including late rows in the default partition), against a reference
// query over one table that holds every row.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUtcDays, utcDay } from '../../hot/partitions.ts';
import { runTierPass } from '../../tiering/tierPass.ts';
import {
  createTenantDataset,
  insertRows,
  seededRandom,
  type Dataset,
} from '../support/fixtures.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.ts';

const SEED = Number(process.env.TEST_SEED ?? 20261101);
const NOW = Date.parse('2026-11-20T12:00:00Z');
const DAY = 86_400_000;
const FROM = new Date(NOW - 90 * DAY).toISOString();
const TO = new Date(NOW).toISOString();

interface Point {
  start: string;
  localStart: string;
  count: number;
  sum: number;
  avg: number;
  min: number;
  max: number;
  stddev: number | null;
}

const SERIES_QUERY = `
  query Dashboard($from: DateTimeISO!, $to: DateTimeISO!, $bucket: Bucket!) {
    tenant { id timeZone }
    entities(first: 50) {
      nodes {
        id name kind
        series(attribute: "value", from: $from, to: $to, bucket: $bucket) {
          timeZone tiers points { start localStart count sum avg min max stddev }
        }
      }
    }
  }`;

describe(`a federated series across cold and hot equals a reference over all rows (seed ${SEED})`, () => {
  let db: TestDatabase;
  let stack: Stack;
  const datasets: Dataset[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    stack = await startStack(db);
    const specs = [
      { tenantId: 'newyork', timeZone: 'America/New_York' },
      { tenantId: 'kolkata', timeZone: 'Asia/Kolkata' },
      { tenantId: 'lordhowe', timeZone: 'Australia/Lord_Howe' },
    ];
    for (const [i, s] of specs.entries()) {
      datasets.push(
        await createTenantDataset(db.dbs.operator, {
          ...s,
          entities: 4,
          days: 91,
          rowsPerDay: 24,
          nowMs: NOW,
          seed: SEED + i,
        }),
      );
    }
    expect((await runTierPass(stack.tierDeps, { nowMs: NOW })).status).toBe('done');
    // Late rows for days already in cold, left in the default partition.
    const next = seededRandom(SEED * 7);
    for (const d of datasets) {
      const late = Array.from({ length: 25 }, (_, i) => ({
        tenantId: d.tenantId,
        attributeKey: d.attributeKey,
        entityKey: d.entityKeys.get(d.entityIds[i % d.entityIds.length]!)!,
        tsMs: NOW - Math.floor(10 + next() * 70) * DAY + i * 1000 + 17,
        value: Math.round(next() * 1e6) / 1000,
      }));
      await insertRows(db.dbs.operator, d, late);
    }
    const { rows } = await db.dbs.operator.query<{ n: number }>(
      'SELECT count(*) AS n FROM observations_default',
    );
    expect(rows[0]!.n).toBe(75);
  });
  afterAll(async () => {
    await stack?.close();
    await db?.drop();
  });

  async function reference(tenantId: string, timeZone: string, unit: string) {
    const { rows } = await db.dbs.operator.query<{
      entity_id: string;
      start: Date;
      count: number;
      sum: number;
      avg: number;
      min: number;
      max: number;
      stddev: number | null;
    }>(
      `SELECT entity_id, date_trunc($4, ts AT TIME ZONE $2) AT TIME ZONE $2 AS start,
              count(*) AS count, sum(num) AS sum, avg(num) AS avg, min(num) AS min, max(num) AS max,
              stddev_samp(num) AS stddev
         FROM reference_observations
        WHERE tenant_id = $1 AND attribute = 'value' AND ts >= $3 AND ts < $5
        GROUP BY 1, 2 ORDER BY 1, 2`,
      [tenantId, timeZone, FROM, unit, TO],
    );
    return rows;
  }

  const cases = [
    { tenant: 'newyork', bucket: 'DAY', unit: 'day' },
    { tenant: 'newyork', bucket: 'WEEK', unit: 'week' },
    { tenant: 'newyork', bucket: 'MONTH', unit: 'month' },
    { tenant: 'kolkata', bucket: 'DAY', unit: 'day' },
    { tenant: 'kolkata', bucket: 'HOUR', unit: 'hour' },
    { tenant: 'lordhowe', bucket: 'DAY', unit: 'day' },
  ];

  it.each(cases)(
    '$tenant $bucket buckets match the reference in every point',
    async ({ tenant, bucket, unit }) => {
      const dataset = datasets.find((d) => d.tenantId === tenant)!;
      const token = await stack.token(tenant);
      const res = await stack.query<{
        tenant: { id: string; timeZone: string };
        entities: {
          nodes: { id: string; series: { timeZone: string; tiers: string[]; points: Point[] } }[];
        };
      }>(token, SERIES_QUERY, { from: FROM, to: TO, bucket });
      expect(res.body.errors).toBeUndefined();
      const nodes = res.body.data!.entities.nodes;
      expect(nodes.map((n) => n.id)).toEqual(dataset.entityIds);
      const expected = await reference(tenant, dataset.timeZone, unit);
      expect(expected.length).toBeGreaterThan(0);
      for (const node of nodes) {
        expect(node.series.tiers).toEqual(['COLD', 'HOT']);
        const want = expected.filter((r) => r.entity_id === node.id);
        expect(node.series.points.map((p) => p.start)).toEqual(
          want.map((r) => r.start.toISOString()),
        );
        node.series.points.forEach((p, i) => {
          const r = want[i]!;
          expect(p.count, `${node.id} ${p.start} count`).toBe(r.count);
          expect(p.min).toBe(r.min);
          expect(p.max).toBe(r.max);
          expect(p.sum).toBeCloseTo(r.sum, 6);
          expect(p.avg).toBeCloseTo(r.avg, 9);
          if (r.stddev === null) expect(p.stddev).toBeNull();
          else expect(p.stddev!).toBeCloseTo(r.stddev, 6);
        });
      }
    },
  );

  it('aligns New York days to local midnight, with 23- and 25-hour days at DST changes', async () => {
    const token = await stack.token('newyork');
    const res = await stack.query<{ entities: { nodes: { series: { points: Point[] } }[] } }>(
      token,
      SERIES_QUERY,
      {
        from: '2026-10-30T00:00:00Z',
        to: '2026-11-04T00:00:00Z',
        bucket: 'DAY',
      },
    );
    const starts = res.body.data!.entities.nodes[0]!.series.points.map((p) => [
      p.start,
      p.localStart,
    ]);
    expect(starts).toContainEqual(['2026-11-01T04:00:00.000Z', '2026-11-01T00:00:00-04:00']);
    expect(starts).toContainEqual(['2026-11-02T05:00:00.000Z', '2026-11-02T00:00:00-05:00']);
  });

  it('keeps exactly the hot window in PostgreSQL after tiering', async () => {
    const { rows } = await db.dbs.operator.query<{ day: string }>(
      `SELECT DISTINCT to_char((ts AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD') AS day FROM observations
        WHERE tableoid <> 'observations_default'::regclass ORDER BY 1`,
    );
    expect(rows[0]!.day).toBe(addUtcDays(utcDay(NOW), -7));
  });
});
