// The cold-tier engine interface. DuckDB over local Parquet implements it for the
// embedded default; a Trino engine over Iceberg implements it at scale. SQL dialect
// differences live behind it, and every read carries the tenant predicate.
import type { KeyedPartial } from '../core/aggregates.ts';
import type { BucketKind, OffsetSegment } from '../core/buckets.ts';

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
  offsets: OffsetSegment[];
}

export interface ColdEngine {
  readonly name: string;
  /**
   * Writes one tenant-day of rows from a CSV extract (columns as in
   * OBSERVATION_EXTRACT_COLUMNS) to a new, not yet committed file, and returns the
   * fingerprint read back from that file (what tiering verifies against the source).
   */
  writeTenantDay(input: {
    tenantId: string;
    day: string;
    extractPath: string;
    fileTag: string;
  }): Promise<WrittenFile>;
  /** Re-reads a written file for verification. */
  fingerprint(path: string, tenantId: string): Promise<RowFingerprint>;
  seriesPartials(
    files: ColdFile[],
    query: SeriesQuery,
    signal?: AbortSignal,
  ): Promise<KeyedPartial[]>;
  /** Every data file present in storage, committed or not (for orphan clean-up). */
  listFiles(): Promise<string[]>;
  deleteFile(path: string): Promise<void>;
  /** Throws when the engine cannot answer (for /ready). */
  ping(): Promise<void>;
  /** Statements run so far; tests use it to prove batching and caching. */
  readonly queryCount: number;
  close(): Promise<void>;
}

/** Column order of a tiering extract (PostgreSQL COPY ... TO STDOUT CSV). */
export const OBSERVATION_EXTRACT_COLUMNS = [
  'tenant_id',
  'attribute_key',
  'entity_key',
  'ts_us',
  'num',
  'str',
  'bool',
] as const;
