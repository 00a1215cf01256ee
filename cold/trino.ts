// Scale-mode cold engine: Trino over an Iceberg table in S3. Tiering moves a tenant-day
// with one INSERT ... SELECT that Trino reads straight from the hot partition through
// its PostgreSQL catalog; every write is a "batch" (an Iceberg partition value) that
// readers see only once the PostgreSQL manifest lists it — the same protocol as the
// DuckDB engine's files, so a crash leaves an invisible batch that a later pass deletes.
import { BasicAuth, Trino, type QueryResult } from 'trino-client';
import type { KeyedPartial } from '../core/aggregates.ts';
import { histogramBinSql, type BinCount, type HistogramSpec } from '../core/histogram.ts';
import { sketchBinSql } from '../core/sketch.ts';
import {
  offsetMicrosSql,
  segmentStartMicrosSql,
  type BucketKind,
  type OffsetSegment,
} from '../core/buckets.ts';
import { EPOCH_US } from '../hot/hotQueries.ts';
import { addUtcDays } from '../hot/partitions.ts';
import {
  ColdEngineError,
  type ColdEngine,
  type ColdFile,
  type KeyedValueCount,
  type ValueCountQuery,
  type RowFingerprint,
  type SeriesQuery,
  type TenantDaySource,
  type WrittenFile,
} from './engine.ts';

export interface TrinoEngineOptions {
  url: string;
  user: string;
  /** Iceberg catalog and schema holding the observations table. */
  catalog: string;
  schema: string;
  /** Trino catalog over the hot PostgreSQL database (tiering reads partitions through it). */
  hotCatalog: string;
}

const quote = (s: string): string => `'${s.replaceAll("'", "''")}'`;
const ident = (s: string): string => {
  if (!/^[a-z_][a-z0-9_]*$/.test(s)) throw new Error(`not a plain SQL identifier: ${s}`);
  return s;
};
const int = (n: number): string => {
  if (!Number.isSafeInteger(n)) throw new Error(`not an integer: ${n}`);
  return String(n);
};

/** Bucket key expression in Trino's dialect (bigint `/` truncates; ts_us is positive). */
function bucketExpr(bucket: BucketKind, offsets: readonly OffsetSegment[]): string {
  const us = 'ts_us';
  switch (bucket.kind) {
    case 'epoch':
      return `(${us} / ${bucket.widthSeconds * 1_000_000}) * ${bucket.widthSeconds}`;
    case 'localHour': {
      const off = offsetMicrosSql(offsets, us);
      const seg = segmentStartMicrosSql(offsets, us);
      return `greatest((${us} + ${off}) / 3600000000 * 3600000000 - ${off}, ${seg}) / 1000000`;
    }
    case 'whole':
      return '0';
    case 'localDate':
      return `(${us} + ${offsetMicrosSql(offsets, us)}) / 86400000000`;
  }
}

/** Fingerprint of rows in Trino; must equal the hot tier's hotDayFingerprint exactly. */
const FINGERPRINT_SELECT = `
  count(*) AS row_count,
  concat_ws(':',
    CAST(coalesce(sum(CAST(entity_key AS decimal(38, 0))), 0) AS varchar),
    CAST(coalesce(sum(CAST(attribute_key AS decimal(38, 0))), 0) AS varchar),
    CAST(coalesce(sum(CAST(ts_us AS decimal(38, 0))), 0) AS varchar),
    CAST(coalesce(sum(CAST(floor(least(greatest(num, -1e15), 1e15) * 1000) AS decimal(38, 0))), 0) AS varchar),
    CAST(coalesce(sum(length(to_utf8(str))), 0) AS varchar),
    CAST(count(str) AS varchar),
    CAST(count_if(bool) AS varchar)) AS checksum`;

export class TrinoEngine implements ColdEngine {
  readonly name = 'trino';
  readonly readsFrom = 'hot';
  #queryCount = 0;
  private readonly client: Trino;
  private readonly table: string;

  private constructor(private readonly options: TrinoEngineOptions) {
    this.client = Trino.create({
      server: options.url,
      source: 'tidemark',
      auth: new BasicAuth(options.user),
    });
    this.table = `${ident(options.catalog)}.${ident(options.schema)}.observations`;
  }

  /** An engine that has run nothing yet (the client holds no connection between queries). */
  static connect(options: TrinoEngineOptions): TrinoEngine {
    return new TrinoEngine(options);
  }

  /** Connects and creates the schema and table when they do not exist yet. */
  static async open(options: TrinoEngineOptions): Promise<TrinoEngine> {
    const engine = new TrinoEngine(options);
    await engine.rows(
      `CREATE SCHEMA IF NOT EXISTS ${ident(options.catalog)}.${ident(options.schema)}`,
    );
    await engine.rows(`
      CREATE TABLE IF NOT EXISTS ${engine.table} (
        tenant_id varchar, attribute_key integer, entity_key bigint,
        ts timestamp(6) with time zone, ts_us bigint,
        num double, str varchar, bool boolean,
        day date, batch varchar)
      WITH (format = 'PARQUET',
            partitioning = ARRAY['day', 'tenant_id', 'batch'],
            sorted_by = ARRAY['attribute_key', 'entity_key', 'ts_us'])`);
    return engine;
  }

  get queryCount(): number {
    return this.#queryCount;
  }

  /**
   * Runs one statement and returns its rows. An aborted signal cancels the query in
   * Trino (it ends FAILED with USER_CANCELED) and rejects with the signal's reason.
   */
  async rows(sql: string, signal?: AbortSignal): Promise<unknown[][]> {
    this.#queryCount += 1;
    signal?.throwIfAborted();
    let queryId: string | undefined;
    const cancel = (): void => {
      if (queryId) void this.client.cancel(queryId).catch(() => undefined);
    };
    signal?.addEventListener('abort', cancel, { once: true });
    const out: unknown[][] = [];
    try {
      const pages = await this.client.query(sql);
      for await (const page of pages as AsyncIterable<QueryResult>) {
        queryId = page.id;
        if (signal?.aborted) {
          cancel();
          break;
        }
        if (page.error) {
          throw new ColdEngineError(
            page.error.errorName,
            `Trino query ${page.id} failed: ${page.error.errorName}: ${page.error.message}`,
          );
        }
        for (const row of page.data ?? []) out.push(row as unknown[]);
      }
    } finally {
      signal?.removeEventListener('abort', cancel);
    }
    signal?.throwIfAborted();
    return out;
  }

  private batchOf(source: TenantDaySource): string {
    return `day=${source.day}/tenant=${source.tenantId}/${source.fileTag}`;
  }

  async writeTenantDay(input: TenantDaySource): Promise<WrittenFile> {
    const batch = this.batchOf(input);
    const dayStart = `${input.day}T00:00:00Z`;
    const dayEnd = `${addUtcDays(input.day, 1)}T00:00:00Z`;
    // PostgreSQL computes the exact epoch microseconds (the checksum depends on them);
    // Trino reads the frozen partition through its PostgreSQL catalog.
    const hotSql =
      `SELECT tenant_id, attribute_key, entity_key, ts, ${EPOCH_US} AS ts_us, num, str, bool ` +
      `FROM ${ident(input.sourceTable)} WHERE tenant_id = ${quote(input.tenantId)} ` +
      `AND ts >= ${quote(dayStart)} AND ts < ${quote(dayEnd)}`;
    await this.rows(`
      INSERT INTO ${this.table}
      SELECT tenant_id, attribute_key, entity_key, ts, ts_us, num, str, bool,
             DATE ${quote(input.day)}, ${quote(batch)}
        FROM TABLE(${ident(this.options.hotCatalog)}.system.query(query => ${quote(hotSql)}))`);
    // Read back what the snapshot now holds for this batch, and its files' size.
    const [meta] = await this.rows(
      `SELECT ${FINGERPRINT_SELECT}, min(ts_us), max(ts_us),
              (SELECT coalesce(sum(file_size_in_bytes), 0) FROM ${this.metadataTable('files')}
                WHERE partition.batch = ${quote(batch)})
         FROM ${this.table} WHERE ${this.batchPredicate(input.tenantId, input.day, [batch])}`,
    );
    return {
      path: batch,
      rowCount: Number(meta![0]),
      checksum: String(meta![1]),
      bytes: Number(meta![4]),
      minTs: new Date(Number(meta![2]) / 1000),
      maxTs: new Date(Number(meta![3]) / 1000),
    };
  }

  /** One of Iceberg's metadata tables of the observations table. */
  private metadataTable(kind: 'files' | 'partitions'): string {
    return `${ident(this.options.catalog)}.${ident(this.options.schema)}."observations$${kind}"`;
  }

  /** Partition predicate for manifest-listed batches of one tenant (and day, if known). */
  private batchPredicate(tenantId: string, day: string | null, batches: string[]): string {
    return (
      `tenant_id = ${quote(tenantId)}` +
      (day ? ` AND day = DATE ${quote(day)}` : '') +
      ` AND batch IN (${batches.map(quote).join(', ')})`
    );
  }

  async fingerprint(batch: string, tenantId: string): Promise<RowFingerprint> {
    const [row] = await this.rows(
      `SELECT ${FINGERPRINT_SELECT} FROM ${this.table} WHERE ${this.batchPredicate(tenantId, null, [batch])}`,
    );
    return { rowCount: Number(row![0]), checksum: String(row![1]) };
  }

  /**
   * The one builder every cold read goes through: manifest-listed batches of the
   * query's tenant, with the tenant, attribute, entity and time predicates always added
   * (defence in depth: the manifest is already tenant-scoped). Groups by the first
   * `groupBy` select columns.
   */
  private async scan(
    files: ColdFile[],
    query: ValueCountQuery,
    select: string,
    rowFilter: string,
    signal?: AbortSignal,
    groupBy = 2,
  ): Promise<unknown[][]> {
    const own = files.filter((f) => f.tenantId === query.tenantId);
    if (own.length === 0 || query.entityKeys.length === 0) return [];
    const { exclude } = query;
    const day = (ms: number): string => quote(new Date(ms).toISOString().slice(0, 10));
    return this.rows(
      `SELECT ${select}
         FROM ${this.table}
        WHERE ${this.batchPredicate(
          query.tenantId,
          null,
          own.map((f) => f.path),
        )}
          AND day >= DATE ${day(query.fromMs - 86_400_000)} AND day <= DATE ${day(query.toMs + 86_400_000)}
          AND attribute_key = ${int(query.attributeKey)}
          AND entity_key IN (${query.entityKeys.map(int).join(', ')})
          AND ts_us >= ${int(query.fromMs * 1000)} AND ts_us < ${int(query.toMs * 1000)}
          ${
            exclude
              ? `AND NOT (ts_us >= ${int(exclude.fromMs * 1000)} AND ts_us < ${int(exclude.toMs * 1000)})`
              : ''
          }
          AND ${rowFilter}
        GROUP BY ${Array.from({ length: groupBy }, (_, i) => i + 1).join(', ')}`,
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
       ${query.sketch ? `${sketchBinSql('num')},` : ''}
       count(num), sum(num), min(num), max(num), sum(num * num)`,
      'num IS NOT NULL',
      signal,
      query.sketch ? 3 : 2,
    );
    const at = query.sketch ? 3 : 2; // first aggregate column
    return rows.map((r) => ({
      entityKey: Number(r[0]),
      bucketKey: Number(r[1]),
      ...(query.sketch ? { bin: Number(r[2]) } : {}),
      count: Number(r[at]),
      sum: Number(r[at + 1]),
      min: Number(r[at + 2]),
      max: Number(r[at + 3]),
      sumSquares: Number(r[at + 4]),
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
      'entity_key, coalesce(str, CAST(bool AS varchar)), count(*)',
      'num IS NULL',
      signal,
    );
    return rows.map((r) => ({ entityKey: Number(r[0]), value: String(r[1]), count: Number(r[2]) }));
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
      `${histogramBinSql('num', spec)}, count(*)`,
      'num IS NOT NULL',
      signal,
      1,
    );
    return rows.map((r) => ({ bin: Number(r[0]), count: Number(r[1]) }));
  }

  async ping(): Promise<void> {
    await this.rows(`SELECT count(*) FROM ${this.table} WHERE false`);
  }

  /** Every batch in the table, committed to the manifest or not (for orphan clean-up). */
  async listFiles(): Promise<string[]> {
    const rows = await this.rows(
      `SELECT DISTINCT partition.batch
         FROM ${this.metadataTable('partitions')}`,
    );
    return rows.map((r) => String(r[0])).sort();
  }

  /** Drops a batch: a whole partition, so Iceberg removes it as metadata only. */
  async deleteFile(batch: string): Promise<void> {
    const day = /^day=(\d{4}-\d{2}-\d{2})\/tenant=([^/]+)\//.exec(batch);
    if (!day) throw new Error(`not a batch of this engine: ${batch}`);
    await this.rows(
      `DELETE FROM ${this.table} WHERE ${this.batchPredicate(day[2]!, day[1]!, [batch])}`,
    );
  }

  async close(): Promise<void> {
    // The client holds no connections between queries.
  }
}

/**
 * Adds a Trino catalog over a PostgreSQL database (needs `catalog.management=dynamic`),
 * for tiering to read that database's partitions: tests and benchmarks give each of
 * their databases one. Its user must see every tenant's rows (owner or superuser).
 */
export async function ensureHotCatalog(
  trino: TrinoEngine,
  catalog: string,
  postgresUrl: string,
): Promise<void> {
  const u = new URL(postgresUrl);
  const jdbc = `jdbc:postgresql://${u.hostname}:${u.port || 5432}${u.pathname}`;
  try {
    await trino.rows(
      `CREATE CATALOG ${ident(catalog)} USING postgresql WITH (
         "connection-url" = ${quote(jdbc)},
         "connection-user" = ${quote(decodeURIComponent(u.username))},
         "connection-password" = ${quote(decodeURIComponent(u.password))})`,
    );
  } catch (err) {
    if (!(err instanceof ColdEngineError && /already exists/i.test(err.message))) throw err;
  }
}
