// Embedded cold engine: DuckDB reading and writing zstd Parquet under a local lake
// directory, one file per tenant-day and tiering pass, sorted by
// (tenant, attribute, entity, ts).
import { constants } from 'node:fs';
import { access, mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import type { KeyedPartial } from '../core/aggregates.ts';
import { histogramBinSql, type BinCount, type HistogramSpec } from '../core/histogram.ts';
import { sketchBinSql } from '../core/sketch.ts';
import {
  offsetMicrosSql,
  segmentStartMicrosSql,
  type BucketKind,
  type OffsetSegment,
} from '../core/buckets.ts';
import {
  OBSERVATION_EXTRACT_COLUMNS,
  type ColdEngine,
  type ColdFile,
  type KeyedValueCount,
  type ValueCountQuery,
  type RowFingerprint,
  type SeriesQuery,
  type TenantDaySource,
  type WrittenFile,
} from './engine.ts';

const quote = (s: string): string => `'${s.replaceAll("'", "''")}'`;

/** Bucket key expression in DuckDB's dialect, by integer arithmetic on epoch µs. */
function bucketExpr(bucket: BucketKind, offsets: readonly OffsetSegment[]): string {
  const us = 'epoch_us(ts)';
  switch (bucket.kind) {
    case 'epoch':
      return `(${us} // ${bucket.widthSeconds * 1_000_000}) * ${bucket.widthSeconds}`;
    case 'localHour': {
      const off = offsetMicrosSql(offsets, us);
      const seg = segmentStartMicrosSql(offsets, us);
      return `greatest((${us} + ${off}) // 3600000000 * 3600000000 - ${off}, ${seg}) // 1000000`;
    }
    case 'whole':
      return '0';
    case 'localDate':
      return `(${us} + ${offsetMicrosSql(offsets, us)}) // 86400000000`;
  }
}

/** Fingerprint of rows in DuckDB; must equal the hot tier's hotDayFingerprint exactly. */
const FINGERPRINT_SELECT = `
  count(*)::BIGINT AS row_count,
  concat_ws(':',
    coalesce(sum(entity_key), 0)::VARCHAR,
    coalesce(sum(attribute_key), 0)::VARCHAR,
    coalesce(sum(epoch_us(ts)), 0)::VARCHAR,
    coalesce(sum(floor(least(greatest(num, -1e15), 1e15) * 1000)::HUGEINT) FILTER (WHERE num IS NOT NULL), 0)::VARCHAR,
    coalesce(sum(strlen(str)), 0)::VARCHAR,
    count(str)::VARCHAR,
    count(*) FILTER (WHERE bool)::VARCHAR) AS checksum`;

const EXTRACT_TYPES: Record<(typeof OBSERVATION_EXTRACT_COLUMNS)[number], string> = {
  attribute_key: 'INTEGER',
  entity_key: 'BIGINT',
  day_us: 'BIGINT',
  num: 'DOUBLE',
  str: 'VARCHAR',
  bool: 'BOOLEAN',
};
const EXTRACT_COLUMN_TYPES = OBSERVATION_EXTRACT_COLUMNS.map(
  (c) => `'${c}': '${EXTRACT_TYPES[c]}'`,
).join(', ');

export class DuckDbEngine implements ColdEngine {
  readonly name = 'duckdb';
  readonly readsFrom = 'extract';
  #queryCount = 0;

  private constructor(
    private readonly instance: DuckDBInstance,
    readonly lakeDir: string,
  ) {}

  static async open(lakeDir: string, options: { threads?: number } = {}): Promise<DuckDbEngine> {
    await mkdir(lakeDir, { recursive: true });
    const instance = await DuckDBInstance.create(':memory:', {
      threads: String(options.threads ?? 2),
    });
    return new DuckDbEngine(instance, lakeDir);
  }

  get queryCount(): number {
    return this.#queryCount;
  }

  private async withConnection<T>(
    fn: (c: DuckDBConnection) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    const connection = await this.instance.connect();
    const onAbort = (): void => connection.interrupt();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      signal?.throwIfAborted();
      return await fn(connection);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      connection.closeSync();
    }
  }

  private async rows(
    sql: string,
    values: Record<string, DuckDBValue> = {},
    signal?: AbortSignal,
  ): Promise<Record<string, unknown>[]> {
    this.#queryCount += 1;
    return this.withConnection(async (c) => {
      const reader = await c.runAndReadAll(sql, values);
      return reader.getRowObjectsJS() as Record<string, unknown>[];
    }, signal);
  }

  async writeTenantDay(input: TenantDaySource & { extractPaths?: string[] }): Promise<WrittenFile> {
    const files = input.extractPaths ?? [];
    if (files.length === 0) throw new Error('the DuckDB engine writes from an extract');
    const relative = path.join(
      `day=${input.day}`,
      `tenant=${input.tenantId}`,
      `${input.fileTag}.parquet`,
    );
    const target = path.join(this.lakeDir, relative);
    await mkdir(path.dirname(target), { recursive: true });
    // Loading the extract into a table first and sorting that is faster than sorting
    // straight out of read_csv (5M rows: 3.2 s against 5.2 s on 2 cores). PostgreSQL's
    // CSV writes NULL as nothing and an empty string as "": only the former is NULL. No
    // sniffing: a part of the extract may be empty.
    this.#queryCount += 1;
    await this.withConnection(async (c) => {
      await c.run(`
        CREATE TEMP TABLE tier_extract AS
        SELECT ${quote(input.tenantId)} AS tenant_id, attribute_key, entity_key,
               make_timestamptz(${Date.parse(`${input.day}T00:00:00Z`) * 1000} + day_us) AS ts,
               num, str, bool
          FROM read_csv([${files.map(quote).join(', ')}], columns = {${EXTRACT_COLUMN_TYPES}},
            header = false, auto_detect = false, nullstr = '', allow_quoted_nulls = false)`);
      await c.run(`
        COPY (SELECT * FROM tier_extract ORDER BY attribute_key, entity_key, ts)
          TO ${quote(target)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)`);
      await c.run(`DROP TABLE tier_extract`);
    });
    const [meta] = await this.rows(
      `SELECT ${FINGERPRINT_SELECT}, min(ts) AS min_ts, max(ts) AS max_ts
         FROM read_parquet(${quote(target)})`,
    );
    const { size } = await stat(target);
    return {
      path: relative,
      rowCount: Number(meta!.row_count),
      checksum: String(meta!.checksum),
      bytes: size,
      minTs: new Date(meta!.min_ts as Date),
      maxTs: new Date(meta!.max_ts as Date),
    };
  }

  async fingerprint(relative: string, tenantId: string): Promise<RowFingerprint> {
    const [row] = await this.rows(
      `SELECT ${FINGERPRINT_SELECT} FROM read_parquet(${quote(this.resolve(relative))})
        WHERE tenant_id = $tenant`,
      { tenant: tenantId },
    );
    return { rowCount: Number(row!.row_count), checksum: String(row!.checksum) };
  }

  /**
   * The one builder every cold read goes through: manifest-listed files of the query's
   * tenant, with the tenant, attribute, entity and time predicates always added
   * (defence in depth: the manifest is already tenant-scoped). `select` and `rowFilter`
   * are the read's own columns and row filter; rows are grouped by every select column
   * that is not an aggregate.
   */
  private async scan(
    files: ColdFile[],
    query: ValueCountQuery,
    select: string,
    rowFilter: string,
    signal?: AbortSignal,
  ): Promise<Record<string, unknown>[]> {
    const own = files.filter((f) => f.tenantId === query.tenantId);
    if (own.length === 0 || query.entityKeys.length === 0) return [];
    const { exclude } = query;
    const list = own.map((f) => quote(this.resolve(f.path))).join(', ');
    return this.rows(
      `SELECT ${select}
         FROM read_parquet([${list}])
        WHERE tenant_id = $tenant AND attribute_key = $attribute::INTEGER
          AND entity_key IN (SELECT unnest(string_split($entities, ','))::BIGINT)
          AND ts >= make_timestamptz($from_us::BIGINT) AND ts < make_timestamptz($to_us::BIGINT)
          ${
            exclude
              ? `AND NOT (ts >= make_timestamptz($ex_from_us::BIGINT)
                          AND ts < make_timestamptz($ex_to_us::BIGINT))`
              : ''
          }
          AND ${rowFilter}
        GROUP BY ALL`,
      {
        tenant: query.tenantId,
        attribute: query.attributeKey,
        entities: query.entityKeys.join(','),
        from_us: BigInt(query.fromMs) * 1000n,
        to_us: BigInt(query.toMs) * 1000n,
        ...(exclude
          ? {
              ex_from_us: BigInt(exclude.fromMs) * 1000n,
              ex_to_us: BigInt(exclude.toMs) * 1000n,
            }
          : {}),
      },
      signal,
    );
  }

  async seriesPartials(
    files: ColdFile[],
    query: SeriesQuery,
    signal?: AbortSignal,
  ): Promise<KeyedPartial[]> {
    const rows = await this.scan(
      files,
      query,
      `entity_key, ${bucketExpr(query.bucket, query.offsets)} AS bucket_key,
       ${query.sketch ? `${sketchBinSql('num')} AS bin,` : ''}
       count(num)::DOUBLE AS c, sum(num) AS s, min(num) AS mn, max(num) AS mx,
       sum(num * num) AS ss`,
      'num IS NOT NULL',
      signal,
    );
    return rows.map((r) => ({
      entityKey: Number(r.entity_key),
      bucketKey: Number(r.bucket_key),
      ...(query.sketch ? { bin: Number(r.bin) } : {}),
      count: Number(r.c),
      sum: Number(r.s),
      min: Number(r.mn),
      max: Number(r.mx),
      sumSquares: Number(r.ss),
    }));
  }

  async valueCounts(
    files: ColdFile[],
    query: ValueCountQuery,
    signal?: AbortSignal,
  ): Promise<KeyedValueCount[]> {
    const rows = await this.scan(
      files,
      query,
      `entity_key, coalesce(str, CASE WHEN bool THEN 'true' ELSE 'false' END) AS value,
       count(*)::DOUBLE AS n`,
      'num IS NULL',
      signal,
    );
    return rows.map((r) => ({
      entityKey: Number(r.entity_key),
      value: String(r.value),
      count: Number(r.n),
    }));
  }

  async histogram(
    files: ColdFile[],
    query: ValueCountQuery,
    spec: HistogramSpec,
    signal?: AbortSignal,
  ): Promise<BinCount[]> {
    const rows = await this.scan(
      files,
      query,
      `${histogramBinSql('num', spec)} AS bin, count(*)::DOUBLE AS n`,
      'num IS NOT NULL',
      signal,
    );
    return rows.map((r) => ({ bin: Number(r.bin), count: Number(r.n) }));
  }

  async ping(): Promise<void> {
    await access(this.lakeDir, constants.R_OK | constants.W_OK);
    await this.withConnection((c) => c.run('SELECT 1'));
  }

  async listFiles(): Promise<string[]> {
    const entries = await readdir(this.lakeDir, { recursive: true });
    return entries.filter((e) => e.endsWith('.parquet')).sort();
  }

  async deleteFile(relative: string): Promise<void> {
    await rm(this.resolve(relative), { force: true });
  }

  private resolve(relative: string): string {
    const full = path.resolve(this.lakeDir, relative);
    if (!full.startsWith(path.resolve(this.lakeDir) + path.sep)) {
      throw new Error(`cold file path escapes the lake: ${relative}`);
    }
    return full;
  }

  async close(): Promise<void> {
    this.instance.closeSync();
  }
}
