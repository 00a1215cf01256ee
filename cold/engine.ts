// The cold-tier engine interface. DuckDB over local Parquet implements it for the
// embedded default; a Trino engine over Iceberg implements it at scale. SQL dialect
// differences live behind it, and every read carries the tenant predicate.
import type { KeyedPartial } from '../core/aggregates.ts';
import type { BinCount, HistogramSpec } from '../core/histogram.ts';
import type { BucketKind, OffsetSegment } from '../core/buckets.ts';

/**
 * An engine's own failure, named by the engine's error code (e.g. Trino's
 * EXCEEDED_TIME_LIMIT); the message may hold SQL and is for logs only.
 */
export class ColdEngineError extends Error {
  constructor(
    readonly errorName: string,
    message: string,
  ) {
    super(message);
    this.name = 'ColdEngineError';
  }
}

/** A committed cold file, as the manifest lists it. */
export interface ColdFile {
  tenantId: string;
  day: string;
  path: string;
  rowCount: number;
}

/** Row count plus an order-independent fingerprint of the rows' contents. */
export interface RowFingerprint {
  rowCount: number;
  checksum: string;
}

export interface WrittenFile extends RowFingerprint {
  path: string;
  bytes: number;
  minTs: Date;
  maxTs: Date;
}

export interface SeriesQuery {
  tenantId: string;
  attributeKey: number;
  entityKeys: number[];
  fromMs: number;
  toMs: number;
  bucket: BucketKind;
  timeZone: string;
  /** The zone's offsets over the range; engines bucket with these, not per-row zone lookups. */
  offsets: readonly OffsetSegment[];
  /**
   * Percentiles asked for: group by sketch bin too (core/sketch.ts), one partial per
   * (entity, bucket, bin), each with its `bin`.
   */
  sketch?: boolean;
  /** Rows in here (a span inside [fromMs, toMs)) are left out: the warm tier answers for them. */
  exclude?: TimeRange;
}

/** [fromMs, toMs) in epoch milliseconds. */
export interface TimeRange {
  fromMs: number;
  toMs: number;
}

/** One tenant's rows of one UTC day in a hot table (a day partition or the default one). */
export interface TenantDaySource {
  tenantId: string;
  day: string;
  /** The hot table to read: `observations_pYYYYMMDD` or `observations_default`. */
  sourceTable: string;
  /** Names the written file or batch uniquely (tiering pass and source). */
  fileTag: string;
}

/** Counts of each distinct value of a string or boolean attribute, per entity. */
export type ValueCountQuery = Omit<SeriesQuery, 'bucket' | 'timeZone' | 'offsets'>;

export interface KeyedValueCount {
  entityKey: number;
  /** The string value, or 'true' / 'false' for a boolean attribute. */
  value: string;
  count: number;
}

export interface ColdEngine {
  readonly name: string;
  /**
   * Where writeTenantDay takes rows from: 'extract' engines get CSV extract files made by
   * tiering (columns as in OBSERVATION_EXTRACT_COLUMNS); 'hot' engines read the source
   * table themselves (Trino, through its PostgreSQL catalog).
   */
  readonly readsFrom: 'extract' | 'hot';
  /**
   * Writes one tenant-day to a new, not yet committed file (or batch), and returns the
   * fingerprint read back from what was written (what tiering verifies against the
   * source).
   */
  writeTenantDay(input: TenantDaySource & { extractPaths?: string[] }): Promise<WrittenFile>;
  /** Re-reads a written file for verification. */
  fingerprint(path: string, tenantId: string): Promise<RowFingerprint>;
  seriesPartials(
    files: ColdFile[],
    query: SeriesQuery,
    signal?: AbortSignal,
  ): Promise<KeyedPartial[]>;
  /** Rows per distinct string/boolean value and entity, over manifest-listed files. */
  valueCounts(
    files: ColdFile[],
    query: ValueCountQuery,
    signal?: AbortSignal,
  ): Promise<KeyedValueCount[]>;
  /** Values per histogram bin (core/histogram.ts), over manifest-listed files. */
  histogram(
    files: ColdFile[],
    query: ValueCountQuery,
    spec: HistogramSpec,
    signal?: AbortSignal,
  ): Promise<BinCount[]>;
  /** Every data file present in storage, committed or not (for orphan clean-up). */
  listFiles(): Promise<string[]>;
  deleteFile(path: string): Promise<void>;
  /** Throws when the engine cannot answer (for /ready). */
  ping(): Promise<void>;
  /** Statements run so far; tests use it to prove batching and caching. */
  readonly queryCount: number;
  close(): Promise<void>;
}

/**
 * Column order of a tiering extract (PostgreSQL COPY ... TO STDOUT CSV). An extract holds
 * one tenant's rows of one UTC day, so the tenant is not repeated on every line and the
 * timestamp is `day_us`, microseconds since the day's UTC midnight (cheap for PostgreSQL
 * to produce exactly; see dayMicrosSql).
 */
export const OBSERVATION_EXTRACT_COLUMNS = [
  'attribute_key',
  'entity_key',
  'day_us',
  'num',
  'str',
  'bool',
] as const;
