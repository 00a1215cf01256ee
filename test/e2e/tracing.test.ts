// With an OTLP endpoint configured, the gateway exports its OpenTelemetry spans there.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenantDataset } from '../support/fixtures.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.ts';

describe('OpenTelemetry traces', () => {
  let db: TestDatabase;
  let stack: Stack;
  let collector: http.Server;
  const received: { path: string; body: string }[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    stack = await startStack(db);
    await createTenantDataset(db.dbs.operator, {
      tenantId: 'otel',
      timeZone: 'UTC',
      entities: 1,
      days: 2,
      rowsPerDay: 2,
      nowMs: Date.now(),
      seed: 6,
    });
    // A stand-in OTLP/HTTP collector on loopback that keeps what it is sent.
    collector = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('latin1');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        received.push({ path: req.url ?? '', body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => collector.listen(0, '127.0.0.1', () => r()));
  });
  afterAll(async () => {
    collector?.close();
    await stack?.close();
    await db?.drop();
  });

  it('exports the gateway’s request and per-subgraph fetch spans', async () => {
    const gateway = await stack.extraGateway({
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(collector.address() as AddressInfo).port}`,
    });
    const res = await stack.query(
      await stack.token('otel'),
      'query Traced { tenant { id } }',
      {},
      `${gateway.url}/graphql`,
    );
    expect(res.status).toBe(200);
    await gateway.close(); // flushes the batch of spans
    const traces = received
      .filter((r) => r.path === '/v1/traces')
      .map((r) => r.body)
      .join('\n');
    expect(traces).toContain('gateway.request');
    expect(traces).toContain('gateway.fetch');
    expect(traces).toContain('tidemark-gateway');
  });
});
