// What each tier holds for the caller's tenant, where the watermark stands and how
// the last tiering pass went. Hot bytes are estimated from the tenant's share of
// the partitions' rows (PostgreSQL keeps sizes per table, not per tenant).
import type pg from 'pg';
import { withTenant } from '../../../hot/database.ts';

export interface TierUsage {
  days: number;
  firstDay: string | null;
  lastDay: string | null;
  rows: number;
  bytes: number;
}

export interface PassReport {
  id: number;
  startedAt: Date;
  finishedAt: Date | null;
  outcome: string;
  durationMs: number | null;
  daysMoved: number;
  error: string | null;
}

export interface TierStatusReport {
  watermark: Date | null;
  hot: TierUsage;
  warm: TierUsage;
  cold: TierUsage;
  lastPass: PassReport | null;
}

export async function readTierStatus(pool: pg.Pool, tenantId: string): Promise<TierStatusReport> {
  return withTenant(
    pool,
    tenantId,
    async (c) => {
      const { rows: wm } = await c.query<{ cold_before: Date | number }>(
        'SELECT cold_before FROM tier_watermark',
      );
      const coldBefore = wm[0]?.cold_before;
      const { rows: hot } = await c.query<{
        days: number;
        first_day: string | null;
        last_day: string | null;
        rows: number;
      }>(
        `SELECT count(DISTINCT (ts AT TIME ZONE 'UTC')::date) AS days,
                to_char(min(ts) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS first_day,
                to_char(max(ts) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS last_day,
                count(*) AS rows
           FROM observations WHERE tenant_id = $1`,
        [tenantId],
      );
      const { rows: size } = await c.query<{ bytes: number; rows: number }>(
        `SELECT coalesce(sum(pg_total_relation_size(i.inhrelid)), 0) AS bytes,
                coalesce(sum(greatest(cl.reltuples, 0)), 0) AS rows
           FROM pg_inherits i JOIN pg_class cl ON cl.oid = i.inhrelid
          WHERE i.inhparent = 'observations'::regclass`,
      );
      const { rows: cold } = await c.query<{
        days: number;
        first_day: string | null;
        last_day: string | null;
        rows: number;
        bytes: number;
      }>(
        `SELECT count(DISTINCT day) AS days, to_char(min(day), 'YYYY-MM-DD') AS first_day,
                to_char(max(day), 'YYYY-MM-DD') AS last_day,
                coalesce(sum(row_count), 0) AS rows, coalesce(sum(bytes), 0) AS bytes
           FROM cold_files WHERE tenant_id = $1`,
        [tenantId],
      );
      // Warm: the observations its rollups stand for; bytes as the tenant's share of
      // the rollup table's rows.
      const { rows: warm } = await c.query<{
        days: number;
        first_day: string | null;
        last_day: string | null;
        rows: number;
        rollup_rows: number;
        table_bytes: number;
        table_rows: number;
      }>(
        `SELECT count(DISTINCT (slot AT TIME ZONE 'UTC')::date)::int AS days,
                to_char(min(slot) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS first_day,
                to_char(max(slot) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS last_day,
                coalesce(sum(count), 0)::float8 AS rows, count(*)::float8 AS rollup_rows,
                pg_total_relation_size('observation_rollups')::float8 AS table_bytes,
                greatest((SELECT reltuples FROM pg_class WHERE oid = 'observation_rollups'::regclass), 0)::float8 AS table_rows
           FROM observation_rollups WHERE tenant_id = $1`,
        [tenantId],
      );
      const w = warm[0]!;
      const { rows: passes } = await c.query<{
        id: number;
        started_at: Date;
        finished_at: Date | null;
        outcome: string;
        days_moved: number;
        error: string | null;
      }>(
        'SELECT id, started_at, finished_at, outcome, days_moved, error FROM tier_passes ORDER BY id DESC LIMIT 1',
      );
      const h = hot[0]!;
      const totalRows = size[0]!.rows;
      const hotBytes =
        totalRows > 0 ? Math.round((size[0]!.bytes * h.rows) / Math.max(totalRows, h.rows)) : 0;
      const p = passes[0];
      return {
        watermark: coldBefore instanceof Date ? coldBefore : null,
        hot: {
          days: h.days,
          firstDay: h.first_day,
          lastDay: h.last_day,
          rows: h.rows,
          bytes: hotBytes,
        },
        warm: {
          days: w.days,
          firstDay: w.first_day,
          lastDay: w.last_day,
          rows: w.rows,
          bytes:
            w.rollup_rows > 0
              ? Math.round((w.table_bytes * w.rollup_rows) / Math.max(w.table_rows, w.rollup_rows))
              : 0,
        },
        cold: {
          days: cold[0]!.days,
          firstDay: cold[0]!.first_day,
          lastDay: cold[0]!.last_day,
          rows: cold[0]!.rows,
          bytes: cold[0]!.bytes,
        },
        lastPass: p
          ? {
              id: p.id,
              startedAt: p.started_at,
              finishedAt: p.finished_at,
              outcome: p.outcome,
              durationMs: p.finished_at ? p.finished_at.getTime() - p.started_at.getTime() : null,
              daysMoved: p.days_moved,
              // Another tenant's row may be named in a failure; say only that it failed.
              error: p.error ? 'the pass failed; operators have the details in the logs' : null,
            }
          : null,
      };
    },
    { readOnly: true, repeatableRead: true },
  );
}
