import { describe, expect, it } from 'vitest';
import { mergeInto, mergeShared, type KeyedPartial, type Partial } from '../../core/aggregates.ts';
import { mulberry32 } from '../../core/prng.ts';

/** Partials as engines answer them: some keys from one tier, some from several, some binned. */
function tiers(seed: number): KeyedPartial[][] {
  const random = mulberry32(seed);
  const partial = (bucketKey: number, binned: boolean): KeyedPartial => {
    const a = Math.round(random() * 1000) / 10;
    const b = Math.round(random() * 1000) / 10;
    return {
      entityKey: 1,
      bucketKey,
      count: 2,
      sum: a + b,
      min: Math.min(a, b),
      max: Math.max(a, b),
      sumSquares: a * a + b * b,
      ...(binned ? { bin: Math.floor(random() * 5) } : {}),
    };
  };
  return [0, 1, 2].map((tier) =>
    Array.from({ length: 12 }, (_, i) => i)
      .filter((key) => key % 3 === tier || key % 4 === 0)
      .map((key) => partial(key, key >= 8)),
  );
}

describe('mergeShared', () => {
  it('merges as mergeInto does, copying only keys that more than one partial reaches', () => {
    for (const seed of [1, 2, 3]) {
      const inputs = tiers(seed);
      const before = structuredClone(inputs);
      const copied = new Map<number, Partial>();
      const shared = new Map<number, Partial>();
      const copies = new Set<Partial>();
      for (const partials of inputs) {
        for (const p of partials) {
          mergeInto(copied, p.bucketKey, p);
          mergeShared(shared, p.bucketKey, p, copies);
        }
      }
      expect(inputs).toEqual(before); // nothing handed in was changed
      expect([...shared.keys()].sort()).toEqual([...copied.keys()].sort());
      for (const [key, merged] of copied) {
        const got = shared.get(key)!;
        // the same additions in the same order: equal to the last bit
        for (const field of ['count', 'sum', 'min', 'max', 'sumSquares', 'sketch'] as const) {
          expect(got[field]).toEqual(merged[field]);
        }
        const reachedBy = inputs.flat().filter((p) => p.bucketKey === key);
        // a key one unbinned partial reaches keeps that very object; any other is a copy
        if (reachedBy.length === 1 && reachedBy[0]!.bin === undefined) {
          expect(got).toBe(reachedBy[0]);
        } else {
          expect(copies.has(got)).toBe(true);
        }
      }
    }
  });
});
