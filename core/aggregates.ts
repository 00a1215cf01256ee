// Partial aggregates that every tier returns and that merge exactly: count, sum, min,
// max and sum of squares combine associatively, so a bucket that straddles the tier
// boundary is merged, never split or doubled. Percentile sketches (core/sketch.ts)
// merge by adding bin counts.
import { mergeSketchInto, sketchQuantile, type Sketch } from './sketch.ts';

export interface Partial {
  count: number;
  sum: number;
  min: number;
  max: number;
  sumSquares: number;
  /** Bin counts, when percentiles were asked for. */
  sketch?: Sketch;
}

export interface KeyedPartial extends Partial {
  entityKey: number;
  /** Epoch seconds (fixed and local-hour buckets) or a local day number (calendar buckets). */
  bucketKey: number;
  /** When an engine was asked for sketches: the sketch bin these rows fall in. */
  bin?: number;
}

export function mergePartials(a: Partial, b: Partial): Partial {
  const merged = copyPartial(a);
  addInto(merged, b);
  return merged;
}

/** A partial the caller owns: its own sketch map (a binned row becomes a one-bin sketch). */
function copyPartial(p: Partial | KeyedPartial): Partial {
  const copy: Partial = {
    count: p.count,
    sum: p.sum,
    min: p.min,
    max: p.max,
    sumSquares: p.sumSquares,
  };
  if (p.sketch) copy.sketch = new Map(p.sketch);
  else if ('bin' in p && p.bin !== undefined) copy.sketch = new Map([[p.bin, p.count]]);
  return copy;
}

function addInto(target: Partial, p: Partial | KeyedPartial): void {
  target.count += p.count;
  target.sum += p.sum;
  target.min = Math.min(target.min, p.min);
  target.max = Math.max(target.max, p.max);
  target.sumSquares += p.sumSquares;
  if (p.sketch) {
    target.sketch ??= new Map();
    mergeSketchInto(target.sketch, p.sketch);
  } else if ('bin' in p && p.bin !== undefined) {
    target.sketch ??= new Map();
    target.sketch.set(p.bin, (target.sketch.get(p.bin) ?? 0) + p.count);
  }
}

/**
 * Merges `p` into the partial kept under `key`. The map owns its values: the first
 * merge stores a copy, later ones add to it in place, so inputs (which may be cached
 * and shared between requests) are never changed, and a bucket's many sketch bins
 * merge in linear time.
 */
export function mergeInto<K>(
  partials: Map<K, Partial>,
  key: K,
  p: Partial | KeyedPartial,
  /** `p` is the caller's to give away (a partial it made itself): stored as is. */
  owned = false,
): void {
  const existing = partials.get(key);
  if (existing) addInto(existing, p);
  else partials.set(key, owned ? p : copyPartial(p));
}

/**
 * `mergeInto` without the first copy: the first partial of a key is kept as given (it
 * is only read, never changed), and a key that a second partial reaches gets a copy of
 * its own, listed in `copies`, to add into. Most buckets come from one tier alone and
 * cost no copy; the map's values must then be treated as read-only. A binned row is
 * always copied, since it becomes a one-bin sketch.
 */
export function mergeShared<K>(
  partials: Map<K, Partial>,
  key: K,
  p: Partial | KeyedPartial,
  copies: Set<Partial>,
): void {
  const existing = partials.get(key);
  if (existing !== undefined && copies.has(existing)) {
    addInto(existing, p);
    return;
  }
  if (existing === undefined && !('bin' in p && p.bin !== undefined)) {
    partials.set(key, p);
    return;
  }
  const copy = copyPartial(existing ?? p);
  if (existing !== undefined) addInto(copy, p);
  copies.add(copy);
  partials.set(key, copy);
}

export interface Summary extends Partial {
  avg: number;
  stddev: number | null;
  /** From the sketch, within SKETCH_RELATIVE_ERROR; null when none was asked for. */
  p50: number | null;
  p90: number | null;
  p99: number | null;
}

/** Sample standard deviation from the merged moments; null below two values. */
export function stddevOf(p: Partial): number | null {
  if (p.count <= 1) return null;
  return Math.sqrt(Math.max(0, (p.sumSquares - (p.sum * p.sum) / p.count) / (p.count - 1)));
}

/** Quantile q from the partial's sketch; null when none was asked for. */
export const quantileOf = (p: Partial, q: number): number | null =>
  p.sketch ? sketchQuantile(p.sketch, q, p.min, p.max) : null;

/** The statistics of a partial: its moments, average, deviation and percentiles. */
export function summarize(p: Partial): Summary {
  const { count, sum, min, max, sumSquares } = p;
  return {
    count,
    sum,
    min,
    max,
    sumSquares,
    avg: sum / count,
    stddev: stddevOf(p),
    p50: quantileOf(p, 0.5),
    p90: quantileOf(p, 0.9),
    p99: quantileOf(p, 0.99),
  };
}
