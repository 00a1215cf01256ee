// A dashboard whose range moved only through hot time does not touch the cold engine
// (the cold days' partials are cached) nor re-read the rollups of whole past warm days
// (cached under day versions); rows inserted into a past day are counted at once (only
// that day's rollups are read again), and once tiered into a new file they are read
// from cold, exactly once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTierPass } from '../../tiering/tierPass.ts';
import { createTenantDataset, insertRows, type Dataset } from '../support/fixtures.ts';
import { scrapeMetrics } from '../support/metrics.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.ts';

const NOW = Date.parse('2026-11-20T12:00:00Z');
const DAY = 86_400_000;

describe('the partials caches', () => {
  let db: TestDatabase;
  let stack: Stack;
  let dataset: Dataset;
  let token: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    stack = await startStack(db);
    dataset = await createTenantDataset(db.dbs.operator, {
      tenantId: 'cache',
      timeZone: 'Europe/Berlin',
      entities: 4,
      days: 40,
      rowsPerDay: 6,
      nowMs: NOW,
      seed: 12,
    });
    await runTierPass(stack.tierDeps, { nowMs: NOW });
    token = await stack.token('cache');
  });
  afterAll(async () => {
    await stack?.close();
    await db?.drop();
  });

  const dashboard = async (toMs = NOW, bucket = 'DAY'): Promise<number> => {
    const res = await stack.query<{
      entities: { nodes: { series: { points: { count: number }[] } }[] };
    }>(
      token,
      `query($to: DateTimeISO!, $bucket: Bucket!) { entities { nodes { series(attribute: "value", from: "2026-10-15T00:00:00Z", to: $to, bucket: $bucket) { points { count } } } } }`,
      { to: new Date(toMs).toISOString(), bucket },
    );
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.entities.nodes.reduce(
      (n, e) => n + e.series.points.reduce((m, p) => m + p.count, 0),
      0,
    );
  };
  /** One row written straight to PostgreSQL; insertRows adds it to the reference too. */
  const insertOne = (entity: string, tsMs: number, value: number) =>
    insertRows(db.dbs.operator, dataset, [
      {
        tenantId: 'cache',
        attributeKey: dataset.attributeKey,
        entityKey: dataset.entityKeys.get(entity)!,
        tsMs,
        value,
      },
    ]);
  const expected = (toMs = NOW): number =>
    dataset.rows.filter((r) => r.tsMs >= Date.parse('2026-10-15T00:00:00Z') && r.tsMs < toMs)
      .length;

  /** The OLAP subgraph's own counters, as Prometheus scrapes them. */
  const olapMetrics = async () => {
    const value = await scrapeMetrics(stack.olap.url);
    const engine = stack.engine.name;
    return {
      hit: value('tidemark_cold_cache_lookups_total{result="hit"}'),
      miss: value('tidemark_cold_cache_lookups_total{result="miss"}'),
      warmHit: value('tidemark_warm_cache_lookups_total{result="hit"}'),
      warmMiss: value('tidemark_warm_cache_lookups_total{result="miss"}'),
      reads: value(`tidemark_cold_read_duration_seconds_count{engine="${engine}",outcome="ok"}`),
    };
  };

  it('answers dashboards whose `to` moved through hot time without the cold engine', async () => {
    const before = stack.engine.queryCount;
    const metricsBefore = await olapMetrics();
    expect(await dashboard()).toBe(expected());
    expect(stack.engine.queryCount).toBe(before + 1);
    // Each `to` is a new answer (the gateway's response cache misses); the cold days'
    // partials are the same.
    expect(await dashboard(NOW - 3_600_000)).toBe(expected(NOW - 3_600_000));
    expect(await dashboard(NOW - 7_200_000)).toBe(expected(NOW - 7_200_000));
    expect(stack.engine.queryCount).toBe(before + 1);
    // /metrics tells an operator the same story
    const metricsAfter = await olapMetrics();
    expect(metricsAfter.miss - metricsBefore.miss).toBe(1);
    expect(metricsAfter.hit - metricsBefore.hit).toBe(2);
    expect(metricsAfter.reads - metricsBefore.reads).toBe(1);
    // Warm: rollups start 30 days (the warm window) before NOW, on 21 October at noon;
    // the whole UTC days from 22 October to 19 November are cached, the first read
    // misses them all and the two later ones hit them all.
    const wholeWarmDays = (Date.parse('2026-11-20') - Date.parse('2026-10-22')) / DAY;
    expect(metricsAfter.warmMiss - metricsBefore.warmMiss).toBe(wholeWarmDays);
    expect(metricsAfter.warmHit - metricsBefore.warmHit).toBe(2 * wholeWarmDays);
  });

  it('counts rows inserted into a past warm day at once, re-reading only that day', async () => {
    const before = await olapMetrics();
    await insertOne('e-002', NOW - 3 * DAY + 1234, 41.5);
    expect(await dashboard(NOW - 10_800_000)).toBe(expected(NOW - 10_800_000));
    const after = await olapMetrics();
    expect(after.warmMiss - before.warmMiss).toBe(1);
    expect(after.warmHit - before.warmHit).toBe(28);
  });

  it('counts a late row at once, and exactly once after it is tiered into a new file', async () => {
    await insertOne('e-001', NOW - 20 * DAY + 777, 1);
    const before = stack.engine.queryCount;
    expect(await dashboard()).toBe(expected());
    expect(stack.engine.queryCount).toBe(before); // cold files unchanged: still cached
    await runTierPass(stack.tierDeps, { nowMs: NOW });
    const afterPass = stack.engine.queryCount; // the pass itself ran engine queries
    expect(await dashboard()).toBe(expected());
    expect(stack.engine.queryCount).toBe(afterPass + 1); // the new file changed the key
  });

  it('keeps cached partials as they were when weeks and months gather them', async () => {
    // A WEEK or MONTH point adds up several days' partials, and the caches hand those
    // out shared: were one added into in place, the next answer would count it twice.
    for (const bucket of ['WEEK', 'MONTH']) {
      for (let i = 1; i <= 3; i++) {
        const toMs = NOW - i * 60_000; // a new answer each time: the response cache misses
        expect(await dashboard(toMs, bucket)).toBe(expected(toMs));
      }
    }
  });
});
