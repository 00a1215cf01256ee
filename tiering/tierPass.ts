// One tiering pass: every daily partition older than the hot window moves to the cold
// tier by freeze -> copy -> verify -> (one transaction) record files, advance the
// watermark, drop the partition. Late rows of cold days wait in the default partition
// and move the same way. Any crash leaves rows counted exactly once: uncommitted files
// are invisible (not in the manifest) and removed by the next pass.
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import type { Logger } from '../core/logger.ts';
import type { ColdEngine } from '../cold/engine.ts';
import { addUtcDays, listPartitions, utcDay, type HotPartition } from '../hot/partitions.ts';
import { copyTenantDay, recordFiles, type CopiedFile } from './copyTenantDay.ts';

export { VerificationError } from './copyTenantDay.ts';

/** Step boundaries where tests inject faults. */
export type TierStep = 'frozen' | 'written' | 'verified' | 'committed';

export interface TierPassDeps {
  pool: pg.Pool; // operator pool
  engine: ColdEngine;
  workDir: string;
  log: Logger;
}

export interface TierPassOptions {
  dryRun?: boolean;
  nowMs?: number;
  onStep?: (step: TierStep, detail: { day: string; tenantId?: string }) => void | Promise<void>;
}

export interface TieredDay {
  day: string;
  source: 'partition' | 'late';
  rows: number;
  files: number;
}

export type TierPassResult =
  | { status: 'locked' }
  | {
      status: 'done';
      passId: number | null;
      cutoffDay: string | null;
      days: TieredDay[];
      orphansRemoved: number;
      dryRun: boolean;
    };

const PASS_LOCK = `hashtext('tidemark.tiering')`;

export async function runTierPass(
  deps: TierPassDeps,
  options: TierPassOptions = {},
): Promise<TierPassResult> {
  const lockClient = await deps.pool.connect();
  try {
    const { rows } = await lockClient.query<{ ok: boolean }>(
      `SELECT pg_try_advisory_lock(${PASS_LOCK}) AS ok`,
    );
    if (!rows[0]?.ok) return { status: 'locked' };
    try {
      return await runLocked(deps, options, lockClient);
    } finally {
      await lockClient.query(`SELECT pg_advisory_unlock(${PASS_LOCK})`);
    }
  } finally {
    lockClient.release();
  }
}

/**
 * `verifier` is the session holding the pass lock; while a day is copied it fingerprints
 * the source in the copy's snapshot (see copyTenantDay).
 */
async function runLocked(
  deps: TierPassDeps,
  options: TierPassOptions,
  verifier: pg.PoolClient,
): Promise<TierPassResult> {
  const { pool, log } = deps;
  const nowMs = options.nowMs ?? Date.now();
  const started = performance.now();
  const { rows: hotRows } = await pool.query<{ min_hot: number | null }>(
    `SELECT min(hot_days) AS min_hot FROM tenants`,
  );
  const minHot = hotRows[0]?.min_hot;
  if (minHot == null) {
    return {
      status: 'done',
      passId: null,
      cutoffDay: null,
      days: [],
      orphansRemoved: 0,
      dryRun: !!options.dryRun,
    };
  }
  // The shortest hot window among tenants decides which days leave PostgreSQL; rows of
  // tenants with longer windows are then served from cold, transparently.
  const cutoffDay = addUtcDays(utcDay(nowMs), -minHot);
  const partitions = (await listPartitions(pool)).filter((p) => p.day < cutoffDay);
  const lateDays = await lateRowDays(pool, cutoffDay);

  if (options.dryRun) {
    const days: TieredDay[] = [
      ...partitions.map((p) => ({ day: p.day, source: 'partition' as const, rows: 0, files: 0 })),
      ...lateDays.map((d) => ({ day: d.day, source: 'late' as const, rows: d.rows, files: 0 })),
    ];
    for (const d of days.filter((x) => x.source === 'partition')) {
      const { rows } = await pool.query<{ n: number }>(
        `SELECT count(*) AS n FROM ${partitionNameOf(partitions, d.day)}`,
      );
      d.rows = rows[0]!.n;
    }
    return { status: 'done', passId: null, cutoffDay, days, orphansRemoved: 0, dryRun: true };
  }

  const { rows: passRows } = await pool.query<{ id: number }>(
    `INSERT INTO tier_passes DEFAULT VALUES RETURNING id`,
  );
  const passId = passRows[0]!.id;
  const workDir = path.join(deps.workDir, `pass-${passId}`);
  await mkdir(workDir, { recursive: true });
  const days: TieredDay[] = [];
  try {
    const orphansRemoved = await removeOrphans(deps);
    for (const partition of partitions) {
      days.push(
        await tierPartition(deps, {
          passId,
          partition,
          workDir,
          verifier,
          onStep: options.onStep,
        }),
      );
    }
    await advanceWatermark(pool, cutoffDay);
    for (const late of await lateRowDays(pool, cutoffDay)) {
      days.push(
        await tierLateRows(deps, {
          passId,
          day: late.day,
          workDir,
          verifier,
          onStep: options.onStep,
        }),
      );
    }
    const rollupsStarted = performance.now();
    await maintainRollups(pool, nowMs);
    log.debug({ ms: Math.round(performance.now() - rollupsStarted) }, 'warm tier maintained');
    const rowsMoved = days.reduce((n, d) => n + d.rows, 0);
    await pool.query(
      `UPDATE tier_passes SET finished_at = now(), outcome = 'succeeded', days_moved = $2, rows_moved = $3 WHERE id = $1`,
      [passId, days.length, rowsMoved],
    );
    const ms = Math.round(performance.now() - started);
    log.info({ passId, days: days.length, rowsMoved, orphansRemoved, ms }, 'tiering pass done');
    return { status: 'done', passId, cutoffDay, days, orphansRemoved, dryRun: false };
  } catch (err) {
    await pool
      .query(
        `UPDATE tier_passes SET finished_at = now(), outcome = 'failed', error = $2 WHERE id = $1`,
        [passId, err instanceof Error ? err.message : String(err)],
      )
      .catch(() => undefined);
    throw err;
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * Keeps the warm tier to each tenant's warm window and its rows few: drops slots before
 * the window (moving `rollups_from` with them, in the same transaction, so a reader
 * never takes a missing slot for an empty one) and merges the one-row-per-insert
 * deltas of each slot into one row. Rows that writers commit meanwhile are not in the
 * DELETE's snapshot and stay as they are; sums over rows are unchanged either way.
 */
async function maintainRollups(pool: pg.Pool, nowMs: number): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(
      `WITH cutoff AS (
         SELECT id, to_timestamp(div(extract(epoch FROM $1::timestamptz - make_interval(days => warm_days))::numeric,
                                     rollup_slot_seconds) * rollup_slot_seconds) AS at
           FROM tenants),
       moved AS (
         UPDATE tenants t SET rollups_from = c.at FROM cutoff c
          WHERE t.id = c.id AND t.rollups_from < c.at)
       DELETE FROM observation_rollups r USING cutoff c
        WHERE r.tenant_id = c.id AND r.slot < c.at`,
      [new Date(nowMs)],
    );
    await client.query(
      `WITH merged AS (
         DELETE FROM observation_rollups
          WHERE (tenant_id, attribute_key, entity_key, slot) IN (
                SELECT tenant_id, attribute_key, entity_key, slot FROM observation_rollups
                 GROUP BY 1, 2, 3, 4 HAVING count(*) > 1)
         RETURNING *)
       INSERT INTO observation_rollups
       SELECT tenant_id, attribute_key, entity_key, slot, sum(count), sum(sum), min(min),
              max(max), sum(sum_squares)
         FROM merged GROUP BY 1, 2, 3, 4`,
    );
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

const partitionNameOf = (partitions: HotPartition[], day: string): string =>
  partitions.find((p) => p.day === day)!.name;

async function lateRowDays(
  pool: pg.Pool,
  beforeDay: string,
): Promise<{ day: string; rows: number }[]> {
  const { rows } = await pool.query<{ day: string; rows: number }>(
    `SELECT to_char((ts AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD') AS day, count(*) AS rows
       FROM observations_default WHERE ts < $1::date::timestamp AT TIME ZONE 'UTC'
      GROUP BY 1 ORDER BY 1`,
    [beforeDay],
  );
  return rows;
}

/** Deletes files that storage holds but no committed manifest row lists. */
async function removeOrphans(deps: TierPassDeps): Promise<number> {
  const { rows } = await deps.pool.query<{ path: string }>(`SELECT path FROM cold_files`);
  const committed = new Set(rows.map((r) => r.path));
  let removed = 0;
  for (const file of await deps.engine.listFiles()) {
    if (!committed.has(file)) {
      await deps.engine.deleteFile(file);
      removed += 1;
    }
  }
  return removed;
}

async function tierPartition(
  deps: TierPassDeps,
  args: {
    passId: number;
    partition: HotPartition;
    workDir: string;
    verifier: pg.PoolClient;
    onStep: TierPassOptions['onStep'];
  },
): Promise<TieredDay> {
  const { name, day } = args.partition;
  const started = performance.now();
  const client = await deps.pool.connect();
  try {
    // Freeze (a row trigger, since rows arrive routed through the parent): from here on, writes into this day fail fast (TM001) and are retried.
    await client.query(`DROP TRIGGER IF EXISTS frozen ON ${name}`);
    await client.query(
      `CREATE TRIGGER frozen BEFORE INSERT OR UPDATE OR DELETE ON ${name}
         FOR EACH ROW EXECUTE FUNCTION reject_frozen_day()`,
    );
    await args.onStep?.('frozen', { day });

    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    // Tenants with rows in this day: one probe each that stops at the first row (an
    // EXISTS semi-join may hash the whole partition instead: 1.2 s for 5M rows).
    const { rows } = await client.query<{ tenant_id: string }>(
      `SELECT t.id AS tenant_id FROM tenants t
         CROSS JOIN LATERAL (SELECT FROM ${name} o WHERE o.tenant_id = t.id LIMIT 1) present`,
    );
    const files = await copyTenants(
      deps,
      client,
      { ...args, source: name, day },
      rows.map((r) => r.tenant_id),
    );
    await client.query('COMMIT');
    await args.onStep?.('verified', { day });

    await client.query('BEGIN');
    await recordFiles(client, day, args.passId, files);
    await advanceWatermark(client, addUtcDays(day, 1));
    await client.query(`DROP TABLE ${name}`);
    await client.query('COMMIT');
    await args.onStep?.('committed', { day });
    const rowsMoved = files.reduce((n, f) => n + f.rowCount, 0);
    const ms = Math.round(performance.now() - started);
    deps.log.info({ day, rows: rowsMoved, files: files.length, ms }, 'partition tiered');
    return { day, source: 'partition', rows: rowsMoved, files: files.length };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** Copies each tenant's rows of a day out of `source`, one verified file each. */
async function copyTenants(
  deps: TierPassDeps,
  client: pg.PoolClient,
  args: {
    source: string;
    day: string;
    passId: number;
    workDir: string;
    verifier: pg.PoolClient;
    onStep: TierPassOptions['onStep'];
  },
  tenantIds: string[],
): Promise<CopiedFile[]> {
  const files: CopiedFile[] = [];
  for (const tenantId of tenantIds) {
    files.push(await copyTenantDay(deps, client, args.verifier, { ...args, tenantId }));
    await args.onStep?.('written', { day: args.day, tenantId });
  }
  return files;
}

/** Days before `day` (UTC midnight) belong to the cold tier; the watermark never moves back. */
async function advanceWatermark(db: pg.Pool | pg.PoolClient, day: string): Promise<void> {
  await db.query(
    `UPDATE tier_watermark SET cold_before = greatest(cold_before, $1::date::timestamp AT TIME ZONE 'UTC'), updated_at = now()`,
    [day],
  );
}

async function tierLateRows(
  deps: TierPassDeps,
  args: {
    passId: number;
    day: string;
    workDir: string;
    verifier: pg.PoolClient;
    onStep: TierPassOptions['onStep'];
  },
): Promise<TieredDay> {
  const { day } = args;
  const client = await deps.pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    // Blocks writers of the default partition (late and far-future rows) for the
    // duration of this day's copy; readers go on.
    await client.query(`LOCK TABLE observations_default IN EXCLUSIVE MODE`);
    await args.onStep?.('frozen', { day });
    const dayStart = `${day}T00:00:00Z`;
    const dayEnd = `${addUtcDays(day, 1)}T00:00:00Z`;
    const { rows } = await client.query<{ tenant_id: string }>(
      `SELECT DISTINCT tenant_id FROM observations_default WHERE ts >= $1 AND ts < $2`,
      [dayStart, dayEnd],
    );
    const files = await copyTenants(
      deps,
      client,
      { ...args, source: 'observations_default' },
      rows.map((r) => r.tenant_id),
    );
    await args.onStep?.('verified', { day });
    await recordFiles(client, day, args.passId, files);
    const deleted = await client.query(
      `DELETE FROM observations_default WHERE ts >= $1 AND ts < $2`,
      [dayStart, dayEnd],
    );
    const rowsMoved = files.reduce((n, f) => n + f.rowCount, 0);
    if (deleted.rowCount !== rowsMoved) {
      throw new Error(
        `late rows of ${day} changed during tiering (${deleted.rowCount} vs ${rowsMoved})`,
      );
    }
    await client.query('COMMIT');
    await args.onStep?.('committed', { day });
    return { day, source: 'late', rows: rowsMoved, files: files.length };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
