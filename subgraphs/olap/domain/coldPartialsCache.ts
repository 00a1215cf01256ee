// Cold partial aggregates are a pure function of the committed files they read (files
// are immutable; late rows arrive as new files) and of the query, so they are cached
// in-process under a key that names both. A repeated dashboard query touches no cold
// engine; a late row's new file changes the key and is read at once.
import { LRUCache } from 'lru-cache';
import type { KeyedPartial } from '../../../core/aggregates.ts';
import type { ColdFile, SeriesQuery, TimeRange } from '../../../cold/engine.ts';

export interface RangedColdFile extends ColdFile {
  minTsMs: number;
  maxTsMs: number;
}

export class ColdPartialsCache {
  readonly #lru: LRUCache<string, KeyedPartial[]>;

  constructor(
    private readonly onLookup: (result: 'hit' | 'miss') => void = () => {},
    maxPartials = 2_000_000,
  ) {
    this.#lru = new LRUCache({ maxSize: maxPartials, sizeCalculation: (v) => v.length + 1 });
  }

  /**
   * The query's range narrowed to what the files hold, with the warm tier's slots cut
   * off where they cover an end: the same rows, so the same answer, and a key that
   * stays put while a dashboard's `to` moves through hot time.
   */
  static clamp(
    files: RangedColdFile[],
    query: Omit<SeriesQuery, 'offsets'>,
  ): { fromMs: number; toMs: number; exclude?: TimeRange } {
    const minTs = Math.min(...files.map((f) => f.minTsMs));
    const maxTs = Math.max(...files.map((f) => f.maxTsMs));
    let fromMs = Math.max(query.fromMs, minTs);
    let toMs = Math.min(query.toMs, maxTs + 1);
    const ex = query.exclude;
    if (!ex || ex.toMs <= fromMs || ex.fromMs >= toMs) return { fromMs, toMs };
    if (ex.toMs >= toMs) toMs = Math.max(fromMs, ex.fromMs);
    else if (ex.fromMs <= fromMs) fromMs = ex.toMs;
    else return { fromMs, toMs, exclude: ex };
    return { fromMs, toMs };
  }

  async get(
    files: RangedColdFile[],
    query: SeriesQuery,
    compute: () => Promise<KeyedPartial[]>,
  ): Promise<KeyedPartial[]> {
    const key = JSON.stringify([
      query.tenantId,
      query.attributeKey,
      [...query.entityKeys].sort((a, b) => a - b),
      query.fromMs,
      query.toMs,
      query.bucket,
      query.timeZone,
      query.sketch === true,
      query.exclude ?? null,
      files.map((f) => f.path).sort(),
    ]);
    const cached = this.#lru.get(key);
    this.onLookup(cached ? 'hit' : 'miss');
    if (cached) return cached;
    const partials = await compute();
    this.#lru.set(key, partials);
    return partials;
  }
}
