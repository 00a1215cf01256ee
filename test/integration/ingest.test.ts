import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { defineAttribute } from '../../hot/registryWrites.ts';
import { addTenant, defineAttributes, upsertEntities } from '../../hot/admin.ts';
import { PartitionManager, partitionName, utcDay, addUtcDays } from '../../hot/partitions.ts';
import { IngestBatch, type RawRow } from '../../subgraphs/oltp/domain/ingest/ingestBatch.ts';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.ts';

const NOW = Date.now();
const HOUR = 3_600_000;
const bounds = { minMs: Date.parse('2000-01-01T00:00:00Z'), maxMs: NOW + 86_400_000 };
const iso = (ms: number): string => new Date(ms).toISOString();
const rows = (items: unknown[]): RawRow[][] => [items.map((raw, index) => ({ index, raw }))];

describe('ingest batches', () => {
  let db: TestDatabase;
  let batch: IngestBatch;
  let tick = 0;
  /** A fresh, distinct instant for each row a test writes. */
  const ts = (): string => iso(NOW - HOUR - ++tick * 1000);

  beforeAll(async () => {
    db = await createTestDatabase();
    await new PartitionManager(db.dbs.operator).ensure(addUtcDays(utcDay(NOW), -3), NOW);
    for (const tenantId of ['ing', 'other']) {
      await addTenant(db.dbs.operator, { id: tenantId, timeZone: 'Europe/Paris' });
      await defineAttributes(db.dbs.operator, tenantId, [
        { name: 'temp', type: 'number' },
        { name: 'state', type: 'string' },
        { name: 'on', type: 'boolean' },
      ]);
      await upsertEntities(db.dbs.operator, tenantId, [
        { id: 'pump-7', kind: 'pump' },
        { id: 'pump-8', kind: 'pump' },
      ]);
    }
    await upsertEntities(db.dbs.operator, 'other', [{ id: 'only-other', kind: 'pump' }]);
    batch = new IngestBatch(db.dbs.app, 'ing');
  });
  afterAll(async () => db?.drop());

  const count = async (tenantId = 'ing'): Promise<number> =>
    (
      await db.dbs.operator.query<{ n: number }>(
        'SELECT count(*) AS n FROM observations WHERE tenant_id = $1',
        [tenantId],
      )
    ).rows[0]!.n;

  it('stores valid rows of every type and reports them accepted', async () => {
    const before = await count();
    const summary = await batch.run(
      rows([
        { entity: 'pump-7', attribute: 'temp', ts: ts(), value: 2.5 },
        { entity: 'pump-7', attribute: 'state', ts: ts(), value: 'running' },
        { entity: 'pump-8', attribute: 'on', ts: ts(), value: true },
      ]),
      { bounds },
    );
    expect(summary).toEqual({
      accepted: 3,
      duplicates: 0,
      rejectedCount: 0,
      rejected: [],
      stored: true,
      replayed: false,
    });
    expect(await count()).toBe(before + 3);
  });

  it('rejects each bad row with its index and code and stores the rest', async () => {
    const before = await count();
    const summary = await batch.run(
      [
        [
          { index: 0, raw: { entity: 'pump-7', attribute: 'temp', ts: ts(), value: 1 } },
          { index: 1, raw: 'not an object' },
          { index: 2, raw: { entity: 'pump-7', attribute: 'temp', ts: ts() } },
          { index: 3, raw: { entity: 'ghost', attribute: 'temp', ts: ts(), value: 1 } },
          { index: 4, raw: { entity: 'only-other', attribute: 'temp', ts: ts(), value: 1 } },
          { index: 5, raw: { entity: 'pump-7', attribute: 'humidity', ts: ts(), value: 1 } },
          { index: 6, raw: { entity: 'pump-7', attribute: 'temp', ts: ts(), value: 'hot' } },
          { index: 7, raw: { entity: 'pump-7', attribute: 'on', ts: ts(), value: 1 } },
          {
            index: 8,
            raw: { entity: 'pump-7', attribute: 'temp', ts: '2026-11-20 10:00', value: 1 },
          },
          {
            index: 9,
            raw: { entity: 'pump-7', attribute: 'temp', ts: iso(NOW + 3 * 86_400_000), value: 1 },
          },
          {
            index: 10,
            raw: { entity: 'pump-7', attribute: 'temp', ts: '1999-12-31T23:59:59Z', value: 1 },
          },
          {
            index: 11,
            raw: { entity: 'pump-7', attribute: 'state', ts: ts(), value: 'x'.repeat(5000) },
          },
          { index: 12, invalid: 'line is not valid JSON' },
          { index: 13, raw: { entity: 'pump-8', attribute: 'temp', ts: ts(), value: 2 } },
        ],
      ],
      { bounds },
    );
    expect(summary.accepted).toBe(2);
    expect(summary.rejectedCount).toBe(12);
    expect(summary.rejected.map((r) => [r.index, r.code])).toEqual([
      [1, 'INVALID_ROW'],
      [2, 'INVALID_ROW'],
      [3, 'UNKNOWN_ENTITY'],
      [4, 'UNKNOWN_ENTITY'], // another tenant's entity does not exist for this one
      [5, 'UNKNOWN_ATTRIBUTE'],
      [6, 'TYPE_MISMATCH'],
      [7, 'TYPE_MISMATCH'],
      [8, 'INVALID_TIMESTAMP'],
      [9, 'TIMESTAMP_OUT_OF_RANGE'],
      [10, 'TIMESTAMP_OUT_OF_RANGE'],
      [11, 'VALUE_TOO_LONG'],
      [12, 'INVALID_ROW'],
    ]);
    expect(summary.rejected[5]!.message).toBe(
      'attribute "temp" takes a number value, got a string',
    );
    expect(await count()).toBe(before + 2);
  });

  it('stores nothing of an atomic batch with a bad row, and all of a clean one', async () => {
    const before = await count();
    const bad = await batch.run(
      rows([
        { entity: 'pump-7', attribute: 'temp', ts: ts(), value: 1 },
        { entity: 'pump-7', attribute: 'temp', ts: ts(), value: 'oops' },
      ]),
      { bounds, atomic: true },
    );
    expect(bad).toMatchObject({ accepted: 0, rejectedCount: 1, stored: false });
    expect(await count()).toBe(before);
    const good = await batch.run(
      rows([{ entity: 'pump-7', attribute: 'temp', ts: ts(), value: 1 }]),
      { bounds, atomic: true },
    );
    expect(good).toMatchObject({ accepted: 1, stored: true });
    expect(await count()).toBe(before + 1);
  });

  it('streams many groups through small chunks and stores every row once', async () => {
    const before = await count();
    const groups = Array.from({ length: 30 }, (_, g) =>
      Array.from({ length: 97 }, (_, i) => ({
        index: g * 97 + i,
        raw: {
          entity: i % 2 ? 'pump-7' : 'pump-8',
          attribute: 'temp',
          ts: ts(),
          value: g + i / 100,
        },
      })),
    );
    async function* source() {
      for (const g of groups) yield g;
    }
    const summary = await batch.run(source(), { bounds, chunkSize: 250, insertEvery: 1000 });
    expect(summary).toMatchObject({ accepted: 30 * 97, duplicates: 0, rejectedCount: 0 });
    expect(await count()).toBe(before + 30 * 97);
  });

  it('leaves nothing staged for the next batch on the same connection, whichever tenant it is for', async () => {
    // One connection, so every batch reuses its staging table.
    const single = new pg.Pool({ connectionString: db.dbs.appUrl, max: 1 });
    try {
      const [ing, other] = [await count('ing'), await count('other')];
      const row = () => ({ entity: 'pump-7', attribute: 'temp', ts: ts(), value: 3 });
      expect(
        await new IngestBatch(single, 'ing').run(rows([row(), row()]), { bounds }),
      ).toMatchObject({ accepted: 2, duplicates: 0 });
      // A batch rolled back (atomic, with a bad row) after staging its good row.
      expect(
        await new IngestBatch(single, 'ing').run(rows([row(), { ...row(), value: 'x' }]), {
          bounds,
          atomic: true,
        }),
      ).toMatchObject({ accepted: 0, stored: false });
      expect(await new IngestBatch(single, 'other').run(rows([row()]), { bounds })).toMatchObject({
        accepted: 1,
        duplicates: 0,
      });
      expect([await count('ing'), await count('other')]).toEqual([ing + 2, other + 1]);
      const { rows: staged } = await single.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM staged_observations',
      );
      expect(staged[0]!.n).toBe(0);
    } finally {
      await single.end();
    }
  });

  it('counts rows already stored, or repeated in the batch, as duplicates', async () => {
    const a = { entity: 'pump-7', attribute: 'temp', ts: ts(), value: 1 };
    const b = { entity: 'pump-8', attribute: 'temp', ts: ts(), value: 2 };
    expect(await batch.run(rows([a, a, b]), { bounds })).toMatchObject({
      accepted: 2,
      duplicates: 1,
    });
    expect(await batch.run(rows([a, b]), { bounds })).toMatchObject({ accepted: 0, duplicates: 2 });
  });

  it('replays a retried idempotency key and stores nothing twice, also under concurrency', async () => {
    const before = await count();
    const items = rows(
      Array.from({ length: 50 }, (_, i) => ({
        entity: 'pump-7',
        attribute: 'temp',
        ts: ts(),
        value: i,
      })),
    );
    const first = await batch.run(items, { bounds, idempotencyKey: 'k-1' });
    const retry = await batch.run(items, { bounds, idempotencyKey: 'k-1' });
    expect(first).toMatchObject({ accepted: 50, replayed: false });
    expect(retry).toEqual({ ...first, replayed: true });
    const concurrent = rows(
      Array.from({ length: 50 }, (_, i) => ({
        entity: 'pump-8',
        attribute: 'temp',
        ts: ts(),
        value: i,
      })),
    );
    const results = await Promise.all(
      [1, 2, 3].map(() => batch.run(concurrent, { bounds, idempotencyKey: 'k-2' })),
    );
    expect(results.filter((r) => !r.replayed)).toHaveLength(1);
    expect(results.every((r) => r.accepted === 50)).toBe(true);
    expect(await count()).toBe(before + 100);
  });

  it('completes more concurrent batches than the pool has connections', async () => {
    const before = await count();
    const batches = Array.from({ length: 15 }, (_, b) =>
      rows(
        Array.from({ length: 300 }, (_, i) => ({
          entity: i % 2 ? 'pump-7' : 'pump-8',
          attribute: 'temp',
          ts: ts(),
          value: b + i,
        })),
      ),
    );
    const results = await Promise.all(batches.map((r) => batch.run(r, { bounds, chunkSize: 100 })));
    expect(results.every((r) => r.accepted === 300)).toBe(true);
    expect(await count()).toBe(before + 15 * 300);
  });

  it('keeps idempotency keys per tenant', async () => {
    const other = new IngestBatch(db.dbs.app, 'other');
    const r = await other.run(rows([{ entity: 'pump-7', attribute: 'temp', ts: ts(), value: 1 }]), {
      bounds,
      idempotencyKey: 'k-1',
    });
    expect(r).toMatchObject({ accepted: 1, replayed: false });
  });

  it('stores late rows for days without a hot partition in the default partition', async () => {
    const late = iso(NOW - 40 * 86_400_000);
    const r = await batch.run(rows([{ entity: 'pump-7', attribute: 'temp', ts: late, value: 3 }]), {
      bounds,
    });
    expect(r.accepted).toBe(1);
    const { rows: found } = await db.dbs.operator.query(
      `SELECT 1 FROM observations_default WHERE ts = $1`,
      [late],
    );
    expect(found).toHaveLength(1);
  });

  it('waits while a day is frozen for tiering and stores the row once it thaws', async () => {
    const day = utcDay(NOW);
    const name = partitionName(day);
    await db.dbs.operator.query(
      `CREATE TRIGGER frozen BEFORE INSERT ON ${name} FOR EACH ROW EXECUTE FUNCTION reject_frozen_day()`,
    );
    const pending = batch.run(
      rows([{ entity: 'pump-7', attribute: 'temp', ts: iso(NOW - 1000), value: 9 }]),
      { bounds },
    );
    await new Promise((r) => setTimeout(r, 1200));
    await db.dbs.operator.query(`DROP TRIGGER frozen ON ${name}`);
    expect(await pending).toMatchObject({ accepted: 1 });
  });

  it('refuses to change the type of an attribute that has values, but allows it before', async () => {
    await expect(
      defineAttribute(db.dbs.app, 'ing', { name: 'temp', type: 'string' }),
    ).rejects.toThrow(
      'attribute "temp" already has number values; its type cannot change to string',
    );
    await defineAttribute(db.dbs.app, 'ing', { name: 'fresh', type: 'number' });
    const changed = await defineAttribute(db.dbs.app, 'ing', {
      name: 'fresh',
      type: 'boolean',
      unit: 'flag',
    });
    expect(changed).toMatchObject({ name: 'fresh', type: 'boolean', unit: 'flag' });
  });

  it('creates partitions at least three days ahead and moves caught rows out of the default partition', async () => {
    const future = NOW + 6 * 86_400_000;
    await db.dbs.operator.query(
      `INSERT INTO observations (tenant_id, attribute_key, entity_key, ts, num)
       SELECT 'ing', attribute_key, (SELECT entity_key FROM entities WHERE tenant_id = 'ing' AND id = 'pump-7'), $1, 1
         FROM attributes WHERE tenant_id = 'ing' AND name = 'temp'`,
      [iso(future)],
    );
    const created = await new PartitionManager(db.dbs.operator, 7).ensure(utcDay(NOW), NOW);
    expect(created).toContain(utcDay(future));
    const { rows: parts } = await db.dbs.operator.query<{ relname: string }>(
      `SELECT tableoid::regclass::text AS relname FROM observations WHERE ts = $1`,
      [iso(future)],
    );
    expect(parts).toEqual([{ relname: partitionName(utcDay(future)) }]);
    const { rows: ahead } = await db.dbs.operator.query(
      `SELECT 1 FROM pg_class WHERE relname = $1`,
      [partitionName(addUtcDays(utcDay(NOW), 3))],
    );
    expect(ahead).toHaveLength(1);
  });
});
