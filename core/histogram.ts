// Equal-width histograms that merge across tiers: every engine puts a value in its bin
// by the same SQL (IEEE subtraction, division and floor give the same bin everywhere),
// so bin counts from hot rows and cold files add up exactly.

export interface HistogramSpec {
  /** Lower edge of the first bin. */
  min: number;
  /** Width of every bin; the last one is closed (it holds `max`). */
  width: number;
  bins: number;
}

export interface BinCount {
  bin: number;
  count: number;
}

/** A double literal every engine parses to the same value. */
const literal = (x: number): string => `(${x.toExponential()})`;

/** The 0-based bin of `column`, clamped to the first and last bin. */
export function histogramBinSql(column: string, spec: HistogramSpec): string {
  const raw = `CAST(floor((${column} - ${literal(spec.min)}) / ${literal(spec.width)}) AS INTEGER)`;
  return `least(greatest(${raw}, 0), ${spec.bins - 1})`;
}
