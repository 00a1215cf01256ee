// The gateway's response cache: a repeated query is answered without calling any
// subgraph, and never after a write it does not hold — the caller's own write through
// the gateway, an entity's new kind, a tiering pass, another tenant's identical query,
// a clock that moved on, the audit log, or a write made while the change feed was away;
// and a GET query revalidated with its ETag is answered 304 only while it stands.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertEntities } from '../../hot/admin.ts';
import { CHANGE_FEED_APP } from '../../hot/changeFeed.ts';
import { CONTEXT_HEADER, signContext } from '../../core/signedContext.ts';
import { runTierPass } from '../../tiering/tierPass.ts';
import { createTenantDatasets, insertRows, type Dataset } from '../support/fixtures.ts';
import { scrapeMetrics } from '../support/metrics.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.ts';

const NOW = Date.parse('2026-11-20T12:00:00Z');
const DAY = 86_400_000;
const FROM = new Date(NOW - 30 * DAY).toISOString();
const TO = new Date(NOW + DAY).toISOString();

const SERIES = `query($from: DateTimeISO!, $to: DateTimeISO!) { entities { nodes {
  series(attribute: "value", from: $from, to: $to, bucket: DAY) { tiers points { count } } } } }`;

interface SeriesAnswer {
  entities: { nodes: { series: { tiers: string[]; points: { count: number }[] } }[] };
}

describe("the gateway's response cache", () => {
  let db: TestDatabase;
  let stack: Stack;
  let datasets: Map<string, Dataset>;

  beforeAll(async () => {
    db = await createTestDatabase();
    stack = await startStack(db);
    datasets = await createTenantDatasets(db.dbs.operator, ['rc-a', 'rc-b'], (tenantId, i) => ({
      tenantId,
      timeZone: 'UTC',
      entities: 3,
      days: 20,
      rowsPerDay: 5 + i,
      nowMs: NOW,
      seed: i + 1,
    }));
  });
  afterAll(async () => {
    await stack?.close();
    await db?.drop();
  });

  /** The series of every entity of a tenant, through the gateway. */
  const series = async (tenantId: string) => {
    const res = await stack.query<SeriesAnswer>(await stack.token(tenantId), SERIES, {
      from: FROM,
      to: TO,
    });
    expect(res.body.errors).toBeUndefined();
    const all = res.body.data!.entities.nodes.map((e) => e.series);
    return {
      count: all.reduce((n, s) => n + s.points.reduce((m, p) => m + p.count, 0), 0),
      tiers: all[0]!.tiers,
    };
  };
  const expected = (tenantId: string) =>
    datasets
      .get(tenantId)!
      .rows.filter((r) => r.tsMs >= Date.parse(FROM) && r.tsMs < Date.parse(TO)).length;

  /** The gateway's counters, as Prometheus scrapes them. */
  const gatewayMetrics = async () => {
    const value = await scrapeMetrics(stack.gateway.url);
    const lookups = (result: string) =>
      value(`tidemark_response_cache_lookups_total{result="${result}"}`);
    const calls = (subgraph: string) =>
      value(
        `tidemark_subgraph_request_duration_seconds_count{subgraph="${subgraph}",outcome="ok"}`,
      );
    return {
      hit: lookups('hit'),
      miss: lookups('miss'),
      bypass: lookups('bypass'),
      subgraphCalls: calls('oltp') + calls('olap'),
    };
  };
  /** One row ingested through the gateway by the tenant's ingest role, and kept in its reference rows. */
  const ingestOne = async (tenantId: string, entity: number, tsMs: number, value: number) => {
    const dataset = datasets.get(tenantId)!;
    const res = await stack.query<{ ingest: { accepted: number } }>(
      await stack.token(tenantId, 'ingest'),
      `mutation($rows: [ObservationInput!]!) { ingest(observations: $rows) { accepted } }`,
      {
        rows: [
          { entity: dataset.entityIds[entity], attribute: 'value', ts: new Date(tsMs), value },
        ],
      },
    );
    expect(res.body.data?.ingest.accepted).toBe(1);
    dataset.rows.push({
      tenantId,
      attributeKey: dataset.attributeKey,
      entityKey: dataset.entityKeys.get(dataset.entityIds[entity]!)!,
      tsMs,
      value,
    });
  };
  it('tells a tiering pass apart: the answer names the cold tier once the rows moved', async () => {
    expect((await series('rc-a')).tiers).not.toContain('COLD');
    await runTierPass(stack.tierDeps, { nowMs: NOW });
    const after = await series('rc-a');
    expect(after.tiers).toContain('COLD');
    expect(after.count).toBe(expected('rc-a'));
  });

  it('answers a repeat without calling a subgraph or the cold engine', async () => {
    expect((await series('rc-a')).count).toBe(expected('rc-a'));
    const [reads, before] = [stack.engine.queryCount, await gatewayMetrics()];
    expect(before.subgraphCalls).toBeGreaterThan(0);
    expect((await series('rc-a')).count).toBe(expected('rc-a'));
    const after = await gatewayMetrics();
    expect(after.subgraphCalls).toBe(before.subgraphCalls);
    expect(stack.engine.queryCount).toBe(reads);
    expect(after.hit - before.hit).toBe(1);
    expect(after.miss - before.miss).toBe(0);
  });

  it('keeps no answer that holds the audit log, and tells clients nothing to cache', async () => {
    const admin = await stack.token('rc-a', 'admin');
    const ask = () => stack.query(admin, `{ auditLog(first: 5) { operationName } }`);
    const before = await gatewayMetrics();
    expect((await ask()).body.errors).toBeUndefined();
    expect((await ask()).body.errors).toBeUndefined();
    const after = await gatewayMetrics();
    expect(after.hit - before.hit).toBe(0);
    expect(after.miss - before.miss).toBe(2);
    const res = await fetch(`${stack.gateway.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${await stack.token('rc-a')}`,
      },
      body: JSON.stringify({ query: SERIES, variables: { from: FROM, to: TO } }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBeNull();
  });

  it('has subgraphs grant a max-age only to answers that a write alone can change', async () => {
    const ask = async (query: string, roles: string[] = ['viewer']) => {
      const context = signContext(
        { tenantId: 'rc-a', subject: 'test', roles: roles as never, requestId: 'rc' },
        stack.config.CONTEXT_SECRET,
        30,
      );
      const res = await fetch(`${stack.olap.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [CONTEXT_HEADER]: context },
        body: JSON.stringify({ query }),
      });
      return res.headers.get('cache-control');
    };
    const entity = datasets.get('rc-a')!.entityIds[0];
    const reps = `representations: [{ __typename: "Entity", id: "${entity}" }]`;
    expect(
      await ask(
        `{ _entities(${reps}) { ... on Entity { summary(attribute: "value", from: "${FROM}", to: "${TO}") { count } } } }`,
      ),
    ).toBe(`private, max-age=${stack.config.RESPONSE_CACHE_TTL_SECONDS}`);
    expect(
      await ask(
        `{ _entities(${reps}) { ... on Entity { anomalies(attribute: "value") { points { count } } } } }`,
      ),
    ).toBe('no-store');
    expect(await ask(`{ tierStatus { watermark } }`, ['admin'])).toBe('no-store');
    expect(await ask(`{ nope }`)).toBe('no-store');
    // The data-version route answers only the gateway.
    const unsigned = await fetch(`${stack.olap.url}/internal/data-version`);
    expect(unsigned.status).toBe(401);
  });

  it("keeps tenants apart: the same query and variables for another tenant get that tenant's answer", async () => {
    expect((await series('rc-a')).count).toBe(expected('rc-a'));
    const before = await gatewayMetrics();
    expect((await series('rc-b')).count).toBe(expected('rc-b'));
    expect(expected('rc-b')).not.toBe(expected('rc-a'));
    expect((await gatewayMetrics()).hit - before.hit).toBe(0);
  });

  it('holds the rows a caller has just ingested through the gateway', async () => {
    const viewer = await stack.token('rc-a');
    const total = async () => {
      const res = await stack.query<{
        entities: { nodes: { series: { points: { count: number }[] } }[] };
      }>(
        viewer,
        `query($from: DateTimeISO!, $to: DateTimeISO!) { entities { nodes {
           series(attribute: "value", from: $from, to: $to, bucket: DAY) { points { count } } } } }`,
        { from: FROM, to: TO },
      );
      expect(res.body.errors).toBeUndefined();
      return res.body.data!.entities.nodes.reduce(
        (n, e) => n + e.series.points.reduce((m, p) => m + p.count, 0),
        0,
      );
    };
    let count = await total();
    expect(count).toBe(expected('rc-a'));
    expect(await total()).toBe(count); // cached
    for (let i = 1; i <= 5; i++) {
      await ingestOne('rc-a', 0, NOW - 2 * 3_600_000 + i * 1000, i);
      count = await total();
      expect(count).toBe(expected('rc-a'));
    }
  });

  it('revalidates a GET query: 304 and no body while the answer stands, the new answer after a write', async () => {
    const get = async (tenantId: string, etag?: string, role?: 'viewer' | 'admin') => {
      const url = new URL(`${stack.gateway.url}/graphql`);
      url.searchParams.set('query', SERIES);
      url.searchParams.set('variables', JSON.stringify({ from: FROM, to: TO }));
      const res = await fetch(url, {
        headers: {
          authorization: `Bearer ${await stack.token(tenantId, role)}`,
          'apollo-require-preflight': 'true', // Apollo's CSRF prevention for GET
          ...(etag ? { 'if-none-match': etag } : {}),
        },
      });
      const text = await res.text();
      const count = () =>
        (JSON.parse(text) as { data: SeriesAnswer }).data.entities.nodes.reduce(
          (n, e) => n + e.series.points.reduce((m, p) => m + p.count, 0),
          0,
        );
      return { res, text, count, etag: res.headers.get('etag') };
    };
    const first = await get('rc-a');
    expect(first.res.status).toBe(200);
    expect(first.count()).toBe(expected('rc-a'));
    expect(first.etag).toMatch(/^W\/"[\w-]+"$/);
    expect(first.res.headers.get('cache-control')).toBe('private, no-cache');
    expect(first.res.headers.get('vary')).toMatch(/authorization/i);

    const before = await gatewayMetrics();
    const again = await get('rc-a', `"other", ${first.etag}`);
    expect(again.res.status).toBe(304);
    expect(again.text).toBe('');
    expect(again.etag).toBe(first.etag);
    const after = await gatewayMetrics();
    expect(after.subgraphCalls).toBe(before.subgraphCalls);

    // Another tenant, or other roles, holding that tag get their own answer.
    const other = await get('rc-b', first.etag!);
    expect(other.res.status).toBe(200);
    expect(other.count()).toBe(expected('rc-b'));
    expect(other.etag).not.toBe(first.etag);
    const admin = await get('rc-a', first.etag!, 'admin');
    expect(admin.res.status).toBe(200);
    expect(admin.etag).not.toBe(first.etag);

    // A POST with the tag is answered in full, and untagged: no HTTP cache keeps POSTs.
    const post = await fetch(`${stack.gateway.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${await stack.token('rc-a')}`,
        'if-none-match': first.etag!,
      },
      body: JSON.stringify({ query: SERIES, variables: { from: FROM, to: TO } }),
    });
    expect(post.status).toBe(200);
    expect(post.headers.get('etag')).toBeNull();

    // After the caller's own write the old tag no longer names the answer.
    await ingestOne('rc-a', 1, NOW - 3 * 3_600_000, 7);
    const fresh = await get('rc-a', first.etag!);
    expect(fresh.res.status).toBe(200);
    expect(fresh.count()).toBe(expected('rc-a'));
    expect(fresh.count()).toBe(first.count() + 1);
    expect(fresh.etag).not.toBe(first.etag);
    expect((await get('rc-a', fresh.etag!)).res.status).toBe(304);
  });

  it("shows an entity's new kind in the next breakdown", async () => {
    const token = await stack.token('rc-b');
    const kinds = async () => {
      const res = await stack.query<{ tenant: { breakdown: { key: string; entities: number }[] } }>(
        token,
        `query($from: DateTimeISO!, $to: DateTimeISO!) { tenant {
           breakdown(attribute: "value", from: $from, to: $to, groupBy: ENTITY_KIND) { key entities } } }`,
        { from: FROM, to: TO },
      );
      expect(res.body.errors).toBeUndefined();
      return Object.fromEntries(res.body.data!.tenant.breakdown.map((g) => [g.key, g.entities]));
    };
    const before = await kinds();
    expect(await kinds()).toEqual(before);
    await upsertEntities(db.dbs.operator, 'rc-b', [
      { id: datasets.get('rc-b')!.entityIds[0]!, kind: 'turbine' },
    ]);
    const after = await kinds();
    expect(after.turbine).toBe(1);
    expect(Object.values(after).reduce((a, b) => a + b, 0)).toBe(3);
  });

  it('keeps no answer that depends on the clock (anomalies without `at`)', async () => {
    const token = await stack.token('rc-a');
    const ask = (at: string | null) =>
      stack.query(
        token,
        `query($at: DateTimeISO) { entities { nodes {
           anomalies(attribute: "value", at: $at, recentHours: 24, lookbackDays: 7) { points { count } } } } }`,
        { at },
      );
    const before = await gatewayMetrics();
    for (const at of [null, null, new Date(NOW).toISOString(), new Date(NOW).toISOString()])
      expect((await ask(at)).body.errors).toBeUndefined();
    const after = await gatewayMetrics();
    expect(after.hit - before.hit).toBe(1); // only the repeat with an explicit `at`
    expect(after.miss - before.miss).toBe(3);
  });

  it('never serves an answer from before a write made while the change feed was away', async () => {
    expect((await series('rc-b')).count).toBe(expected('rc-b'));
    expect((await series('rc-b')).count).toBe(expected('rc-b')); // cached
    const { rowCount } = await db.dbs.operator.query(
      `SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE application_name = $1`,
      [CHANGE_FEED_APP],
    );
    expect(rowCount).toBe(1);
    const dataset = datasets.get('rc-b')!;
    const row = {
      tenantId: 'rc-b',
      attributeKey: dataset.attributeKey,
      entityKey: dataset.entityKeys.get(dataset.entityIds[1]!)!,
      tsMs: NOW - 3_600_000,
      value: 5,
    };
    await insertRows(db.dbs.operator, dataset, [row]); // the reference holds it too
    // While the feed is away answers are computed (bypass); once it is back (it retries
    // every second), every version is new and caching resumes. Each answer holds the row.
    const before = await gatewayMetrics();
    for (let i = 0; i < 25; i++) {
      expect((await series('rc-b')).count).toBe(expected('rc-b'));
      await new Promise((r) => setTimeout(r, 100));
    }
    const after = await gatewayMetrics();
    expect(after.bypass - before.bypass).toBeGreaterThan(0);
    expect(after.hit - before.hit).toBeGreaterThan(0);
  });
});
