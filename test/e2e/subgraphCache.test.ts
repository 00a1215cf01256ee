// Subgraph answers kept by the gateway (gateway/subgraphCache.ts): a dashboard whose
// range moves misses the response cache, but its entity page is answered without
// calling the OLTP subgraph again, and never after a write it does not hold: an entity
// added behind the gateway's back, the caller's own write through the gateway, another
// tenant's identical fetch. Answers a subgraph marks `no-store` are never kept.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertEntities } from '../../hot/admin.ts';
import { createTenantDatasets, type Dataset } from '../support/fixtures.ts';
import { scrapeMetrics } from '../support/metrics.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.ts';

const NOW = Date.parse('2026-11-20T12:00:00Z');
const DAY = 86_400_000;
const FROM = new Date(NOW - 10 * DAY).toISOString();

/** A polling dashboard: the entity page, and each entity's series up to `to`. */
const DASHBOARD = `query($from: DateTimeISO!, $to: DateTimeISO!) { entities { nodes {
  id name series(attribute: "value", from: $from, to: $to, bucket: DAY) { points { count } } } } }`;

interface DashboardAnswer {
  entities: { nodes: { id: string; name: string; series: { points: { count: number }[] } }[] };
}

describe("the gateway's kept subgraph answers", () => {
  let db: TestDatabase;
  let stack: Stack;
  let datasets: Map<string, Dataset>;
  /** Each dashboard asks up to a millisecond later: its whole answer is never kept. */
  let to = NOW + DAY;

  beforeAll(async () => {
    db = await createTestDatabase();
    stack = await startStack(db);
    datasets = await createTenantDatasets(db.dbs.operator, ['sc-a', 'sc-b'], (tenantId, i) => ({
      tenantId,
      timeZone: 'UTC',
      entities: 3,
      days: 8,
      rowsPerDay: 4 + i,
      nowMs: NOW,
      seed: i + 1,
    }));
  });
  afterAll(async () => {
    await stack?.close();
    await db?.drop();
  });

  /** The gateway's counters, as Prometheus scrapes them. */
  const counters = async () => {
    const value = await scrapeMetrics(stack.gateway.url);
    const called = (subgraph: string) =>
      value(
        `tidemark_subgraph_request_duration_seconds_count{subgraph="${subgraph}",outcome="ok"}`,
      );
    const kept = (subgraph: string, result: string) =>
      value(`tidemark_subgraph_cache_lookups_total{subgraph="${subgraph}",result="${result}"}`);
    return {
      oltpCalls: called('oltp'),
      olapCalls: called('olap'),
      oltpHits: kept('oltp', 'hit'),
      responseHits: value('tidemark_response_cache_lookups_total{result="hit"}'),
    };
  };

  const dashboard = async (tenantId: string) => {
    const res = await stack.query<DashboardAnswer>(await stack.token(tenantId), DASHBOARD, {
      from: FROM,
      to: new Date(++to).toISOString(),
    });
    expect(res.body.errors).toBeUndefined();
    const nodes = res.body.data!.entities.nodes;
    return {
      ids: nodes.map((n) => n.id),
      names: nodes.map((n) => n.name),
      count: nodes.reduce((n, e) => n + e.series.points.reduce((m, p) => m + p.count, 0), 0),
    };
  };
  /** What one database holding every row says: rows in [FROM, to) of the tenant. */
  const expectedCount = (tenantId: string) =>
    datasets.get(tenantId)!.rows.filter((r) => r.tsMs >= Date.parse(FROM) && r.tsMs < to).length;

  it('answers the entity page of a dashboard whose range moved without calling the OLTP subgraph', async () => {
    const first = await dashboard('sc-a');
    expect(first.ids).toEqual(datasets.get('sc-a')!.entityIds);
    expect(first.count).toBe(expectedCount('sc-a'));
    const before = await counters();
    const second = await dashboard('sc-a');
    const after = await counters();
    expect(second.ids).toEqual(first.ids);
    expect(second.count).toBe(expectedCount('sc-a'));
    expect(after.oltpCalls).toBe(before.oltpCalls);
    expect(after.oltpHits - before.oltpHits).toBe(1);
    expect(after.olapCalls - before.olapCalls).toBe(1); // the series were computed anew
    expect(after.responseHits).toBe(before.responseHits);
  });

  it('lists an entity added behind the gateway in the next dashboard', async () => {
    await dashboard('sc-a');
    await dashboard('sc-a'); // kept
    await upsertEntities(db.dbs.operator, 'sc-a', [{ id: 'zz-new', kind: 'pump', name: 'New' }]);
    const before = await counters();
    const next = await dashboard('sc-a');
    expect(next.ids).toEqual([...datasets.get('sc-a')!.entityIds, 'zz-new']);
    expect((await counters()).oltpCalls - before.oltpCalls).toBe(1);
  });

  it("shows the caller's own write through the gateway at once", async () => {
    await dashboard('sc-a');
    const renamed = `renamed-${to}`;
    const res = await stack.query(
      await stack.token('sc-a', 'ingest'),
      `mutation($input: [EntityInput!]!) { upsertEntities(input: $input) { id } }`,
      { input: [{ id: 'zz-new', kind: 'pump', name: renamed }] },
    );
    expect(res.body.errors).toBeUndefined();
    expect((await dashboard('sc-a')).names.at(-1)).toBe(renamed);
  });

  it("gives another tenant its own entity page for the same fetch, never the first tenant's", async () => {
    const a = await dashboard('sc-a');
    await dashboard('sc-a');
    const before = await counters();
    const b = await dashboard('sc-b');
    expect(b.ids).toEqual(datasets.get('sc-b')!.entityIds);
    expect(b.ids).not.toContain('zz-new');
    expect(a.ids).toContain('zz-new');
    expect(b.count).toBe(expectedCount('sc-b'));
    expect((await counters()).oltpCalls - before.oltpCalls).toBe(1);
  });

  it('never answers concurrent dashboards without an entity committed before they were sent', async () => {
    // A writer adds entities behind the gateway while three dashboards poll at once: each
    // answer must list every entity whose insert had committed when it was sent.
    let committed = 0;
    const writer = (async () => {
      for (let i = 1; i <= 12; i++) {
        await upsertEntities(db.dbs.operator, 'sc-b', [{ id: `zw-${i}`, kind: 'pump' }]);
        committed = i;
        await new Promise((r) => setTimeout(r, 15));
      }
    })();
    let answers = 0;
    const poll = async () => {
      while (committed < 12) {
        const before = committed;
        const { ids } = await dashboard('sc-b');
        for (let i = 1; i <= before; i++) expect(ids).toContain(`zw-${i}`);
        answers += 1;
      }
    };
    await Promise.all([writer, poll(), poll(), poll()]);
    expect(answers).toBeGreaterThan(12);
    expect((await dashboard('sc-b')).ids.filter((id) => id.startsWith('zw-'))).toHaveLength(12);
  });

  it('keeps no answer the subgraph marked no-store (the audit log)', async () => {
    const admin = await stack.token('sc-a', 'admin');
    const ask = () => stack.query(admin, `{ auditLog(first: 3) { operationName } }`);
    expect((await ask()).body.errors).toBeUndefined();
    const before = await counters();
    expect((await ask()).body.errors).toBeUndefined();
    const after = await counters();
    expect(after.oltpCalls - before.oltpCalls).toBe(1);
    expect(after.oltpHits).toBe(before.oltpHits);
  });
});
