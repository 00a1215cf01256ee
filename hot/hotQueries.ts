// Aggregates over hot rows in PostgreSQL's dialect. Same partial shape and bucket keys
// as the cold engines, so the tier router merges them exactly.
import type pg from 'pg';
import type { KeyedPartial } from '../core/aggregates.ts';
import type { BucketKind } from '../core/buckets.ts';
import type { RowFingerprint, SeriesQuery } from '../cold/engine.ts';

function bucketExpr(bucket: BucketKind, tzParam: string): string {
  const epoch = `extract(epoch FROM ts)`;
  switch (bucket.kind) {
    case 'epoch':
      return `(floor(${epoch} / ${bucket.widthSeconds}) * ${bucket.widthSeconds})::bigint`;
    case 'localHour': {
      const off = `extract(epoch FROM (ts AT TIME ZONE ${tzParam}) - (ts AT TIME ZONE 'UTC'))`;
      return `(floor((${epoch} + ${off}) / 3600) * 3600 - ${off})::bigint`;
    }
    case 'localDate':
      return `to_char((ts AT TIME ZONE ${tzParam})::date, 'YYYY-MM-DD')`;
  }
}

/** Runs inside a tenant-scoped transaction; RLS and the predicate both scope it. */
export async function hotSeriesPartials(
  client: pg.PoolClient,
  query: SeriesQuery,
): Promise<KeyedPartial[]> {
  if (query.entityKeys.length === 0) return [];
  const { rows } = await client.query<{
    entity_key: number;
    bucket_key: number | string;
    c: number;
    s: number;
    mn: number;
    mx: number;
    ss: number;
  }>(
    `SELECT entity_key, ${bucketExpr(query.bucket, '$6::text')} AS bucket_key,
            count(num) AS c, sum(num) AS s, min(num) AS mn, max(num) AS mx, sum(num * num) AS ss
       FROM observations
      WHERE tenant_id = $1 AND attribute_key = $2 AND entity_key = ANY($3::bigint[])
        AND ts >= $4 AND ts < $5 AND num IS NOT NULL
      GROUP BY 1, 2`,
    [
      query.tenantId,
      query.attributeKey,
      query.entityKeys,
      new Date(query.fromMs),
      new Date(query.toMs),
      query.timeZone,
    ],
  );
  return rows.map((r) => ({
    entityKey: Number(r.entity_key),
    bucketKey: r.bucket_key,
    count: r.c,
    sum: r.s,
    min: r.mn,
    max: r.mx,
    sumSquares: r.ss,
  }));
}

/** Fingerprint SQL over a row source; must equal the cold engines' exactly. */
export const FINGERPRINT_SELECT = `
  count(*) AS row_count,
  concat_ws(':',
    coalesce(sum(entity_key), 0)::text,
    coalesce(sum(attribute_key), 0)::text,
    coalesce(sum((extract(epoch FROM ts) * 1000000)::bigint), 0)::text,
    coalesce(sum(floor(least(greatest(num, -1e15), 1e15) * 1000)::numeric), 0)::text,
    coalesce(sum(octet_length(str)), 0)::text,
    count(*) FILTER (WHERE bool)::text) AS checksum`;

export async function hotFingerprint(
  client: pg.PoolClient,
  source: string,
  where: string,
  params: unknown[],
): Promise<RowFingerprint> {
  const { rows } = await client.query<{ row_count: number; checksum: string }>(
    `SELECT ${FINGERPRINT_SELECT} FROM ${source} WHERE ${where}`,
    params,
  );
  return { rowCount: rows[0]!.row_count, checksum: rows[0]!.checksum };
}
