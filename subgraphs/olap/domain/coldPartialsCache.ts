// Cold partial aggregates are a pure function of the committed files they read (files
// are immutable; late rows arrive as new files) and of the query, so they are cached
// in-process under a key that names both. A repeated dashboard query touches no cold
// engine; a late row's new file changes the key and is read at once.
import { LRUCache } from 'lru-cache';
import type { KeyedPartial } from '../../../core/aggregates.ts';
import type { ColdFile, SeriesQuery } from '../../../cold/engine.ts';

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
   * The query's range narrowed to what the files hold: the same rows, so the same
   * answer, and a key that stays put while a dashboard's `to` moves through hot time.
   */
  static clamp(
    files: RangedColdFile[],
    query: Omit<SeriesQuery, 'offsets'>,
  ): { fromMs: number; toMs: number } {
    const minTs = Math.min(...files.map((f) => f.minTsMs));
    const maxTs = Math.max(...files.map((f) => f.maxTsMs));
    return { fromMs: Math.max(query.fromMs, minTs), toMs: Math.min(query.toMs, maxTs + 1) };
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
