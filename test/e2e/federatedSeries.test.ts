// Differential: series, summaries, top-N, breakdowns and anomalies answered through the
// gateway, across the cold tier and hot PostgreSQL (including late rows in the default
// partition), against a reference query over one table that holds every row. Two
// seeded scenarios: the autumn of 2026 (New York's 2026-11-01, Lord Howe's 30-minute
// shift on 2026-10-04) and a 121-day winter in four zones ending after New York's
// 2026-03-08, with each tenant's hot window, and so the watermark, drawn at random.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUtcDays, utcDay } from '../../hot/partitions.ts';
import { SKETCH_RELATIVE_ERROR } from '../../core/sketch.ts';
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
const DAY = 86_400_000;

interface Scenario {
  name: string;
  now: number;
  days: number;
  tenants: { tenantId: string; timeZone: string; hotDays?: number }[];
  series: { tenant: string; bucket: string; unit: string }[];
  anomalyTenants: string[];
  /** A New York DST day: its local midnight and the next one, as UTC and local ISO. */
  dst: { from: string; to: string; starts: [string, string][] };
}

const pick = seededRandom(SEED * 11);
const SCENARIOS: Scenario[] = [
  {
    name: 'autumn 2026',
    now: Date.parse('2026-11-20T12:00:00Z'),
    days: 91,
    tenants: [
      { tenantId: 'newyork', timeZone: 'America/New_York' },
      { tenantId: 'kolkata', timeZone: 'Asia/Kolkata' },
      { tenantId: 'lordhowe', timeZone: 'Australia/Lord_Howe' },
    ],
    series: [
      { tenant: 'newyork', bucket: 'DAY', unit: 'day' },
      { tenant: 'newyork', bucket: 'WEEK', unit: 'week' },
      { tenant: 'newyork', bucket: 'MONTH', unit: 'month' },
      { tenant: 'kolkata', bucket: 'DAY', unit: 'day' },
      { tenant: 'kolkata', bucket: 'HOUR', unit: 'hour' },
      { tenant: 'lordhowe', bucket: 'DAY', unit: 'day' },
      // Lord Howe moves its clock by 30 minutes (2026-10-04 02:00 -> 02:30): the local
      // hour that begins in the gap starts at the transition, as PostgreSQL's AT TIME
      // ZONE places the nonexistent 02:00.
      { tenant: 'lordhowe', bucket: 'HOUR', unit: 'hour' },
    ],
    anomalyTenants: ['newyork', 'kolkata'],
    dst: {
      from: '2026-10-30T00:00:00Z',
      to: '2026-11-04T00:00:00Z',
      starts: [
        ['2026-11-01T04:00:00.000Z', '2026-11-01T00:00:00-04:00'],
        ['2026-11-02T05:00:00.000Z', '2026-11-02T00:00:00-05:00'],
      ],
    },
  },
  {
    name: 'winter 2025-26, random watermark',
    // A seeded instant on 2026-03-20 and seeded hot windows: the shortest decides which
    // days leave PostgreSQL.
    now: Date.parse('2026-03-20T00:00:00Z') + Math.floor(pick() * 24) * 3_600_000 + 1_800_000,
    days: 121,
    tenants: [
      { tenantId: 'utc', timeZone: 'UTC', hotDays: 3 + Math.floor(pick() * 12) },
      { tenantId: 'newyork', timeZone: 'America/New_York', hotDays: 3 + Math.floor(pick() * 12) },
      { tenantId: 'kolkata', timeZone: 'Asia/Kolkata', hotDays: 3 + Math.floor(pick() * 12) },
      {
        tenantId: 'lordhowe',
        timeZone: 'Australia/Lord_Howe',
        hotDays: 3 + Math.floor(pick() * 12),
      },
    ],
    series: [
      { tenant: 'utc', bucket: 'DAY', unit: 'day' },
      { tenant: 'utc', bucket: 'HOUR', unit: 'hour' },
      { tenant: 'newyork', bucket: 'DAY', unit: 'day' },
      { tenant: 'newyork', bucket: 'WEEK', unit: 'week' },
      { tenant: 'newyork', bucket: 'HOUR', unit: 'hour' },
      { tenant: 'kolkata', bucket: 'MONTH', unit: 'month' },
      { tenant: 'lordhowe', bucket: 'DAY', unit: 'day' },
    ],
    anomalyTenants: ['utc', 'newyork', 'kolkata'],
    dst: {
      from: '2026-03-06T00:00:00Z',
      to: '2026-03-11T00:00:00Z',
      starts: [
        ['2026-03-08T05:00:00.000Z', '2026-03-08T00:00:00-05:00'],
        ['2026-03-09T04:00:00.000Z', '2026-03-09T00:00:00-04:00'],
      ],
    },
  },
];

interface ValueCounts {
  total: number;
  distinct: number;
  trueShare: number | null;
  top: { value: string; count: number; share: number }[];
}

interface Point {
  start: string;
  localStart: string;
  count: number;
  sum: number;
  avg: number;
  min: number;
  max: number;
  stddev: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
}

const PERCENTILES = [
  ['p50', 0.5],
  ['p90', 0.9],
  ['p99', 0.99],
] as const;

/** Reference percentile_disc columns, as the API names them. */
const REFERENCE_PERCENTILES = PERCENTILES.map(
  ([name, q]) => `percentile_disc(${q}) WITHIN GROUP (ORDER BY num) AS ${name}`,
).join(', ');

/** Percentiles within the documented relative error of percentile_disc's. */
function expectPercentiles(
  got: Partial<Record<'p50' | 'p90' | 'p99', number | null>>,
  want: Partial<Record<'p50' | 'p90' | 'p99', number | null>>,
  label: string,
): void {
  for (const [name] of PERCENTILES) {
    const w = want[name];
    if (w === null || w === undefined) {
      expect(got[name], `${label} ${name}`).toBeNull();
      continue;
    }
    const error = Math.abs(got[name]! - w);
    expect(error, `${label} ${name}: ${got[name]} vs exact ${w}`).toBeLessThanOrEqual(
      SKETCH_RELATIVE_ERROR * Math.abs(w) * (1 + 1e-9) + 1e-9,
    );
  }
}

const SERIES_QUERY = `
  query Dashboard(
    $from: DateTimeISO!
    $to: DateTimeISO!
    $bucket: Bucket!
    $percentiles: Boolean!
  ) {
    tenant { id timeZone }
    entities(first: 50) {
      nodes {
        id name kind
        series(attribute: "value", from: $from, to: $to, bucket: $bucket) {
          timeZone tiers points { start localStart count sum avg min max stddev
            p50 @include(if: $percentiles) p90 @include(if: $percentiles) p99 @include(if: $percentiles) }
        }
      }
    }
  }`;

describe.each(SCENARIOS)(
  `$name: answers across cold and hot equal a reference over all rows (seed ${SEED})`,
  (sc) => {
    const NOW = sc.now;
    const FROM = new Date(NOW - (sc.days - 1) * DAY).toISOString();
    const TO = new Date(NOW).toISOString();
    const tenantIds = sc.tenants.map((t) => t.tenantId);
    let db: TestDatabase;
    let stack: Stack;
    const datasets: Dataset[] = [];

    beforeAll(async () => {
      db = await createTestDatabase();
      stack = await startStack(db);
      for (const [i, s] of sc.tenants.entries()) {
        datasets.push(
          await createTenantDataset(db.dbs.operator, {
            ...s,
            entities: 4,
            days: sc.days,
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
          tsMs: NOW - Math.floor(16 + next() * (sc.days - 30)) * DAY + i * 1000 + 17,
          // exact zeros too: the sketches' zero bin
          value: i % 6 === 0 ? 0 : Math.round(next() * 1e6) / 1000,
        }));
        await insertRows(db.dbs.operator, d, late);
      }
      const { rows } = await db.dbs.operator.query<{ n: number }>(
        'SELECT count(*) AS n FROM observations_default',
      );
      expect(rows[0]!.n).toBe(25 * sc.tenants.length);
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
        p50: number;
        p90: number;
        p99: number;
      }>(
        `SELECT entity_id, date_trunc($4, ts AT TIME ZONE $2) AT TIME ZONE $2 AS start,
              count(*) AS count, sum(num) AS sum, avg(num) AS avg, min(num) AS min, max(num) AS max,
              stddev_samp(num) AS stddev, ${REFERENCE_PERCENTILES}
         FROM reference_observations
        WHERE tenant_id = $1 AND attribute = 'value' AND ts >= $3 AND ts < $5
        GROUP BY 1, 2 ORDER BY 1, 2`,
        [tenantId, timeZone, FROM, unit, TO],
      );
      return rows;
    }

    // With percentiles every tier reads raw rows (rollups keep no sketch); without, the
    // warm tier's rollups answer for the whole slots of its window.
    it.each(sc.series.flatMap((s) => [false, true].map((percentiles) => ({ ...s, percentiles }))))(
      '$tenant $bucket buckets match the reference in every point (percentiles: $percentiles)',
      async ({ tenant, bucket, unit, percentiles }) => {
        const dataset = datasets.find((d) => d.tenantId === tenant)!;
        const token = await stack.token(tenant);
        const res = await stack.query<{
          tenant: { id: string; timeZone: string };
          entities: {
            nodes: { id: string; series: { timeZone: string; tiers: string[]; points: Point[] } }[];
          };
        }>(token, SERIES_QUERY, { from: FROM, to: TO, bucket, percentiles });
        expect(res.body.errors).toBeUndefined();
        const nodes = res.body.data!.entities.nodes;
        expect(nodes.map((n) => n.id)).toEqual(dataset.entityIds);
        const expected = await reference(tenant, dataset.timeZone, unit);
        expect(expected.length).toBeGreaterThan(0);
        for (const node of nodes) {
          expect(node.series.tiers).toEqual(
            percentiles ? ['COLD', 'HOT'] : ['COLD', 'WARM', 'HOT'],
          );
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
            if (percentiles) expectPercentiles(p, r, `${node.id} ${p.start}`);
          });
        }
      },
    );

    interface Aggregates {
      count: number;
      sum: number;
      avg: number | null;
      min: number | null;
      max: number | null;
      stddev: number | null;
      p50?: number | null;
      p90?: number | null;
      p99?: number | null;
    }

    /** Reference aggregates over all rows, per entity (or per kind), for [from, to). */
    async function referenceTotals(
      tenantId: string,
      from: string,
      to: string,
      by: 'entity' | 'kind',
    ) {
      const { rows } = await db.dbs.operator.query<Aggregates & { key: string }>(
        `SELECT ${by === 'entity' ? 'r.entity_id' : 'e.kind'} AS key, count(*)::int AS count,
              coalesce(sum(num), 0) AS sum, avg(num) AS avg, min(num) AS min, max(num) AS max,
              stddev_samp(num) AS stddev, ${REFERENCE_PERCENTILES}
         FROM reference_observations r
         JOIN entities e ON e.tenant_id = r.tenant_id AND e.id = r.entity_id
        WHERE r.tenant_id = $1 AND r.attribute = 'value' AND r.ts >= $2 AND r.ts < $3
        GROUP BY 1 ORDER BY 1`,
        [tenantId, from, to],
      );
      return new Map(rows.map((r) => [r.key, r]));
    }

    function expectSameAggregates(
      got: Aggregates,
      want: Aggregates | undefined,
      label: string,
    ): void {
      expect(got.count, `${label} count`).toBe(want?.count ?? 0);
      if (!want) {
        expect(got).toMatchObject({ sum: 0, avg: null, min: null, max: null, stddev: null });
        return;
      }
      expect(got.min, label).toBe(want.min);
      expect(got.max, label).toBe(want.max);
      expect(got.sum).toBeCloseTo(want.sum, 6);
      expect(got.avg!).toBeCloseTo(want.avg!, 9);
      if (want.stddev === null) expect(got.stddev).toBeNull();
      else expect(got.stddev!).toBeCloseTo(want.stddev, 6);
    }

    it('sends the points as the OLAP subgraph wrote them where the client asked what was fetched', async () => {
      const token = await stack.token(tenantIds[0]!);
      const counts = async () => {
        const text = await (await fetch(`${stack.gateway.url}/metrics`)).text();
        const count = (outcome: string) =>
          Number(
            text.match(
              new RegExp(`tidemark_raw_subtrees_total\\{outcome="${outcome}"\\} (\\d+)`),
            )?.[1],
          );
        return { passed: count('passed'), parsed: count('parsed') };
      };
      const dashboard = (selection: string) => `{ entities(first: 10) { nodes { id
        series(attribute: "value", from: "${FROM}", to: "${TO}", bucket: DAY) { ${selection} } } } }`;
      type Answer<S> = { entities: { nodes: { id: string; series: S }[] } };
      const before = await counts();
      const plain = await stack.query<Answer<{ points: Point[] }>>(
        token,
        dashboard('points { start count avg max }'),
      );
      const afterPlain = await counts();
      expect(plain.body.errors).toBeUndefined();
      const entities = plain.body.data!.entities.nodes.length;
      expect(entities).toBeGreaterThan(0);
      expect(afterPlain).toEqual({ passed: before.passed + entities, parsed: before.parsed });
      // An alias inside goes to the subgraph too: nothing is kept, the gateway shapes it.
      const aliased = await stack.query<Answer<{ points: (Point & { n: number })[] }>>(
        token,
        dashboard('points { start n: count avg max }'),
      );
      expect(await counts()).toEqual(afterPlain);
      // the same buckets (avg to the last few bits: partial sums may merge in another order)
      const flat = (nodes: { id: string; series: { points: Point[] } }[]) =>
        nodes.flatMap((node) => node.series.points.map((p) => ({ ...p, id: node.id })));
      const renamed = flat(
        aliased.body.data!.entities.nodes.map((node) => ({
          ...node,
          series: { points: node.series.points.map(({ n, ...rest }) => ({ ...rest, count: n })) },
        })),
      );
      const expected = flat(plain.body.data!.entities.nodes);
      expect(renamed.map(({ avg: _avg, ...exact }) => exact)).toEqual(
        expected.map(({ avg: _avg, ...exact }) => exact),
      );
      renamed.forEach((p, i) => expect(p.avg).toBeCloseTo(expected[i]!.avg, 9));
      // An enum leaf is checked against the supergraph: kept by the fetch, then parsed.
      const withEnum = await stack.query<Answer<{ bucket: string; timeZone: string }>>(
        token,
        dashboard('bucket timeZone'),
      );
      expect(await counts()).toEqual({
        passed: afterPlain.passed,
        parsed: afterPlain.parsed + entities,
      });
      expect(withEnum.body.data!.entities.nodes.map((n) => n.series.bucket)).toEqual(
        Array(entities).fill('DAY'),
      );
    });

    /** Seeded ranges: cold only, hot only, straddling the watermark, and an empty one. */
    function ranges(seed: number): [string, string][] {
      const next = seededRandom(seed);
      const at = (daysAgo: number): string =>
        new Date(NOW - daysAgo * DAY + Math.floor(next() * DAY)).toISOString();
      return [
        [at(80), at(30)],
        [at(5), at(1)],
        [at(40), at(2)],
        [at(200), at(150)],
      ];
    }

    it.each(tenantIds)(
      '%s: every entity summary equals the reference, cold, hot, straddling and empty',
      async (tenant) => {
        const dataset = datasets.find((d) => d.tenantId === tenant)!;
        const token = await stack.token(tenant);
        for (const [from, to] of ranges(SEED + tenant.length)) {
          const res = await stack.query<{
            entities: { nodes: { id: string; summary: Aggregates & { tiers: string[] } }[] };
          }>(
            token,
            `query($from: DateTimeISO!, $to: DateTimeISO!) { entities(first: 50) { nodes { id
             summary(attribute: "value", from: $from, to: $to) { count sum avg min max stddev tiers } } } }`,
            { from, to },
          );
          expect(res.body.errors).toBeUndefined();
          const want = await referenceTotals(tenant, from, to, 'entity');
          const nodes = res.body.data!.entities.nodes;
          expect(nodes.map((n) => n.id)).toEqual(dataset.entityIds);
          for (const n of nodes) expectSameAggregates(n.summary, want.get(n.id), `${n.id} ${from}`);
        }
      },
    );

    it('ranks the top entities as the reference does, by every aggregate and both orders', async () => {
      const token = await stack.token('newyork');
      const [from, to] = ranges(SEED)[2]!;
      const want = [...(await referenceTotals('newyork', from, to, 'entity')).values()];
      for (const [by, field, order] of [
        ['MAX', 'max', 'DESC'],
        ['AVG', 'avg', 'ASC'],
        ['COUNT', 'count', 'DESC'],
        ['SUM', 'sum', 'DESC'],
        ['MIN', 'min', 'ASC'],
      ] as const) {
        const res = await stack.query<{
          tenant: {
            top: (Aggregates & {
              rank: number;
              value: number;
              entity: { id: string; kind: string };
            })[];
          };
        }>(
          token,
          `query($from: DateTimeISO!, $to: DateTimeISO!, $by: TopBy!, $order: SortOrder!) {
           tenant { top(attribute: "value", from: $from, to: $to, by: $by, limit: 3, order: $order) {
             rank value count sum avg min max stddev entity { id kind } } } }`,
          { from, to, by, order },
        );
        expect(res.body.errors).toBeUndefined();
        const sign = order === 'DESC' ? -1 : 1;
        const ranked = [...want]
          .sort(
            (a, b) => sign * (Number(a[field]) - Number(b[field])) || a.key.localeCompare(b.key),
          )
          .slice(0, 3);
        const top = res.body.data!.tenant.top;
        expect(
          top.map((t) => t.entity.id),
          `${by} ${order}`,
        ).toEqual(ranked.map((r) => r.key));
        expect(top.map((t) => t.rank)).toEqual([1, 2, 3]);
        top.forEach((t, i) => {
          expectSameAggregates(t, ranked[i], `${by} #${i + 1}`);
          expect(t.value).toBeCloseTo(Number(ranked[i]![field]), 9);
          expect(t.entity.kind).toMatch(/^(pump|meter)$/); // resolved by the OLTP subgraph
        });
      }
    });

    it('breaks a tenant down by entity kind exactly as the reference groups it', async () => {
      for (const tenant of tenantIds) {
        const token = await stack.token(tenant);
        for (const [from, to] of ranges(SEED * 3 + tenant.length)) {
          const res = await stack.query<{
            tenant: { breakdown: (Aggregates & { key: string; entities: number })[] };
          }>(
            token,
            `query($from: DateTimeISO!, $to: DateTimeISO!) { tenant {
             breakdown(attribute: "value", from: $from, to: $to, groupBy: ENTITY_KIND) {
               key entities count sum avg min max stddev p50 p90 p99 } } }`,
            { from, to },
          );
          expect(res.body.errors).toBeUndefined();
          const want = await referenceTotals(tenant, from, to, 'kind');
          const groups = res.body.data!.tenant.breakdown;
          expect(groups.map((g) => g.key).sort()).toEqual(['meter', 'pump']);
          for (const g of groups) {
            expect(g.entities).toBe(2);
            expectSameAggregates(g, want.get(g.key), `${tenant} ${g.key} ${from}`);
            // sketches merged across the group's entities and both tiers
            expectPercentiles(g, want.get(g.key) ?? {}, `${tenant} ${g.key} ${from}`);
          }
        }
      }
    });

    it.each(tenantIds)(
      '%s: breaks down by the value a string attribute held most often, as the reference does',
      async (tenant) => {
        const token = await stack.token(tenant);
        for (const [from, to] of ranges(SEED * 4 + tenant.length)) {
          const res = await stack.query<{
            tenant: { breakdown: (Aggregates & { key: string; entities: number })[] };
          }>(
            token,
            `query($from: DateTimeISO!, $to: DateTimeISO!) { tenant {
             breakdown(attribute: "value", from: $from, to: $to, groupBy: ATTRIBUTE_VALUE,
                       groupAttribute: "label") {
               key entities count sum avg min max stddev } } }`,
            { from, to },
          );
          expect(res.body.errors).toBeUndefined();
          // Each entity's most frequent label in the range (ties: the smallest), then the
          // numeric rows of the entities sharing it.
          const { rows: want } = await db.dbs.operator.query<
            Aggregates & { key: string; entities: number }
          >(
            `WITH mode AS (
               SELECT DISTINCT ON (entity_id) entity_id, str
                 FROM (SELECT entity_id, str, count(*) AS n FROM reference_observations
                        WHERE tenant_id = $1 AND attribute = 'label' AND ts >= $2 AND ts < $3
                        GROUP BY 1, 2) c
                ORDER BY entity_id, n DESC, str COLLATE "C")
             SELECT m.str AS key, count(DISTINCT m.entity_id)::int AS entities,
                    count(r.num)::int AS count, coalesce(sum(r.num), 0) AS sum, avg(r.num) AS avg,
                    min(r.num) AS min, max(r.num) AS max, stddev_samp(r.num) AS stddev
               FROM mode m
               LEFT JOIN reference_observations r ON r.tenant_id = $1 AND r.entity_id = m.entity_id
                AND r.attribute = 'value' AND r.ts >= $2 AND r.ts < $3
              GROUP BY 1`,
            [tenant, from, to],
          );
          const groups = res.body.data!.tenant.breakdown;
          expect(groups.map((g) => g.key).sort()).toEqual(want.map((w) => w.key).sort());
          for (const g of groups) {
            const w = want.find((x) => x.key === g.key)!;
            expect(g.entities, `${tenant} ${g.key}`).toBe(w.entities);
            expectSameAggregates(g, w.count > 0 ? w : undefined, `${tenant} ${g.key} ${from}`);
          }
        }
      },
    );

    it.each(tenantIds)(
      '%s: histograms a numeric attribute over all entities exactly as the reference bins it',
      async (tenant) => {
        const token = await stack.token(tenant);
        const BINS = 7;
        for (const [from, to] of ranges(SEED * 6 + tenant.length)) {
          const res = await stack.query<{
            attribute: {
              distribution: {
                count: number;
                min: number | null;
                max: number | null;
                bins: { lower: number; upper: number; count: number }[];
              };
            };
          }>(
            token,
            `query($from: DateTimeISO!, $to: DateTimeISO!) { attribute(name: "value") {
               distribution(from: $from, to: $to, bins: ${BINS}) {
                 count min max bins { lower upper count } } } }`,
            { from, to },
          );
          expect(res.body.errors).toBeUndefined();
          const got = res.body.data!.attribute.distribution;
          const { rows } = await db.dbs.operator.query<{ num: number }>(
            `SELECT num FROM reference_observations
              WHERE tenant_id = $1 AND attribute = 'value' AND ts >= $2 AND ts < $3`,
            [tenant, from, to],
          );
          const values = rows.map((r) => r.num);
          expect(got.count).toBe(values.length);
          if (values.length === 0) {
            expect(got).toMatchObject({ min: null, max: null, bins: [] });
            continue;
          }
          const min = Math.min(...values);
          const max = Math.max(...values);
          expect([got.min, got.max]).toEqual([min, max]);
          const width = (max - min) / BINS;
          const want = new Array<number>(BINS).fill(0);
          for (const v of values) {
            want[Math.min(BINS - 1, Math.max(0, Math.floor((v - min) / width)))]! += 1;
          }
          expect(got.bins.map((b) => b.count)).toEqual(want);
          expect(got.bins[0]!.lower).toBe(min);
          expect(got.bins[BINS - 1]!.upper).toBe(max);
        }
        const typed = await stack.query(
          token,
          `{ attribute(name: "label") { distribution(from: "${FROM}", to: "${TO}") { count } } }`,
        );
        expect(typed.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
        expect(typed.body.errors?.[0]?.path).toEqual(['attribute', 'distribution']);
        for (const bins of [0, 1001]) {
          const bounded = await stack.query(
            token,
            `{ attribute(name: "value") { distribution(from: "${FROM}", to: "${TO}", bins: ${bins}) { count } } }`,
          );
          expect(bounded.body.errors?.[0]?.extensions?.code, `bins ${bins}`).toBe('BAD_USER_INPUT');
        }
      },
    );

    it.each(tenantIds)(
      '%s: counts every string and boolean value as the reference does',
      async (tenant) => {
        const token = await stack.token(tenant);
        for (const [from, to] of ranges(SEED * 5 + tenant.length)) {
          const res = await stack.query<{
            entities: {
              nodes: {
                id: string;
                label: ValueCounts;
                on: ValueCounts;
              }[];
            };
          }>(
            token,
            `query($from: DateTimeISO!, $to: DateTimeISO!) { entities(first: 50) { nodes { id
             label: values(attribute: "label", from: $from, to: $to, limit: 3) {
               total distinct trueShare top { value count share } tiers }
             on: values(attribute: "on", from: $from, to: $to) {
               total distinct trueShare top { value count share } } } } }`,
            { from, to },
          );
          expect(res.body.errors).toBeUndefined();
          const { rows } = await db.dbs.operator.query<{
            entity_id: string;
            attribute: string;
            value: string;
            n: number;
          }>(
            `SELECT entity_id, attribute, coalesce(str, bool::text) AS value, count(*)::int AS n
             FROM reference_observations
            WHERE tenant_id = $1 AND attribute IN ('label', 'on') AND ts >= $2 AND ts < $3
            GROUP BY 1, 2, 3`,
            [tenant, from, to],
          );
          for (const node of res.body.data!.entities.nodes) {
            for (const attribute of ['label', 'on'] as const) {
              const want = rows
                .filter((r) => r.entity_id === node.id && r.attribute === attribute)
                .sort((a, b) => b.n - a.n || (a.value < b.value ? -1 : 1));
              const got = node[attribute];
              const total = want.reduce((n, r) => n + r.n, 0);
              expect(got.total, `${node.id} ${attribute} ${from}`).toBe(total);
              expect(got.distinct).toBe(want.length);
              const limit = attribute === 'label' ? 3 : 10;
              expect(got.top.map((t) => [t.value, t.count])).toEqual(
                want.slice(0, limit).map((r) => [r.value, r.n]),
              );
              got.top.forEach((t) => expect(t.share).toBeCloseTo(t.count / total, 12));
              if (attribute === 'label') expect(got.trueShare).toBeNull();
              else if (total === 0) expect(got.trueShare).toBeNull();
              else
                expect(got.trueShare!).toBeCloseTo(
                  (want.find((r) => r.value === 'true')?.n ?? 0) / total,
                  12,
                );
            }
          }
        }
      },
    );

    it.each(sc.anomalyTenants)(
      '%s: scores recent hours against the same local hour of the week, as the reference does',
      async (tenant) => {
        const dataset = datasets.find((d) => d.tenantId === tenant)!;
        const at = new Date(NOW).toISOString();
        const token = await stack.token(tenant);
        const res = await stack.query<{
          entities: {
            nodes: {
              id: string;
              anomalies: {
                tiers: string[];
                points: {
                  start: string;
                  count: number;
                  avg: number;
                  baselineCount: number;
                  baselineAvg: number | null;
                  baselineStddev: number | null;
                  zScore: number | null;
                  anomalous: boolean;
                }[];
              };
            }[];
          };
        }>(
          token,
          `query($at: DateTimeISO!) { entities(first: 50) { nodes { id
           anomalies(attribute: "value", at: $at, recentHours: 24, lookbackDays: 28, threshold: 1) {
             tiers points { start count avg baselineCount baselineAvg baselineStddev zScore anomalous } } } } }`,
          { at },
        );
        expect(res.body.errors).toBeUndefined();
        // Recent: the local hour holding at − 24 h through the one holding at (exclusive end);
        // baseline: the 28 days before that first recent hour, by local (ISO weekday, hour).
        const { rows: want } = await db.dbs.operator.query<{
          entity_id: string;
          start: Date;
          count: number;
          avg: number;
          bcount: number | null;
          bavg: number | null;
          bstd: number | null;
        }>(
          `WITH bounds AS (
           SELECT date_trunc('hour', ($3::timestamptz - interval '24 hours') AT TIME ZONE $2) AT TIME ZONE $2 AS recent_from),
         recent AS (
           SELECT entity_id, date_trunc('hour', ts AT TIME ZONE $2) AS local_hour,
                  count(*)::int AS count, avg(num) AS avg
             FROM reference_observations, bounds
            WHERE tenant_id = $1 AND attribute = 'value' AND ts >= recent_from AND ts < $3
            GROUP BY 1, 2),
         baseline AS (
           SELECT entity_id, extract(isodow FROM ts AT TIME ZONE $2) AS dow,
                  extract(hour FROM ts AT TIME ZONE $2) AS hour,
                  count(*)::int AS bcount, avg(num) AS bavg, stddev_samp(num) AS bstd
             FROM reference_observations, bounds
            WHERE tenant_id = $1 AND attribute = 'value'
              AND ts >= recent_from - interval '28 days' AND ts < recent_from
            GROUP BY 1, 2, 3)
         SELECT r.entity_id, r.local_hour AT TIME ZONE $2 AS start, r.count, r.avg, b.bcount, b.bavg, b.bstd
           FROM recent r LEFT JOIN baseline b ON b.entity_id = r.entity_id
            AND b.dow = extract(isodow FROM r.local_hour) AND b.hour = extract(hour FROM r.local_hour)
          ORDER BY 1, 2`,
          [tenant, dataset.timeZone, at],
        );
        const nodes = res.body.data!.entities.nodes;
        let scored = 0;
        for (const node of nodes) {
          expect(node.anomalies.tiers).toEqual(['COLD', 'WARM', 'HOT']);
          const rows = want.filter((r) => r.entity_id === node.id);
          expect(node.anomalies.points.map((p) => p.start)).toEqual(
            rows.map((r) => r.start.toISOString()),
          );
          node.anomalies.points.forEach((p, i) => {
            const r = rows[i]!;
            expect(p.count).toBe(r.count);
            expect(p.avg).toBeCloseTo(r.avg, 9);
            expect(p.baselineCount).toBe(r.bcount ?? 0);
            if (r.bavg === null) expect(p.baselineAvg).toBeNull();
            else expect(p.baselineAvg!).toBeCloseTo(r.bavg, 9);
            if (r.bstd === null || r.bstd === 0) {
              expect(p.zScore).toBeNull();
              return;
            }
            scored += 1;
            expect(p.baselineStddev!).toBeCloseTo(r.bstd, 6);
            const z = (r.avg - r.bavg!) / r.bstd;
            expect(p.zScore!).toBeCloseTo(z, 6);
            expect(p.anomalous).toBe(Math.abs(z) >= 1);
          });
        }
        expect(scored).toBeGreaterThan(10);
      },
    );

    // The autumn scenario's data ends at NOW = 2026-11-20 and spans 2026-11-01.
    if (sc.name === 'autumn 2026')
      it('fills every local day of a range, 23- and 25-hour days included, when asked', async () => {
        const token = await stack.token('newyork');
        // The data ends at NOW; the range runs three days past it and over 2026-11-01.
        const from = '2026-10-30T12:00:00Z';
        const to = new Date(NOW + 3 * DAY).toISOString();
        const res = await stack.query<{
          entities: { nodes: { series: { points: (Point & { filled: boolean })[] } }[] };
        }>(
          token,
          `query($from: DateTimeISO!, $to: DateTimeISO!) { entities(first: 1) { nodes {
         series(attribute: "value", from: $from, to: $to, bucket: DAY, fill: NULL) {
           points { start localStart count avg filled } } } } }`,
          { from, to },
        );
        expect(res.body.errors).toBeUndefined();
        const points = res.body.data!.entities.nodes[0]!.series.points;
        // Local days 2026-10-30 .. 2026-11-23 in New York: 25 buckets, one per local midnight.
        expect(points).toHaveLength(25);
        expect(points.every((p) => p.localStart.slice(11, 19) === '00:00:00')).toBe(true);
        expect(points.map((p) => p.localStart.slice(0, 10))).toEqual(
          Array.from({ length: 25 }, (_, i) => addUtcDays('2026-10-30', i)),
        );
        const empty = points.filter((p) => p.filled);
        expect(empty.length).toBeGreaterThanOrEqual(3);
        expect(empty.every((p) => p.count === 0 && p.avg === null)).toBe(true);
        expect(points.filter((p) => !p.filled).every((p) => p.count > 0)).toBe(true);
      });

    if (sc.name === 'autumn 2026')
      it('answers `columns` with the same buckets as `points`, percentiles and fill included', async () => {
        const token = await stack.token('newyork');
        const fields = 'start localStart count sum avg min max stddev p50 p90 p99 filled';
        const ask = async (selection: string) => {
          const res = await stack.query<{
            entities: { nodes: { id: string; series: Record<string, unknown> }[] };
          }>(
            token,
            `query($from: DateTimeISO!, $to: DateTimeISO!) { entities(first: 3) { nodes { id
               series(attribute: "value", from: $from, to: $to, bucket: DAY, fill: NULL) { ${selection} } } } }`,
            { from: '2026-10-20T00:00:00Z', to: new Date(NOW + 2 * DAY).toISOString() },
          );
          expect(res.body.errors).toBeUndefined();
          return res.body.data!.entities.nodes;
        };
        // Separate requests: selecting percentiles under `columns` alone must read sketches.
        const byPoints = await ask(`points { ${fields} }`);
        const byColumns = await ask(`columns { ${fields} }`);
        expect(byColumns.map((n) => n.id)).toEqual(byPoints.map((n) => n.id));
        byPoints.forEach((node, i) => {
          const points = node.series.points as Record<string, unknown>[];
          const columns = byColumns[i]!.series.columns as Record<string, unknown[]>;
          expect(points.some((p) => p.filled)).toBe(true);
          expect(points.some((p) => p.p50 !== null)).toBe(true);
          for (const field of fields.split(' ')) {
            const want = points.map((p) => p[field]);
            // Floats may differ in the last digits between two reads (summation order).
            const close = (v: unknown) =>
              typeof v === 'number' && !Number.isInteger(v) ? expect.closeTo(v, 9) : v;
            expect(columns[field], field).toEqual(want.map(close));
          }
        });
      });

    it('aligns New York days to local midnight, with 23- and 25-hour days at DST changes', async () => {
      const token = await stack.token('newyork');
      const res = await stack.query<{ entities: { nodes: { series: { points: Point[] } }[] } }>(
        token,
        SERIES_QUERY,
        { from: sc.dst.from, to: sc.dst.to, bucket: 'DAY', percentiles: false },
      );
      const starts = res.body.data!.entities.nodes[0]!.series.points.map((p) => [
        p.start,
        p.localStart,
      ]);
      for (const start of sc.dst.starts) expect(starts).toContainEqual(start);
    });

    it('keeps exactly the shortest hot window in PostgreSQL after tiering', async () => {
      const { rows } = await db.dbs.operator.query<{ day: string }>(
        `SELECT DISTINCT to_char((ts AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD') AS day FROM observations
        WHERE tableoid <> 'observations_default'::regclass ORDER BY 1`,
      );
      const shortest = Math.min(...sc.tenants.map((t) => t.hotDays ?? 7));
      expect(rows[0]!.day).toBe(addUtcDays(utcDay(NOW), -shortest));
    });
  },
);
