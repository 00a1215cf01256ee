// The percentile sketch's read side: bins built the way every engine's SQL builds them
// (written out again here from the definition in core/sketch.ts), merged, and read
// within the documented bound of the exact percentile_disc, negatives and zeros included.
import { describe, expect, it } from 'vitest';
import {
  mergeSketchInto,
  SKETCH_RELATIVE_ERROR,
  sketchQuantile,
  type Sketch,
} from '../../core/sketch.ts';

const GAMMA = (1 + SKETCH_RELATIVE_ERROR) / (1 - SKETCH_RELATIVE_ERROR);
const binOf = (v: number): number => {
  if (Math.abs(v) < 1e-9) return 0;
  const b = Math.ceil(Math.log(Math.abs(v)) / Math.log(GAMMA)) + 40_000;
  return v > 0 ? b : -b;
};
const sketchOf = (values: number[]): Sketch => {
  const s: Sketch = new Map();
  for (const v of values) s.set(binOf(v), (s.get(binOf(v)) ?? 0) + 1);
  return s;
};
/** percentile_disc: the value at rank ⌈q·n⌉ (1-based) of the sorted values. */
const exact = (values: number[], q: number): number =>
  [...values].sort((a, b) => a - b)[Math.max(1, Math.ceil(q * values.length)) - 1]!;

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

describe('percentile sketches', () => {
  it.each([1, 2, 3, 4, 5])('reads percentiles within the bound (seed %i)', (seed) => {
    const next = seeded(seed);
    const values = Array.from({ length: 500 + seed * 97 }, (_, i) =>
      i % 13 === 0 ? 0 : (next() - 0.3) * 10 ** Math.floor(next() * 6 - 2),
    );
    const min = Math.min(...values);
    const max = Math.max(...values);
    for (const q of [0.01, 0.25, 0.5, 0.9, 0.99, 1]) {
      const got = sketchQuantile(sketchOf(values), q, min, max);
      const want = exact(values, q);
      expect(Math.abs(got - want), `q=${q}: ${got} vs ${want}`).toBeLessThanOrEqual(
        SKETCH_RELATIVE_ERROR * Math.abs(want) * (1 + 1e-12) + 1e-9,
      );
    }
  });

  it('merges sketches into the sketch of all their values', () => {
    const next = seeded(9);
    const a = Array.from({ length: 300 }, () => next() * 100 - 20);
    const b = Array.from({ length: 200 }, () => next() * 5);
    const merged = sketchOf(a);
    mergeSketchInto(merged, sketchOf(b));
    expect(merged).toEqual(sketchOf([...a, ...b]));
    const all = [...a, ...b];
    const got = sketchQuantile(merged, 0.5, Math.min(...all), Math.max(...all));
    expect(Math.abs(got - exact(all, 0.5))).toBeLessThanOrEqual(
      SKETCH_RELATIVE_ERROR * Math.abs(exact(all, 0.5)) * (1 + 1e-12),
    );
  });

  it('clamps to the exact extremes and reads one repeated value exactly', () => {
    expect(sketchQuantile(sketchOf([7, 7, 7]), 0.5, 7, 7)).toBe(7);
    expect(sketchQuantile(sketchOf([1, 2, 1000]), 1, 1, 1000)).toBe(1000);
    expect(sketchQuantile(sketchOf([-5, 0, 0, 3]), 0.5, -5, 3)).toBe(0);
  });
});
