import { describe, expect, it } from 'vitest';
import {
  bucketStart,
  keyToStart,
  localMidnight,
  nextBucketStart,
  offsetTimeline,
  offsetMinutes,
  parseInstant,
  toLocalIso,
  truncateLocalDate,
  rollupSlotSeconds,
} from '../../core/buckets.ts';

const iso = (ms: number): string => new Date(ms).toISOString();
const at = (s: string): number => Date.parse(s);

describe('tenant-time buckets', () => {
  it('finds local midnight on both sides of New York DST changes', () => {
    expect(iso(localMidnight('2026-03-08', 'America/New_York'))).toBe('2026-03-08T05:00:00.000Z');
    expect(iso(localMidnight('2026-03-09', 'America/New_York'))).toBe('2026-03-09T04:00:00.000Z');
    expect(iso(localMidnight('2026-11-01', 'America/New_York'))).toBe('2026-11-01T04:00:00.000Z');
    expect(iso(localMidnight('2026-11-02', 'America/New_York'))).toBe('2026-11-02T05:00:00.000Z');
  });

  it('makes 23- and 25-hour days at DST changes', () => {
    const tz = 'America/New_York';
    const spring = localMidnight('2026-03-08', tz);
    const fall = localMidnight('2026-11-01', tz);
    expect((nextBucketStart(spring, 'DAY', tz) - spring) / 3_600_000).toBe(23);
    expect((nextBucketStart(fall, 'DAY', tz) - fall) / 3_600_000).toBe(25);
  });

  it('starts a day at the end of the gap where midnight does not exist', () => {
    // America/Santiago springs forward at 24:00 on 2026-09-05: 2026-09-06 starts at 01:00.
    const start = localMidnight('2026-09-06', 'America/Santiago');
    expect(toLocalIso(start, 'America/Santiago')).toBe('2026-09-06T01:00:00-03:00');
  });

  it('aligns HOUR buckets to local hours in half-hour zones', () => {
    expect(iso(bucketStart(at('2026-06-01T10:10:00Z'), 'HOUR', 'Asia/Kolkata'))).toBe(
      '2026-06-01T09:30:00.000Z',
    );
    expect(iso(bucketStart(at('2026-06-01T10:40:00Z'), 'HOUR', 'Asia/Kolkata'))).toBe(
      '2026-06-01T10:30:00.000Z',
    );
    expect(iso(bucketStart(at('2026-06-01T10:40:00Z'), 'HOUR', 'UTC'))).toBe(
      '2026-06-01T10:00:00.000Z',
    );
  });

  it('keeps the two 1 a.m. hours of a New York fall-back night apart', () => {
    const tz = 'America/New_York';
    const first = bucketStart(at('2026-11-01T05:30:00Z'), 'HOUR', tz); // 01:30 EDT
    const second = bucketStart(at('2026-11-01T06:30:00Z'), 'HOUR', tz); // 01:30 EST
    expect(iso(first)).toBe('2026-11-01T05:00:00.000Z');
    expect(iso(second)).toBe('2026-11-01T06:00:00.000Z');
    expect(nextBucketStart(first, 'HOUR', tz)).toBe(second);
  });

  it('follows Lord Howe’s half-hour DST shift', () => {
    expect(offsetMinutes(at('2026-01-15T00:00:00Z'), 'Australia/Lord_Howe')).toBe(660);
    expect(offsetMinutes(at('2026-07-15T00:00:00Z'), 'Australia/Lord_Howe')).toBe(630);
    expect(
      toLocalIso(localMidnight('2026-07-15', 'Australia/Lord_Howe'), 'Australia/Lord_Howe'),
    ).toBe('2026-07-15T00:00:00+10:30');
  });

  it('truncates local dates to Monday weeks and first-of-month', () => {
    expect(truncateLocalDate('2026-11-01', 'week')).toBe('2026-10-26'); // a Sunday
    expect(truncateLocalDate('2026-11-02', 'week')).toBe('2026-11-02'); // a Monday
    expect(truncateLocalDate('2026-11-30', 'month')).toBe('2026-11-01');
    const nov4 = Date.parse('2026-11-04T00:00:00Z') / 86_400_000; // a local day number
    expect(iso(keyToStart(nov4, 'WEEK', 'America/New_York'))).toBe('2026-11-02T05:00:00.000Z');
    expect(iso(keyToStart(1_700_000_000, 'MINUTE', 'UTC'))).toBe(iso(1_700_000_000_000));
  });

  it('advances MONTH buckets by calendar months in local time', () => {
    const tz = 'Asia/Kolkata';
    const jan = localMidnight('2026-01-01', tz);
    expect(toLocalIso(nextBucketStart(jan, 'MONTH', tz), tz)).toBe('2026-02-01T00:00:00+05:30');
  });

  it('splits a range into offset segments at each DST transition, to the minute', () => {
    const ny = offsetTimeline(
      'America/New_York',
      at('2026-01-01T00:00:00Z'),
      at('2027-01-01T00:00:00Z'),
    );
    expect(
      ny.map((s) => [s.fromMs === -Infinity ? '-inf' : iso(s.fromMs), s.offsetMinutes]),
    ).toEqual([
      ['-inf', -300],
      ['2026-03-08T07:00:00.000Z', -240],
      ['2026-11-01T06:00:00.000Z', -300],
    ]);
    const lordHowe = offsetTimeline(
      'Australia/Lord_Howe',
      at('2026-03-01T00:00:00Z'),
      at('2026-05-01T00:00:00Z'),
    );
    expect(lordHowe.map((s) => s.offsetMinutes)).toEqual([660, 630]);
    expect(offsetTimeline('Asia/Kolkata', 0, at('2030-01-01T00:00:00Z'))).toEqual([
      { fromMs: -Infinity, offsetMinutes: 330 },
    ]);
  });

  it('hands a refreshed dashboard the timeline it computed, and no other zone or range', () => {
    const from = at('2026-10-01T00:00:00Z');
    const first = offsetTimeline('America/New_York', from, at('2026-12-02T10:00:00.000Z'));
    // `to` moved by a second: the same whole days, the same frozen timeline.
    expect(offsetTimeline('America/New_York', from, at('2026-12-02T10:00:01Z'))).toBe(first);
    expect(Object.isFrozen(first) && first.every((s) => Object.isFrozen(s))).toBe(true);
    // The same days elsewhere, and a range that ends before New York's fall-back day.
    expect(offsetTimeline('Asia/Kolkata', from, at('2026-12-02T10:00:01Z'))).toEqual([
      { fromMs: -Infinity, offsetMinutes: 330 },
    ]);
    expect(offsetTimeline('America/New_York', from, at('2026-10-20T00:00:00Z'))).toEqual([
      { fromMs: -Infinity, offsetMinutes: -240 },
    ]);
  });

  it('refuses instants without a zone', () => {
    expect(() => parseInstant('2026-11-20T10:00:00', 'from')).toThrow(/with a zone/);
    expect(parseInstant('2026-11-20T10:00:00+05:30', 'from')).toBe(at('2026-11-20T04:30:00Z'));
  });
});

describe('rollup slots', () => {
  it.each([
    ['UTC', 3600],
    ['America/New_York', 3600],
    ['Asia/Kolkata', 1800],
    ['Australia/Lord_Howe', 1800], // +10:30, and +11 in summer
    ['Asia/Kathmandu', 900],
    ['America/St_Johns', 60], // changed its clocks at 00:01 local until 2011
  ] as const)('%s gets %i-second slots', (zone, seconds) => {
    expect(rollupSlotSeconds(zone)).toBe(seconds);
  });
});
