// Filling buckets that have no rows, for charts that want one point per bucket. Bucket
// starts come from the same calendar arithmetic as the engines' keys (tenant-local,
// DST-correct), so a filled series never invents or skips a bucket.
import { bucketStart, nextBucketStart, toLocalIso, type Bucket } from '../../../core/buckets.ts';

export const Fill = {
  /** Buckets without rows are left out (the default). */
  NONE: 'NONE',
  /** Every bucket appears; empty ones have count 0, sum 0 and null statistics. */
  NULL: 'NULL',
  /** Every bucket appears; empty ones have every aggregate 0 (stddev null). */
  ZERO: 'ZERO',
  /** Every bucket appears; empty ones repeat the previous bucket's statistics, count 0. */
  PREVIOUS: 'PREVIOUS',
} as const;
export type Fill = (typeof Fill)[keyof typeof Fill];

export interface FilledPoint {
  start: Date;
  localStart: string;
  count: number;
  sum: number;
  avg: number | null;
  min: number | null;
  max: number | null;
  stddev: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  filled: boolean;
}

/** Points (oldest first) with the buckets of [fromMs, toMs) that have none filled in. */
export function fillPoints(
  points: FilledPoint[],
  range: { fromMs: number; toMs: number; bucket: Bucket; timeZone: string },
  mode: Fill,
): FilledPoint[] {
  if (mode === Fill.NONE) return points;
  const byStart = new Map(points.map((p) => [p.start.getTime(), p]));
  const out: FilledPoint[] = [];
  let previous: FilledPoint | null = null;
  for (
    let start = bucketStart(range.fromMs, range.bucket, range.timeZone);
    start < range.toMs;
    start = nextBucketStart(start, range.bucket, range.timeZone)
  ) {
    const point = byStart.get(start);
    if (point) {
      out.push(point);
      previous = point;
      continue;
    }
    const empty = { start: new Date(start), localStart: toLocalIso(start, range.timeZone) };
    if (mode === Fill.ZERO) {
      const zero = { count: 0, sum: 0, avg: 0, min: 0, max: 0, p50: 0, p90: 0, p99: 0 };
      out.push({ ...empty, ...zero, stddev: null, filled: true });
    } else if (mode === Fill.PREVIOUS && previous) {
      out.push({ ...previous, ...empty, count: 0, filled: true });
    } else {
      out.push({
        ...empty,
        count: 0,
        sum: 0,
        avg: null,
        min: null,
        max: null,
        stddev: null,
        p50: null,
        p90: null,
        p99: null,
        filled: true,
      });
    }
  }
  return out;
}
