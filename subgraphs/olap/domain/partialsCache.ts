// Partial aggregates that cannot change until the data under them does, cached
// in-process so that a repeated or slowly moving dashboard recomputes only what is new:
// - cold partials are a pure function of the committed files they read (files are
//   immutable; late rows arrive as new files) and of the query: keyed by both, a
//   repeated dashboard touches no cold engine and a late row's new file is read at once;
// - warm partials of days before the range's last are keyed by the change feed's day
//   versions (hot/changeFeed.ts): rows inserted into a day move its version.
import { LRUCache } from 'lru-cache';
import type { KeyedPartial } from '../../../core/aggregates.ts';
import type { ColdFile, SeriesQuery, TimeRange } from '../../../cold/engine.ts';

export interface RangedColdFile extends ColdFile {
  minTsMs: number;
  maxTsMs: number;
}

/**
 * The query's range narrowed to what the files hold, with the warm tier's slots cut
 * off where they cover an end: the same rows, so the same answer, and a key that stays
 * put while a dashboard's `to` moves through hot time.
 */
export function clampToFiles(
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

/** What a query's partials depend on besides the data: the same in every tier's key. */
export const queryKey = (query: SeriesQuery, range: TimeRange): unknown[] => [
  query.tenantId,
  query.attributeKey,
  [...query.entityKeys].sort((a, b) => a - b),
  range.fromMs,
  range.toMs,
  query.bucket,
  query.timeZone,
  query.sketch === true,
  query.exclude ?? null,
];

export class PartialsCache {
  readonly #lru: LRUCache<string, KeyedPartial[]>;

  constructor(
    private readonly onLookup: (result: 'hit' | 'miss') => void = () => {},
    maxPartials = 2_000_000,
  ) {
    this.#lru = new LRUCache({ maxSize: maxPartials, sizeCalculation: (v) => v.length + 1 });
  }

  /** The partials cached under `key` (any JSON), or computed and kept. Never mutate them. */
  async get(key: unknown[], compute: () => Promise<KeyedPartial[]>): Promise<KeyedPartial[]> {
    const cached = this.lookup(key);
    if (cached) return cached;
    const partials = await compute();
    this.store(key, partials);
    return partials;
  }

  /** The partials cached under `key`, counted as a hit or a miss. Never mutate them. */
  lookup(key: unknown[]): KeyedPartial[] | undefined {
    const cached = this.#lru.get(JSON.stringify(key));
    this.onLookup(cached ? 'hit' : 'miss');
    return cached;
  }

  store(key: unknown[], partials: KeyedPartial[]): void {
    this.#lru.set(JSON.stringify(key), partials);
  }
}
