// The tier router: one consistent snapshot decides which rows are hot (still in
// PostgreSQL, including late rows in the default partition) and which are cold
// (committed manifest files); partial aggregates from both merge exactly.
import type pg from 'pg';
import {
  mergePartials,
  summarize,
  type KeyedPartial,
  type Partial,
  type Summary,
} from '../../../core/aggregates.ts';
import {
  bucketKind,
  estimateBuckets,
  keyToStart,
  offsetTimeline,
  toLocalIso,
  type Bucket,
} from '../../../core/buckets.ts';
import { badInput, ErrorCode, TidemarkError } from '../../../core/errors.ts';
import {
  ColdEngineError,
  type ColdEngine,
  type ColdFile,
  type SeriesQuery,
} from '../../../cold/engine.ts';
import { ColdPartialsCache, type RangedColdFile } from './coldPartialsCache.ts';
import { withTenant } from '../../../hot/database.ts';
import { hotSeriesPartials } from '../../../hot/hotQueries.ts';

export type Tier = 'HOT' | 'COLD';

export interface SeriesArgs {
  attribute: string;
  fromMs: number;
  toMs: number;
  bucket: Bucket;
}

export interface SeriesPoint extends Summary {
  start: Date;
  localStart: string;
}

export interface SeriesResult {
  attribute: string;
  bucket: Bucket;
  timeZone: string;
  points: SeriesPoint[];
  tiers: Tier[];
}

export interface RouterLimits {
  maxPoints: number;
  /** Deadline for one cold-engine read; past it the engine query is cancelled. */
  engineTimeoutMs: number;
}

const MAX_RANGE_MS = 20 * 366 * 86_400_000;

interface Snapshot {
  /** The query as the hot tier ran it; the cold side narrows its range. */
  query: SeriesQuery;
  entityKeys: Map<string, number>;
  coldFiles: RangedColdFile[];
  hot: KeyedPartial[];
}

export class TierRouter {
  constructor(
    private readonly pool: pg.Pool,
    private readonly engine: ColdEngine,
    private readonly limits: RouterLimits,
    readonly cache = new ColdPartialsCache(),
  ) {}

  /** Checks arguments and cost before any engine runs. */
  validate(args: SeriesArgs, entityCount: number): void {
    if (!(args.toMs > args.fromMs)) throw badInput('`to` must be after `from`', 'to');
    if (args.toMs - args.fromMs > MAX_RANGE_MS)
      throw badInput('the range may span at most 20 years', 'from');
    const points = estimateBuckets(args.fromMs, args.toMs, args.bucket) * entityCount;
    if (points > this.limits.maxPoints) {
      throw new TidemarkError(
        ErrorCode.QUERY_TOO_COSTLY,
        `this request could return ${points} points (${entityCount} entities × ${args.bucket} buckets); ` +
          `the limit is ${this.limits.maxPoints}. Use a coarser bucket, a shorter range or fewer entities.`,
        { estimatedPoints: points, maxPoints: this.limits.maxPoints },
      );
    }
  }

  /**
   * Runs a cold read under the engine deadline. The deadline, or the caller going away,
   * cancels the engine's query; failures become typed errors without engine text.
   */
  private async coldPartials(
    files: ColdFile[],
    query: SeriesQuery,
    signal?: AbortSignal,
  ): Promise<KeyedPartial[]> {
    const deadline = AbortSignal.timeout(this.limits.engineTimeoutMs);
    try {
      return await this.engine.seriesPartials(
        files,
        query,
        signal ? AbortSignal.any([signal, deadline]) : deadline,
      );
    } catch (err) {
      if (err instanceof TidemarkError) throw err;
      if (deadline.aborted) {
        throw new TidemarkError(
          ErrorCode.ENGINE_TIMEOUT,
          `the cold tier did not answer within ${this.limits.engineTimeoutMs} ms; its query was cancelled`,
        );
      }
      if (signal?.aborted) throw err;
      throw new TidemarkError(ErrorCode.TIER_UNAVAILABLE, 'the cold tier could not answer', {
        engine: this.engine.name,
        ...(err instanceof ColdEngineError ? { engineError: err.errorName } : {}),
      });
    }
  }

  /** One series per entity id, in the order given; null for ids the tenant does not have. */
  async series(
    tenantId: string,
    entityIds: readonly string[],
    args: SeriesArgs,
    signal?: AbortSignal,
  ): Promise<(SeriesResult | null)[]> {
    this.validate(args, entityIds.length);
    const kind = bucketKind(args.bucket);
    const snapshot = await withTenant(
      this.pool,
      tenantId,
      async (c): Promise<Snapshot> => {
        const { rows: meta } = await c.query<{
          time_zone: string;
          attribute_key: number | null;
          type: string | null;
        }>(
          `SELECT t.time_zone, a.attribute_key, a.type::text AS type
             FROM tenants t LEFT JOIN attributes a ON a.tenant_id = t.id AND a.name = $2
            WHERE t.id = $1`,
          [tenantId, args.attribute],
        );
        const row = meta[0];
        if (!row) throw new TidemarkError(ErrorCode.NOT_FOUND, `tenant ${tenantId} does not exist`);
        if (row.attribute_key == null)
          throw badInput(`unknown attribute "${args.attribute}"`, 'attribute');
        if (row.type !== 'number') {
          throw badInput(
            `series needs a number attribute; "${args.attribute}" is ${row.type}`,
            'attribute',
          );
        }
        const { rows: entities } = await c.query<{ id: string; entity_key: number }>(
          `SELECT id, entity_key FROM entities WHERE tenant_id = $1 AND id = ANY($2::text[])`,
          [tenantId, entityIds],
        );
        const entityKeys = new Map(entities.map((e) => [e.id, e.entity_key]));
        const query: SeriesQuery = {
          tenantId,
          attributeKey: row.attribute_key,
          entityKeys: [...entityKeys.values()],
          fromMs: args.fromMs,
          toMs: args.toMs,
          bucket: kind,
          timeZone: row.time_zone,
          offsets: offsetTimeline(row.time_zone, args.fromMs, args.toMs),
        };
        const { rows: files } = await c.query<RangedColdFile>(
          `SELECT tenant_id AS "tenantId", to_char(day, 'YYYY-MM-DD') AS day, path, row_count AS "rowCount",
                  floor(extract(epoch FROM min_ts) * 1000)::bigint AS "minTsMs",
                  ceil(extract(epoch FROM max_ts) * 1000)::bigint AS "maxTsMs"
             FROM cold_files WHERE tenant_id = $1 AND min_ts < $3 AND max_ts >= $2`,
          [tenantId, new Date(args.fromMs), new Date(args.toMs)],
        );
        const hot = await hotSeriesPartials(c, query);
        return { query, entityKeys, coldFiles: files, hot };
      },
      { readOnly: true, repeatableRead: true, lockTables: ['observations'] },
    );

    const { timeZone } = snapshot.query;
    let cold: KeyedPartial[] = [];
    if (snapshot.coldFiles.length > 0) {
      const range = ColdPartialsCache.clamp(snapshot.coldFiles, snapshot.query);
      const coldQuery: SeriesQuery = {
        ...snapshot.query,
        ...range,
        offsets: offsetTimeline(timeZone, range.fromMs, range.toMs),
      };
      cold = await this.cache.get(snapshot.coldFiles, coldQuery, () =>
        this.coldPartials(snapshot.coldFiles, coldQuery, signal),
      );
    }

    const tiers: Tier[] = [];
    if (snapshot.coldFiles.length > 0) tiers.push('COLD');
    tiers.push('HOT');
    const byEntity = new Map<number, Map<number, Partial>>();
    for (const p of [...cold, ...snapshot.hot]) {
      if (p.count === 0) continue;
      const start = keyToStart(p.bucketKey, args.bucket, timeZone);
      const buckets = byEntity.get(p.entityKey) ?? new Map<number, Partial>();
      const existing = buckets.get(start);
      buckets.set(start, existing ? mergePartials(existing, p) : p);
      byEntity.set(p.entityKey, buckets);
    }
    return entityIds.map((id) => {
      const key = snapshot.entityKeys.get(id);
      if (key === undefined) return null;
      const buckets = byEntity.get(key) ?? new Map<number, Partial>();
      const points = [...buckets.entries()]
        .sort(([a], [b]) => a - b)
        .map(([start, partial]) => ({
          ...summarize(partial),
          start: new Date(start),
          localStart: toLocalIso(start, timeZone),
        }));
      return {
        attribute: args.attribute,
        bucket: args.bucket,
        timeZone,
        points,
        tiers,
      };
    });
  }
}
