import { describe, expect, it } from 'vitest';
import { bucketStart, toLocalIso } from '../../core/buckets.ts';
import { fillPoints } from '../../subgraphs/olap/domain/fill.ts';

const NY = 'America/New_York';

function point(iso: string, value: number) {
  const start = new Date(iso);
  return {
    start,
    localStart: toLocalIso(start.getTime(), NY),
    count: 2,
    sum: 2 * value,
    avg: value,
    min: value,
    max: value,
    stddev: 0,
    p50: value,
    p90: value,
    p99: value,
    filled: false,
  };
}

describe('fillPoints', () => {
  // New York, 2026-10-31 .. 2026-11-03: 2026-11-01 is a 25-hour day.
  const range = {
    fromMs: Date.parse('2026-10-31T04:00:00Z'),
    toMs: Date.parse('2026-11-04T05:00:00Z'),
    bucket: 'DAY' as const,
    timeZone: NY,
  };
  const real = [point('2026-10-31T04:00:00Z', 1), point('2026-11-02T05:00:00Z', 3)];

  it('leaves points as they are without a fill mode', () => {
    expect(fillPoints(real, range, 'NONE').map((p) => p.start)).toEqual(real.map((p) => p.start));
  });

  it('adds one empty bucket per missing local day, across the DST change', () => {
    const filled = fillPoints(real, range, 'NULL');
    expect(filled.map((p) => p.localStart)).toEqual([
      '2026-10-31T00:00:00-04:00',
      '2026-11-01T00:00:00-04:00',
      '2026-11-02T00:00:00-05:00',
      '2026-11-03T00:00:00-05:00',
    ]);
    expect(filled.map((p) => p.filled)).toEqual([false, true, false, true]);
    expect(filled[1]).toMatchObject({ count: 0, sum: 0, avg: null, min: null, max: null });
  });

  it('zeroes or carries the previous bucket forward, with count 0', () => {
    expect(fillPoints(real, range, 'ZERO')[3]).toMatchObject({ count: 0, avg: 0, max: 0 });
    const previous = fillPoints(real, range, 'PREVIOUS');
    expect(previous[1]).toMatchObject({ count: 0, avg: 1, filled: true });
    expect(previous[3]).toMatchObject({ count: 0, avg: 3, sum: 6, filled: true });
  });

  it('steps Lord Howe hours by the local clock; the hour that begins in the gap starts at 02:30', () => {
    const tz = 'Australia/Lord_Howe';
    // 2026-10-04 02:00 local becomes 02:30 (+10:30 -> +11:00).
    const fromMs = Date.parse('2026-10-03T14:00:00Z');
    const toMs = Date.parse('2026-10-03T18:00:00Z');
    const filled = fillPoints([], { fromMs, toMs, bucket: 'HOUR', timeZone: tz }, 'NULL');
    expect(filled[0]!.start.getTime()).toBe(bucketStart(fromMs, 'HOUR', tz));
    expect(filled.map((p) => p.localStart.slice(11))).toEqual([
      '00:00:00+10:30',
      '01:00:00+10:30',
      '02:30:00+11:00',
      '03:00:00+11:00',
      '04:00:00+11:00',
    ]);
  });
});
