// _entities for N entities costs one engine query per field, not N.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RunningServer } from '../../core/httpServer.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statementStats } from '../../hot/database.ts';
import { runTierPass } from '../../tiering/tierPass.ts';
import { createTenantDataset } from '../support/fixtures.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.ts';

const NOW = Date.parse('2026-11-20T12:00:00Z');

const PAGE_QUERY = `
  query Page($first: Int!) {
    entities(first: $first) {
      nodes {
        id
        latest(attribute: "value") { ts value }
        recent(attribute: "value", last: 3) { ts }
        series(attribute: "value", from: "2026-09-01T00:00:00Z", to: "2026-11-20T00:00:00Z", bucket: DAY) { points { count } }
      }
    }
  }`;

describe('batching across federation', () => {
  let db: TestDatabase;
  let stack: Stack;
  let token: string;
  let gateway: RunningServer;
  let auditStore: http.Server;

  beforeAll(async () => {
    db = await createTestDatabase();
    stack = await startStack(db);
    await createTenantDataset(db.dbs.operator, {
      tenantId: 'batch',
      timeZone: 'Europe/Paris',
      entities: 60,
      // past the 30-day warm window, so part of the series is read from cold
      days: 60,
      rowsPerDay: 4,
      nowMs: NOW,
      seed: 5,
    });
    await runTierPass(stack.tierDeps, { nowMs: NOW });
    token = await stack.token('batch');
    // Audit batches land in PostgreSQL asynchronously and would be counted whenever
    // they happen to fall inside a measured request; this gateway audits elsewhere.
    auditStore = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((r) => auditStore.listen(0, '127.0.0.1', r));
    const { port } = auditStore.address() as AddressInfo;
    gateway = await stack.extraGateway({}, { auditUrl: `http://127.0.0.1:${port}/internal/audit` });
  });
  afterAll(async () => {
    await gateway?.close();
    auditStore?.close();
    await stack?.close();
    await db?.drop();
  });

  async function cost(first: number): Promise<{ cold: number; sql: number }> {
    const cold = stack.engine.queryCount;
    const sql = statementStats.count;
    const res = await stack.query<{ entities: { nodes: { series: { points: unknown[] } }[] } }>(
      token,
      PAGE_QUERY,
      { first },
      `${gateway.url}/graphql`,
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.entities.nodes).toHaveLength(first);
    expect(res.body.data!.entities.nodes.every((n) => n.series.points.length > 0)).toBe(true);
    return { cold: stack.engine.queryCount - cold, sql: statementStats.count - sql };
  }

  it('issues one cold-engine query for a page of entities, however many', async () => {
    expect((await cost(5)).cold).toBe(1);
    expect((await cost(50)).cold).toBe(1);
  });

  it('issues the same number of SQL statements for 5 entities as for 50', async () => {
    const small = await cost(5);
    const large = await cost(50);
    expect(large.sql).toBe(small.sql);
    expect(large.sql).toBeLessThanOrEqual(20);
  });
});
