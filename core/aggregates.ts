// Partial aggregates that every tier returns and that merge exactly: count, sum, min,
// max and sum of squares combine associatively, so a bucket that straddles the tier
// boundary is merged, never split or doubled.
export interface Partial {
  count: number;
  sum: number;
  min: number;
  max: number;
  sumSquares: number;
}

export interface KeyedPartial extends Partial {
  entityKey: number;
  /** Epoch seconds (fixed and local-hour buckets) or a local day number (calendar buckets). */
  bucketKey: number;
}

export function mergePartials(a: Partial, b: Partial): Partial {
  return {
    count: a.count + b.count,
    sum: a.sum + b.sum,
    min: Math.min(a.min, b.min),
    max: Math.max(a.max, b.max),
    sumSquares: a.sumSquares + b.sumSquares,
  };
}

/** Merges `p` into the partial kept under `key` (or keeps `p` when there is none yet). */
export function mergeInto<K>(partials: Map<K, Partial>, key: K, p: Partial): void {
  const existing = partials.get(key);
  partials.set(key, existing ? mergePartials(existing, p) : p);
}

export interface Summary extends Partial {
  avg: number;
  stddev: number | null;
}

/** Sample standard deviation from the merged moments; null below two values. */
export function summarize(p: Partial): Summary {
  const avg = p.sum / p.count;
  let stddev: number | null = null;
  if (p.count > 1) {
    const variance = Math.max(0, (p.sumSquares - (p.sum * p.sum) / p.count) / (p.count - 1));
    stddev = Math.sqrt(variance);
  }
  return { ...p, avg, stddev };
}
