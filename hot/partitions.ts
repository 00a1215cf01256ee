// Daily range partitions of `observations`, created ahead of time. The only DDL in
// application code lives here (and the partition drop in tiering).
import type pg from 'pg';
import { APP_ROLE } from './database.ts';

export const DAY_MS = 86_400_000;

/** UTC day 'YYYY-MM-DD' of an instant. */
export const utcDay = (epochMs: number): string => new Date(epochMs).toISOString().slice(0, 10);
export const addUtcDays = (day: string, days: number): string =>
  utcDay(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS);
export const partitionName = (day: string): string => `observations_p${day.replaceAll('-', '')}`;

export interface HotPartition {
  name: string;
  day: string;
}

export async function listPartitions(pool: pg.Pool | pg.PoolClient): Promise<HotPartition[]> {
  const { rows } = await pool.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i
       JOIN pg_class c ON c.oid = i.inhrelid
       JOIN pg_class p ON p.oid = i.inhparent
      WHERE p.relname = 'observations' AND c.relname ~ '^observations_p[0-9]{8}$'
      ORDER BY c.relname`,
  );
  return rows.map(({ name }) => {
    const d = name.slice('observations_p'.length);
    return { name, day: `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}` };
  });
}

/**
 * Creates the partition for one UTC day unless it exists. Rows of that day already
 * caught by the default partition move into it in the same transaction.
 */
export async function createPartition(client: pg.PoolClient, day: string): Promise<boolean> {
  const name = partitionName(day);
  const to = addUtcDays(day, 1);
  await client.query('BEGIN');
  try {
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('tidemark.partitions'))`);
    const exists = await client.query(`SELECT 1 FROM pg_class WHERE relname = $1`, [name]);
    if (exists.rowCount) {
      await client.query('COMMIT');
      return false;
    }
    await client.query(`LOCK TABLE observations_default IN EXCLUSIVE MODE`);
    await client.query(
      `CREATE TEMP TABLE moving ON COMMIT DROP AS
         WITH d AS (DELETE FROM observations_default WHERE ts >= $1 AND ts < $2 RETURNING *)
         SELECT * FROM d`,
      [`${day}T00:00:00Z`, `${to}T00:00:00Z`],
    );
    await client.query(
      `CREATE TABLE ${name} PARTITION OF observations
         FOR VALUES FROM ('${day} 00:00:00+00') TO ('${to} 00:00:00+00')`,
    );
    await client.query(`ALTER TABLE ${name} ENABLE ROW LEVEL SECURITY`);
    await client.query(`ALTER TABLE ${name} FORCE ROW LEVEL SECURITY`);
    await client.query(
      `CREATE POLICY tenant_isolation ON ${name}
         USING (tenant_id = current_tenant()) WITH CHECK (tenant_id = current_tenant())`,
    );
    await client.query(
      `CREATE POLICY operator_all ON ${name} TO tidemark_operator USING (true) WITH CHECK (true)`,
    );
    await client.query(`GRANT SELECT, INSERT ON ${name} TO ${APP_ROLE}`);
    // Into the partition itself: these rows were rolled up when first inserted, and the
    // rollup trigger fires only for inserts through `observations`.
    await client.query(`INSERT INTO ${name} SELECT * FROM moving`);
    await client.query('COMMIT');
    return true;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

export class PartitionManager {
  constructor(
    private readonly pool: pg.Pool,
    readonly daysAhead = 3,
  ) {}

  /**
   * Ensures a partition for every UTC day from `fromDay` through today + daysAhead,
   * never for a day the cold tier already owns.
   */
  async ensure(fromDay: string, nowMs = Date.now()): Promise<string[]> {
    const { rows } = await this.pool.query<{ cold_before: Date | string }>(
      `SELECT cold_before FROM tier_watermark`,
    );
    const coldBefore = rows[0]?.cold_before;
    const firstHot =
      coldBefore instanceof Date && Number.isFinite(coldBefore.getTime())
        ? utcDay(coldBefore.getTime())
        : fromDay;
    const start = fromDay > firstHot ? fromDay : firstHot;
    const last = addUtcDays(utcDay(nowMs), this.daysAhead);
    const created: string[] = [];
    const client = await this.pool.connect();
    try {
      for (let day = start; day <= last; day = addUtcDays(day, 1)) {
        if (await createPartition(client, day)) created.push(day);
      }
    } finally {
      client.release();
    }
    return created;
  }
}
