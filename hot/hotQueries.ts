// Aggregates over hot rows in PostgreSQL's dialect. Same partial shape and bucket keys
// as the cold engines, so the tier router merges them exactly.
import type pg from 'pg';
import type { KeyedPartial } from '../core/aggregates.ts';
import { histogramBinSql, type BinCount, type HistogramSpec } from '../core/histogram.ts';
import { sketchBinSql } from '../core/sketch.ts';
import {
  offsetMicrosSql,
  segmentStartMicrosSql,
  type BucketKind,
  type OffsetSegment,
} from '../core/buckets.ts';
import type {
  KeyedValueCount,
  RowFingerprint,
  SeriesQuery,
  TimeRange,
  ValueCountQuery,
} from '../cold/engine.ts';

/** Bucket key expression in PostgreSQL's dialect, by integer arithmetic on epoch µs. */
/**
 * A row's epoch microseconds, exactly (numeric extract). A float8 date_part() is ~40%
 * cheaper but was measured off by 1 µs for thousands of instants past ~2100 or before
 * 1970, which would break the tiering checksum, so exactness wins.
 */
export const EPOCH_US = `(extract(epoch FROM ts) * 1000000)::bigint`;

function bucketExpr(bucket: BucketKind, offsets: readonly OffsetSegment[], us = EPOCH_US): string {
  switch (bucket.kind) {
    case 'epoch':
      return `(div(${us}, ${bucket.widthSeconds * 1_000_000}) * ${bucket.widthSeconds})::bigint`;
    case 'localHour': {
      const off = offsetMicrosSql(offsets, us);
      const seg = segmentStartMicrosSql(offsets, us);
      return `div(greatest(div(${us} + ${off}, 3600000000) * 3600000000 - ${off}, ${seg}), 1000000)::bigint`;
    }
    case 'whole':
      return '0';
    case 'localDate':
      return `div(${us} + ${offsetMicrosSql(offsets, us)}, 86400000000)::bigint`;
  }
}

/**
 * The hot tier's side of every aggregate read, in a tenant-scoped transaction: RLS and
 * the tenant predicate both scope it. Groups by the first `groupBy` select columns.
 */
async function hotScan<R extends pg.QueryResultRow>(
  client: pg.PoolClient,
  query: ValueCountQuery,
  select: string,
  rowFilter: string,
  groupBy = 2,
): Promise<R[]> {
  if (query.entityKeys.length === 0) return [];
  const { exclude } = query;
  const { rows } = await client.query<R>(
    `SELECT ${select}
       FROM observations
      WHERE tenant_id = $1 AND attribute_key = $2 AND entity_key = ANY($3::bigint[])
        AND ${
          // [from, to) without [exclude): two ranges, so partitions inside the excluded
          // span are pruned and index ranges stay tight.
          exclude ? '((ts >= $4 AND ts < $6) OR (ts >= $7 AND ts < $5))' : 'ts >= $4 AND ts < $5'
        }
        AND ${rowFilter}
      GROUP BY ${Array.from({ length: groupBy }, (_, i) => i + 1).join(', ')}`,
    [
      query.tenantId,
      query.attributeKey,
      query.entityKeys,
      new Date(query.fromMs),
      new Date(query.toMs),
      ...(exclude ? [new Date(exclude.fromMs), new Date(exclude.toMs)] : []),
    ],
  );
  return rows;
}

/** A partial aggregate as the hot and warm reads select it. */
interface PartialRow {
  entity_key: number;
  bucket_key: number;
  bin?: number;
  c: number;
  s: number;
  mn: number;
  mx: number;
  ss: number;
}

const toKeyedPartial = (r: PartialRow): KeyedPartial => ({
  entityKey: Number(r.entity_key),
  bucketKey: Number(r.bucket_key),
  ...(r.bin !== undefined ? { bin: r.bin } : {}),
  count: r.c,
  sum: r.s,
  min: r.mn,
  max: r.mx,
  sumSquares: r.ss,
});

/**
 * The warm tier's side: rollup slots inside `ranges` (whole slots of the query's range
 * that the rollups hold completely), bucketed like rows and kept apart per UTC day
 * (start in ms → partials) so that the router can cache a day's partials on its own. A
 * slot never straddles a bucket nor a UTC day, so the partials equal those of the rows
 * they roll up; a bucket that spans days has one partial per day, merged later.
 * `ranges` must not overlap (a slot in two of them would count twice).
 */
export async function warmSeriesPartials(
  client: pg.PoolClient,
  query: SeriesQuery,
  ranges: TimeRange[],
): Promise<Map<number, KeyedPartial[]>> {
  const byDay = new Map<number, KeyedPartial[]>();
  if (query.entityKeys.length === 0 || ranges.length === 0) return byDay;
  const slotUs = `(extract(epoch FROM slot) * 1000000)::bigint`;
  // The ranges as literal conditions, so the planner sees how few slots they hold:
  // those of a dashboard whose past days are cached are its first and last day, with
  // up to the whole warm window between them, and a hull scan read all of that.
  // (An unnest of the ranges, even laterally joined, is planned blind and was
  // answered with the whole table once statistics existed.)
  const bounds = ranges.flatMap((r) => [new Date(r.fromMs), new Date(r.toMs)]);
  const inRanges = ranges
    .map((_, k) => `(slot >= $${4 + 2 * k} AND slot < $${5 + 2 * k})`)
    .join(' OR ');
  const { rows } = await client.query<PartialRow & { day: number }>(
    `SELECT entity_key, ${bucketExpr(query.bucket, query.offsets, slotUs)} AS bucket_key,
            (div(extract(epoch FROM slot)::bigint, 86400) * 86400000)::float8 AS day,
            sum(count)::float8 AS c, sum(sum) AS s, min(min) AS mn, max(max) AS mx,
            sum(sum_squares) AS ss
       FROM observation_rollups
      WHERE tenant_id = $1 AND attribute_key = $2 AND entity_key = ANY($3::bigint[])
        AND (${inRanges})
      GROUP BY 1, 2, 3`,
    [query.tenantId, query.attributeKey, query.entityKeys, ...bounds],
  );
  for (const r of rows) {
    const partials = byDay.get(r.day);
    if (partials) partials.push(toKeyedPartial(r));
    else byDay.set(r.day, [toKeyedPartial(r)]);
  }
  return byDay;
}

export async function hotSeriesPartials(
  client: pg.PoolClient,
  query: SeriesQuery,
): Promise<KeyedPartial[]> {
  const rows = await hotScan<PartialRow>(
    client,
    query,
    `entity_key, ${bucketExpr(query.bucket, query.offsets)} AS bucket_key,
     ${query.sketch ? `${sketchBinSql('num')} AS bin,` : ''}
     count(num) AS c, sum(num) AS s, min(num) AS mn, max(num) AS mx, sum(num * num) AS ss`,
    'num IS NOT NULL',
    query.sketch ? 3 : 2,
  );
  return rows.map(toKeyedPartial);
}

/** Rows per distinct string/boolean value and entity; same shape as the cold engines'. */
export async function hotValueCounts(
  client: pg.PoolClient,
  query: ValueCountQuery,
): Promise<KeyedValueCount[]> {
  const rows = await hotScan<{ entity_key: number; value: string; n: number }>(
    client,
    query,
    'entity_key, coalesce(str, bool::text) AS value, count(*)::int AS n',
    'num IS NULL',
  );
  return rows.map((r) => ({ entityKey: Number(r.entity_key), value: r.value, count: r.n }));
}

/** Numeric rows per histogram bin; same bins as the cold engines'. */
export async function hotHistogram(
  client: pg.PoolClient,
  query: ValueCountQuery,
  spec: HistogramSpec,
): Promise<BinCount[]> {
  const rows = await hotScan<{ bin: number; n: number }>(
    client,
    query,
    `${histogramBinSql('num', spec)} AS bin, count(*)::int AS n`,
    'num IS NOT NULL',
    1,
  );
  return rows.map((r) => ({ bin: r.bin, count: r.n }));
}

/**
 * Microseconds since `dayStartMs` (a UTC midnight), exact for rows of that day and far
 * cheaper than EPOCH_US: the interval's float seconds are off by < 1e-4 µs within a
 * day, so rounding gives the exact integer, with no numeric arithmetic per row.
 */
export const dayMicrosSql = (dayStartMs: number): string =>
  `(date_part('epoch', ts - '${new Date(dayStartMs).toISOString()}'::timestamptz) * 1000000)::bigint`;

/**
 * Fingerprint of one UTC day's rows in a hot table; must equal the cold engines'
 * FINGERPRINT_SELECT exactly. Each term is an integer sum:
 * - the timestamp term is the sum of epoch µs, computed as the sum of µs since the day's
 *   start plus rows × the start;
 * - |num * 1000| <= 1e18 fits bigint, and a bigint sum is exact and four times cheaper
 *   than summing numerics; rows without a number are skipped explicitly (PostgreSQL's
 *   and DuckDB's greatest() ignore a NULL, Trino's returns NULL);
 * - non-null strings are counted apart from their bytes, so an empty string that came
 *   back as NULL does not pass.
 */
export async function hotDayFingerprint(
  client: pg.PoolClient,
  source: string,
  where: string,
  dayStartMs: number,
): Promise<RowFingerprint> {
  const { rows } = await client.query<{ row_count: number; checksum: string }>(
    `SELECT count(*) AS row_count,
            concat_ws(':',
              coalesce(sum(entity_key), 0)::text,
              coalesce(sum(attribute_key), 0)::text,
              (coalesce(sum(${dayMicrosSql(dayStartMs)}), 0) + count(*)::numeric * ${dayStartMs * 1000})::text,
              coalesce(sum(floor(least(greatest(num, -1e15), 1e15) * 1000)::bigint) FILTER (WHERE num IS NOT NULL), 0)::text,
              coalesce(sum(octet_length(str)), 0)::text,
              count(str)::text,
              count(*) FILTER (WHERE bool)::text) AS checksum
       FROM ${source} WHERE ${where}`,
  );
  return { rowCount: rows[0]!.row_count, checksum: rows[0]!.checksum };
}
