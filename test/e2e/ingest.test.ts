// The write path through the gateway: GraphQL mutations and the NDJSON bulk endpoint.
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUtcDays, utcDay } from '../../hot/partitions.ts';
import { runTierPass } from '../../tiering/tierPass.ts';
import type { IngestSummary } from '../../subgraphs/oltp/domain/ingest/rejections.ts';
import { createTenantDataset } from '../support/fixtures.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.ts';

const NOW = Date.now();
const MAX_BYTES = 64 * 1024;

const INGEST = `mutation Ingest($rows: [ObservationInput!]!, $key: String, $atomic: Boolean) {
  ingest(observations: $rows, idempotencyKey: $key, atomic: $atomic) {
    accepted duplicates rejectedCount stored replayed rejected { index code message }
  }
}`;

describe('ingest through the gateway', () => {
  let db: TestDatabase;
  let stack: Stack;
  let ingestToken: string;
  let seq = 0;
  const ts = (): string => new Date(NOW - 3_600_000 - ++seq * 1000).toISOString();

  beforeAll(async () => {
    db = await createTestDatabase();
    stack = await startStack(db, { INGEST_MAX_BYTES: String(MAX_BYTES) });
    await createTenantDataset(db.dbs.operator, {
      tenantId: 'w',
      timeZone: 'UTC',
      entities: 3,
      days: 20,
      rowsPerDay: 4,
      nowMs: NOW,
      seed: 9,
    });
    await runTierPass(stack.tierDeps, { nowMs: NOW });
    ingestToken = await stack.token('w', 'ingest');
  });
  afterAll(async () => {
    await stack?.close();
    await db?.drop();
  });

  const stored = async (): Promise<number> =>
    (
      await db.dbs.operator.query<{ n: number }>(
        `SELECT count(*) AS n FROM observations WHERE tenant_id = 'w'`,
      )
    ).rows[0]!.n;

  type ErrorJson = { errors: { extensions: { code: string } }[] };
  const summaryOf = async (res: Response): Promise<IngestSummary> =>
    (await res.json()) as IngestSummary;

  function bulk(
    body: string | Buffer,
    headers: Record<string, string> = {},
    token: string | null = ingestToken,
    query = '',
  ): Promise<Response> {
    return fetch(`${stack.gateway.url}/v1/ingest${query}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-ndjson',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
      body,
    });
  }

  it('needs the ingest role for mutations and admin for defineAttribute', async () => {
    const viewer = await stack.token('w', 'viewer');
    const res = await stack.query(viewer, INGEST, { rows: [] });
    expect(res.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const define = await stack.query(
      ingestToken,
      'mutation { defineAttribute(input: { name: "x", type: NUMBER }) { name } }',
    );
    expect(define.body.errors?.[0]?.message).toBe('this operation needs the admin role');
    const admin = await stack.query(
      await stack.token('w', 'admin'),
      'mutation { defineAttribute(input: { name: "rpm", type: NUMBER, unit: "1/min" }) { name type unit } }',
    );
    expect(admin.body.data).toEqual({
      defineAttribute: { name: 'rpm', type: 'NUMBER', unit: '1/min' },
    });
  });

  it('ingests through the mutation with per-row rejections and idempotent retries', async () => {
    const up = await stack.query(
      ingestToken,
      'mutation { upsertEntities(input: [{ id: "pump-7", kind: "pump", name: "Pump 7" }]) { id name } }',
    );
    expect(up.body.data).toEqual({ upsertEntities: [{ id: 'pump-7', name: 'Pump 7' }] });
    const before = await stored();
    const rows = [
      { entity: 'pump-7', attribute: 'value', ts: ts(), value: 2.5 },
      { entity: 'pump-7', attribute: 'value', ts: ts(), value: 'high' },
      { entity: 'pump-9', attribute: 'value', ts: ts(), value: 1 },
    ];
    const first = await stack.query<{ ingest: Record<string, unknown> }>(ingestToken, INGEST, {
      rows,
      key: 'm-1',
    });
    expect(first.body.data?.ingest).toEqual({
      accepted: 1,
      duplicates: 0,
      rejectedCount: 2,
      stored: true,
      replayed: false,
      rejected: [
        {
          index: 1,
          code: 'TYPE_MISMATCH',
          message: 'attribute "value" takes a number value, got a string',
        },
        {
          index: 2,
          code: 'UNKNOWN_ENTITY',
          message: 'entity "pump-9" does not exist; create it with upsertEntities',
        },
      ],
    });
    const retry = await stack.query<{ ingest: Record<string, unknown> }>(ingestToken, INGEST, {
      rows,
      key: 'm-1',
    });
    expect(retry.body.data?.ingest).toEqual({ ...first.body.data!.ingest, replayed: true });
    expect(await stored()).toBe(before + 1);
  });

  it('streams NDJSON into the store and answers with the same summary shape', async () => {
    const before = await stored();
    const lines = Array.from({ length: 500 }, (_, i) =>
      JSON.stringify({ entity: 'e-001', attribute: 'value', ts: ts(), value: i }),
    );
    lines.splice(
      10,
      0,
      '{not json',
      JSON.stringify({ entity: 'e-001', attribute: 'nope', ts: ts(), value: 1 }),
    );
    const res = await bulk(lines.join('\n') + '\n');
    expect(res.status).toBe(200);
    const summary = await summaryOf(res);
    expect(summary).toMatchObject({ accepted: 500, duplicates: 0, rejectedCount: 2 });
    expect(summary.rejected.map((r) => [r.index, r.code])).toEqual([
      [10, 'INVALID_ROW'],
      [11, 'UNKNOWN_ATTRIBUTE'],
    ]);
    expect(await stored()).toBe(before + 500);
  });

  it('accepts a gzip body and replays a retried Idempotency-Key', async () => {
    const before = await stored();
    const body = gzipSync(
      Array.from({ length: 200 }, () =>
        JSON.stringify({ entity: 'e-002', attribute: 'value', ts: ts(), value: 1 }),
      ).join('\n'),
    );
    const headers = { 'content-encoding': 'gzip', 'idempotency-key': 'bulk-1' };
    const first = await summaryOf(await bulk(body, headers));
    const again = await summaryOf(await bulk(body, headers));
    expect(first).toMatchObject({ accepted: 200, replayed: false });
    expect(again).toEqual({ ...first, replayed: true });
    expect(await stored()).toBe(before + 200);
  });

  it('stores nothing of an atomic upload with a bad row', async () => {
    const before = await stored();
    const body = [
      JSON.stringify({ entity: 'e-002', attribute: 'value', ts: ts(), value: 1 }),
      'garbage',
    ].join('\n');
    const summary = await summaryOf(await bulk(body, {}, ingestToken, '?atomic=true'));
    expect(summary).toMatchObject({ accepted: 0, rejectedCount: 1, stored: false });
    expect(await stored()).toBe(before);
  });

  it('answers 413 for a body over the limit and stores none of it, declared or streamed', async () => {
    const before = await stored();
    const big = Array.from({ length: 2000 }, () =>
      JSON.stringify({ entity: 'e-000', attribute: 'value', ts: ts(), value: 1 }),
    ).join('\n');
    expect(Buffer.byteLength(big)).toBeGreaterThan(MAX_BYTES);
    const declared = await bulk(big);
    expect(declared.status).toBe(413);
    expect(((await declared.json()) as ErrorJson).errors[0]!.extensions.code).toBe(
      'PAYLOAD_TOO_LARGE',
    );
    // Compressed, the body is small on the wire and only grows past the limit in gunzip.
    const streamed = await bulk(gzipSync(big), { 'content-encoding': 'gzip' });
    expect(streamed.status).toBe(413);
    expect(await stored()).toBe(before);
  });

  it('refuses uploads without a token (401), without the ingest role (403) or with broken gzip (400)', async () => {
    expect((await bulk('{}', {}, null)).status).toBe(401);
    const viewer = await bulk('{}', {}, await stack.token('w', 'viewer'));
    expect(viewer.status).toBe(403);
    expect(((await viewer.json()) as ErrorJson).errors[0]!.extensions.code).toBe('FORBIDDEN');
    const broken = await bulk(Buffer.from('definitely not gzip'), { 'content-encoding': 'gzip' });
    expect(broken.status).toBe(400);
  });

  it('counts a late row for a tiered day in the series at once', async () => {
    const day = addUtcDays(utcDay(NOW), -15);
    const series = `{ entity(id: "e-000") { series(attribute: "value", from: "${day}T00:00:00Z", to: "${addUtcDays(day, 1)}T00:00:00Z", bucket: DAY) { points { count max } } } }`;
    const viewer = await stack.token('w');
    const before = (
      await stack.query<{ entity: { series: { points: { count: number }[] } } }>(viewer, series)
    ).body.data!.entity.series.points[0]!.count;
    const res = await bulk(
      JSON.stringify({
        entity: 'e-000',
        attribute: 'value',
        ts: `${day}T12:34:56.789Z`,
        value: 1e9,
      }),
    );
    expect((await summaryOf(res)).accepted).toBe(1);
    const after = (
      await stack.query<{ entity: { series: { points: { count: number; max: number }[] } } }>(
        viewer,
        series,
      )
    ).body.data!.entity.series.points[0]!;
    expect(after).toEqual({ count: before + 1, max: 1e9 });
  });
});
