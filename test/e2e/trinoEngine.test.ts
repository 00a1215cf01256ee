// Trino-only behaviour: engine deadlines and abandoned requests cancel the query inside
// Trino (its system tables say USER_CANCELED), and Trino's errors reach clients typed,
// without SQL. The engine-neutral suites (tiering, concurrent reader, differential
// series) run on Trino too under `npm run test:stack`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrinoEngine } from '../../cold/trino.ts';
import { TierRouter } from '../../subgraphs/olap/domain/tierRouter.ts';
import { runTierPass } from '../../tiering/tierPass.ts';
import { TEST_TRINO_URL, trinoNames, trinoSuite } from '../support/coldEngine.ts';
import { createTenantDataset, type Dataset } from '../support/fixtures.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.ts';

const NOW = Date.parse('2026-11-20T12:00:00Z');
const DAY = 86_400_000;
const FROM = new Date(NOW - 20 * DAY).toISOString();
const TO = new Date(NOW).toISOString();

describe.skipIf(!TEST_TRINO_URL)(trinoSuite('the Trino engine'), () => {
  let db: TestDatabase;
  let stack: Stack;
  let trino: TrinoEngine;
  let dataset: Dataset;

  beforeAll(async () => {
    db = await createTestDatabase();
    stack = await startStack(db);
    trino = stack.engine as TrinoEngine;
    dataset = await createTenantDataset(db.dbs.operator, {
      tenantId: 'acme',
      timeZone: 'America/New_York',
      entities: 3,
      days: 20,
      rowsPerDay: 24,
      nowMs: NOW,
      seed: 7,
    });
    // A 3-day warm window: older HOUR-and-coarser buckets are Trino's to answer, not the
    // warm tier's rollups (the pass trims them).
    await db.dbs.operator.query(`UPDATE tenants SET warm_days = 3 WHERE id = 'acme'`);
    expect((await runTierPass(stack.tierDeps, { nowMs: NOW })).status).toBe('done');
  });
  afterAll(async () => {
    await stack?.close();
    await db?.drop();
  });

  /** This test database's series reads as Trino recorded them, by query id. */
  async function seriesQueries(): Promise<Map<string, { state: string; error: string | null }>> {
    const table = `iceberg.${trinoNames(db.name).schema}.observations`;
    const rows = await trino.rows(
      `SELECT query_id, state, error_code FROM system.runtime.queries
        WHERE query LIKE 'SELECT entity_key%' AND strpos(query, '${table}') > 0`,
    );
    return new Map(rows.map((r) => [String(r[0]), { state: String(r[1]), error: r[2] as never }]));
  }

  /** Waits until the queries Trino started after `before` have all ended; returns them. */
  async function settledSince(before: Set<string>) {
    for (let i = 0; i < 100; i++) {
      const fresh = [...(await seriesQueries()).entries()].filter(([id]) => !before.has(id));
      if (
        fresh.length > 0 &&
        fresh.every(([, q]) => q.state === 'FINISHED' || q.state === 'FAILED')
      )
        return fresh.map(([, q]) => q);
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error('Trino did not end the query in 20 s');
  }

  it('answers a series from Iceberg that matches PostgreSQL over the same rows', async () => {
    const token = await stack.token('acme');
    const res = await stack.query<{
      entity: { series: { tiers: string[]; points: { count: number }[] } };
    }>(
      token,
      `query($id: ID!, $from: DateTimeISO!, $to: DateTimeISO!) {
         entity(id: $id) { series(attribute: "value", from: $from, to: $to, bucket: DAY) {
           tiers points { count } } } }`,
      { id: dataset.entityIds[0], from: FROM, to: TO },
    );
    expect(res.body.errors).toBeUndefined();
    const series = res.body.data!.entity.series;
    expect(series.tiers).toEqual(['COLD', 'WARM', 'HOT']);
    const { rows } = await db.dbs.operator.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM reference_observations
        WHERE tenant_id = 'acme' AND entity_id = $1 AND ts >= $2 AND ts < $3`,
      [dataset.entityIds[0], FROM, TO],
    );
    expect(series.points.reduce((n, p) => n + p.count, 0)).toBe(rows[0]!.n);
  });

  it('cancels the Trino query when the engine deadline passes, and says ENGINE_TIMEOUT', async () => {
    const before = new Set((await seriesQueries()).keys());
    const router = new TierRouter(db.dbs.app, trino, { maxPoints: 100_000, engineTimeoutMs: 1 });
    const failure = await router
      .series('acme', dataset.entityIds, {
        attribute: 'value',
        fromMs: Date.parse(FROM),
        toMs: Date.parse(TO),
        bucket: 'HOUR',
      })
      .catch((e: unknown) => e);
    expect(failure).toMatchObject({ extensions: { code: 'ENGINE_TIMEOUT' } });
    expect(await settledSince(before)).toEqual([{ state: 'FAILED', error: 'USER_CANCELED' }]);
  });

  it('cancels the Trino query of a request the gateway abandons at its deadline', async () => {
    const before = new Set((await seriesQueries()).keys());
    const gateway = await stack.extraGateway({ SUBGRAPH_TIMEOUT_MS: 60 });
    try {
      const res = await stack.query<{ entity: { id: string; series: unknown } }>(
        await stack.token('acme'),
        `query($id: ID!, $from: DateTimeISO!, $to: DateTimeISO!) {
           entity(id: $id) { id series(attribute: "value", from: $from, to: $to, bucket: FIVE_MINUTES) {
             points { count } } } }`,
        { id: dataset.entityIds[1], from: FROM, to: TO },
        `${gateway.url}/graphql`,
      );
      expect(res.body.data?.entity.id).toBe(dataset.entityIds[1]);
      expect(res.body.errors?.[0]).toMatchObject({
        path: ['entity', 'series'],
        extensions: { code: 'ENGINE_TIMEOUT' },
      });
    } finally {
      await gateway.close();
    }
    expect(await settledSince(before)).toEqual([{ state: 'FAILED', error: 'USER_CANCELED' }]);
  });

  it("reports a Trino failure as TIER_UNAVAILABLE with Trino's error name and no SQL", async () => {
    // The table disappears under the engine (an operator mistake, a catalog outage).
    await trino.rows(`DROP TABLE iceberg.${trinoNames(db.name).schema}.observations`);
    const res = await stack.query(
      await stack.token('acme'),
      `query($id: ID!, $from: DateTimeISO!, $to: DateTimeISO!) {
         entity(id: $id) { id series(attribute: "value", from: $from, to: $to, bucket: WEEK) {
           points { count } } } }`,
      { id: dataset.entityIds[2], from: new Date(NOW - 19 * DAY).toISOString(), to: TO },
    );
    const error = res.body.errors?.[0];
    expect(error).toMatchObject({
      path: ['entity', 'series'],
      extensions: { code: 'TIER_UNAVAILABLE', engine: 'trino', engineError: 'TABLE_NOT_FOUND' },
    });
    expect(JSON.stringify(error)).not.toMatch(/SELECT|iceberg\.|observations|stack/i);
  });
});
