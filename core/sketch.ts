// Percentiles that merge across tiers: a log-bucketed sketch (the DDSketch scheme).
// Every engine puts each value in a bin by the same SQL expression; bins are counted
// per bucket, counts add up across tiers and files, and a percentile is read from the
// merged bins. The answer is within SKETCH_RELATIVE_ERROR of the exact one — the value
// at rank ⌈q·n⌉ of the bucket's sorted values, what percentile_disc(q) returns — for
// |values| ≥ 1e-9; smaller magnitudes share one bin that reads as 0.
//
// Bin k > 0 holds positive values in (γ^(i−1), γ^i] with i = k − OFFSET; bin −k the
// negatives mirrored; so bins sort in the order of their values. Its representative
// 2γ^i / (γ + 1) is within α of everything in it.

/** α: the bound on |estimate − exact| / |exact|. */
export const SKETCH_RELATIVE_ERROR = 0.01;
const GAMMA = (1 + SKETCH_RELATIVE_ERROR) / (1 - SKETCH_RELATIVE_ERROR);
const LN_GAMMA = Math.log(GAMMA);
/** Keeps bins of positive values positive down to 1e-9 (i ≥ −1037). */
const OFFSET = 40_000;
const ZERO_BELOW = 1e-9;

/** Bin counts of one bucket: bin → values. */
export type Sketch = Map<number, number>;

/**
 * The bin of `column` in SQL that PostgreSQL, DuckDB and Trino all read the same way
 * (ln, abs, ceil, CAST … AS INTEGER; the constant is written out in full).
 */
export function sketchBinSql(column: string): string {
  const bin = (x: string) =>
    `(CAST(ceil(ln(${x}) / ${LN_GAMMA.toExponential()}) AS INTEGER) + ${OFFSET})`;
  return `CASE WHEN abs(${column}) < ${ZERO_BELOW} THEN 0
            WHEN ${column} > 0 THEN ${bin(column)}
            ELSE -${bin(`-${column}`)} END`;
}

function representative(bin: number): number {
  if (bin === 0) return 0;
  const i = Math.abs(bin) - OFFSET;
  const v = (2 * GAMMA ** i) / (GAMMA + 1);
  return bin > 0 ? v : -v;
}

/**
 * The q-quantile (0 < q ≤ 1) of the values a sketch counted, clamped to the bucket's
 * exact min and max (which only brings it closer).
 */
export function sketchQuantile(sketch: Sketch, q: number, min: number, max: number): number {
  let total = 0;
  for (const n of sketch.values()) total += n;
  const rank = Math.max(1, Math.ceil(q * total));
  const bins = [...sketch.keys()].sort((a, b) => a - b);
  let seen = 0;
  for (const bin of bins) {
    seen += sketch.get(bin)!;
    if (seen >= rank) return Math.min(max, Math.max(min, representative(bin)));
  }
  return max;
}

/** Adds `from`'s counts into `into`. */
export function mergeSketchInto(into: Sketch, from: Sketch): void {
  for (const [bin, n] of from) into.set(bin, (into.get(bin) ?? 0) + n);
}
