import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../core/logger.ts';
import { DuckDbEngine } from '../../cold/duckdb.ts';
import { withTenant, APP_ROLE } from '../../hot/database.ts';
import { listPartitions } from '../../hot/partitions.ts';
import { runTierPass } from '../../tiering/tierPass.ts';
import { createTenantDataset, insertRows, type Dataset } from '../support/fixtures.ts';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.ts';

const NOW = Date.parse('2026-11-20T12:00:00Z');
const TENANT_TABLES = [
  'tenants',
  'entities',
  'attributes',
  'observations',
  'observations_default',
  'cold_files',
  'observation_rollups',
];

describe('row-level security for the application role', () => {
  let db: TestDatabase;
  let lake: string;
  let a: Dataset;
  let partitions: string[];

  beforeAll(async () => {
    db = await createTestDatabase();
    lake = await mkdtemp(path.join(os.tmpdir(), 'tm-rls-'));
    const engine = await DuckDbEngine.open(lake);
    a = await createTenantDataset(db.dbs.operator, {
      tenantId: 'alpha',
      timeZone: 'UTC',
      entities: 2,
      days: 10,
      rowsPerDay: 10,
      nowMs: NOW,
      seed: 1,
    });
    const b = await createTenantDataset(db.dbs.operator, {
      tenantId: 'beta',
      timeZone: 'Europe/Berlin',
      entities: 2,
      days: 10,
      rowsPerDay: 10,
      nowMs: NOW,
      seed: 2,
    });
    await runTierPass(
      { pool: db.dbs.operator, engine, workDir: `${lake}-work`, log: createLogger('silent') },
      { nowMs: NOW },
    );
    // A late row of each tenant in the default partition.
    for (const d of [a, b]) {
      await insertRows(db.dbs.operator, d, [
        {
          tenantId: d.tenantId,
          attributeKey: d.attributeKey,
          entityKey: [...d.entityKeys.values()][0]!,
          tsMs: NOW - 9 * 86_400_000,
          value: 1,
        },
      ]);
    }
    partitions = (await listPartitions(db.dbs.operator)).map((p) => p.name);
    await engine.close();
  });
  afterAll(async () => {
    await db.drop();
    await rm(lake, { recursive: true, force: true });
  });

  it('connects as a role that owns nothing and cannot bypass row-level security', async () => {
    const { rows } = await db.dbs.app.query<{
      current_user: string;
      rolbypassrls: boolean;
      rolsuper: boolean;
      owned: number;
    }>(
      `SELECT current_user, r.rolbypassrls, r.rolsuper,
              (SELECT count(*) FROM pg_class c WHERE c.relowner = r.oid) AS owned
         FROM pg_roles r WHERE r.rolname = current_user`,
    );
    expect(rows[0]).toEqual({
      current_user: APP_ROLE,
      rolbypassrls: false,
      rolsuper: false,
      owned: 0,
    });
  });

  it('sees no row of another tenant in any tenant table or partition addressed by name', async () => {
    expect(partitions.length).toBeGreaterThan(2);
    const { rows: seen } = await db.dbs.operator.query(
      `SELECT DISTINCT tenant_id FROM observations_default`,
    );
    expect(seen).toHaveLength(2); // both tenants have late rows, so the check below can fail
    for (const table of [...TENANT_TABLES, ...partitions]) {
      const column = table === 'tenants' ? 'id' : 'tenant_id';
      const { rows } = await withTenant(db.dbs.app, 'alpha', (c) =>
        c.query<{ foreign: number; own: number }>(
          `SELECT count(*) FILTER (WHERE ${column} <> 'alpha') AS foreign, count(*) FILTER (WHERE ${column} = 'alpha') AS own FROM ${table}`,
        ),
      );
      const truth = await db.dbs.operator.query<{ own: number }>(
        `SELECT count(*) FILTER (WHERE ${column} = 'alpha') AS own FROM ${table}`,
      );
      expect(rows[0]!.foreign, `rows of beta visible in ${table}`).toBe(0);
      expect(rows[0]!.own, `own rows visible in ${table}`).toBe(truth.rows[0]!.own);
    }
  });

  it('fails closed: without a tenant setting every tenant table reads empty', async () => {
    for (const table of [...TENANT_TABLES, ...partitions]) {
      const { rows } = await db.dbs.app.query<{ n: number }>(`SELECT count(*) AS n FROM ${table}`);
      expect(rows[0]!.n, `rows visible in ${table} without a tenant`).toBe(0);
    }
    const { rows } = await db.dbs.app.query<{ n: number }>(
      `SELECT count(*) AS n FROM (SELECT set_config('app.tenant_id', '', false)) s, observations`,
    );
    expect(rows[0]!.n).toBe(0);
  });

  it('hands on the connection of a read-only transaction only once it ended, tenant scope and all', async () => {
    // withTenant answers a read-only transaction before its COMMIT is through; with one
    // connection, the next query must still run outside it, with no tenant set.
    const pool = new pg.Pool({ connectionString: db.dbs.appUrl, max: 1 });
    try {
      for (let i = 0; i < 20; i++) {
        const { rows: inside } = await withTenant(
          pool,
          'alpha',
          (c) => c.query<{ tenant: string }>(`SELECT current_setting('app.tenant_id') AS tenant`),
          { readOnly: true, repeatableRead: i % 2 === 0 },
        );
        expect(inside[0]!.tenant).toBe('alpha');
        const { rows: after } = await pool.query<{ tenant: string | null; own: boolean }>(
          `SELECT current_setting('app.tenant_id', true) AS tenant, now() = statement_timestamp() AS own`,
        );
        expect(after[0]!.tenant ?? '').toBe('');
        expect(after[0]!.own).toBe(true); // a transaction of its own, not the one before
      }
      expect(pool.totalCount).toBe(1);
    } finally {
      await pool.end();
    }
  });

  it('throws what failed to open a read-only transaction, and hands its connection back fit for COPY', async () => {
    // A read-only transaction's opening statements are pipelined ahead of fn's (see
    // withTenant); a COPY stream is refused in pipeline mode, so the connection must
    // leave it before the next user gets it.
    const pool = new pg.Pool({ connectionString: db.dbs.appUrl, max: 1 });
    try {
      await expect(
        withTenant(pool, 'alpha', (c) => c.query('SELECT count(*) FROM observations'), {
          readOnly: true,
          lockTables: ['no_such_table'],
        }),
      ).rejects.toThrow(/"no_such_table" does not exist/); // not fn's "transaction is aborted"
      for (const readOnly of [true, false]) {
        await withTenant(pool, 'alpha', (c) => c.query('SELECT 1'), { readOnly });
        const copied = await withTenant(pool, 'alpha', async (c) => {
          const chunks: Buffer[] = [];
          const sql = `COPY (SELECT current_setting('app.tenant_id')) TO STDOUT`;
          for await (const chunk of c.query(copyTo(sql))) chunks.push(chunk as Buffer);
          return Buffer.concat(chunks).toString('utf8');
        });
        expect(copied).toBe('alpha\n');
      }
      expect(pool.totalCount).toBe(1);
    } finally {
      await pool.end();
    }
  });

  it("refuses to write another tenant's id", async () => {
    const entityKey = [...a.entityKeys.values()][0]!;
    await expect(
      withTenant(db.dbs.app, 'alpha', (c) =>
        c.query(
          `INSERT INTO observations (tenant_id, attribute_key, entity_key, ts, num) VALUES ('beta', $1, $2, now(), 1)`,
          [a.attributeKey, entityKey],
        ),
      ),
    ).rejects.toThrow(/row-level security/);
    await expect(
      withTenant(db.dbs.app, 'alpha', (c) =>
        c.query(`INSERT INTO entities (tenant_id, id, kind, name) VALUES ('beta', 'x', 'k', 'n')`),
      ),
    ).rejects.toThrow(/row-level security/);
  });
});
