// Usage reporting to Apollo GraphOS when APOLLO_KEY is set. GraphOS is a hosted service
// this machine cannot reach, so a local HTTP receiver stands in for its ingress: it
// checks what the gateway would send (Apollo's own protobuf, decoded with Apollo's own
// package) and that nothing goes out without a key.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { Report } from '@apollo/usage-reporting-protobuf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenantDataset, type Dataset } from '../support/fixtures.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.ts';

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

const KEY = 'service:tidemark-test:not-a-real-key';
const SECRET_VARIABLE = 'a-value-only-the-tenant-may-see';

describe('usage reporting to Apollo GraphOS', () => {
  let db: TestDatabase;
  let stack: Stack;
  let dataset: Dataset;
  let receiver: http.Server;
  let receiverUrl: string;
  const received: Received[] = [];

  beforeAll(async () => {
    receiver = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    db = await createTestDatabase();
    stack = await startStack(db);
    dataset = await createTenantDataset(db.dbs.operator, {
      tenantId: 'studio',
      timeZone: 'UTC',
      entities: 2,
      days: 2,
      rowsPerDay: 4,
      nowMs: Date.parse('2026-11-20T12:00:00Z'),
      seed: 5,
    });
  });
  afterAll(async () => {
    await stack?.close();
    await db?.drop();
    receiver?.close();
  });

  const DASHBOARD = `query Dashboard($id: ID!, $probe: ID!) {
    entity(id: $id) { id name }
    probe: entity(id: $probe) { id }
  }`;

  it('sends operation shapes and field usage, without variable values, on the key', async () => {
    const gateway = await stack.extraGateway({
      APOLLO_KEY: KEY,
      APOLLO_GRAPH_REF: 'tidemark@test',
      APOLLO_USAGE_REPORTING_URL: receiverUrl,
    });
    const token = await stack.token('studio');
    for (let i = 0; i < 3; i++) {
      const res = await stack.query<{ entity: { id: string } | null }>(
        token,
        DASHBOARD,
        { id: dataset.entityIds[0], probe: SECRET_VARIABLE },
        `${gateway.url}/graphql`,
      );
      expect(res.body.data?.entity?.id).toBe(dataset.entityIds[0]);
    }
    const before = received.length;
    await gateway.close(); // stopping flushes the pending report
    const reports = received.slice(before);
    expect(reports.length).toBeGreaterThanOrEqual(1);
    for (const r of reports) {
      expect(r.path).toBe('/api/ingress/traces');
      expect(r.headers['x-api-key']).toBe(KEY);
      expect(r.headers['content-encoding']).toBe('gzip');
    }
    const raw = reports.map((r) => gunzipSync(r.body));
    const decoded = raw.map((b) => Report.decode(b));
    expect(decoded[0]!.header?.graphRef).toBe('tidemark@test');
    const entries = decoded.flatMap((d) => Object.entries(d.tracesPerQuery));
    const dashboard = entries.filter(([key]) => key.startsWith('# Dashboard\n'));
    expect(dashboard.length).toBeGreaterThanOrEqual(1);
    const fields = dashboard[0]![1].referencedFieldsByType?.Query?.fieldNames ?? [];
    expect(fields).toContain('entity');
    const operations = dashboard.reduce(
      (n, [, v]) =>
        n +
        (v.trace?.length ?? 0) +
        (
          (v.statsWithContext ?? []) as { queryLatencyStats?: { requestCount?: unknown } | null }[]
        ).reduce((m, s) => m + Number(s.queryLatencyStats?.requestCount ?? 0), 0),
      0,
    );
    expect(operations).toBe(3);
    // Variable values and the tenant's data stay home.
    for (const b of raw) {
      expect(b.includes(SECRET_VARIABLE)).toBe(false);
      expect(b.includes(dataset.entityIds[0]!)).toBe(false);
    }
  });

  it('sends nothing without a key', async () => {
    const gateway = await stack.extraGateway({ APOLLO_USAGE_REPORTING_URL: receiverUrl });
    const before = received.length;
    const res = await stack.query(
      await stack.token('studio'),
      DASHBOARD,
      { id: dataset.entityIds[0], probe: 'x' },
      `${gateway.url}/graphql`,
    );
    expect(res.status).toBe(200);
    await gateway.close();
    expect(received.length).toBe(before);
  });
});
