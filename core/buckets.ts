// Time buckets: UTC in, tenant time out. Fixed-width buckets (MINUTE, FIVE_MINUTES)
// align to the epoch; HOUR aligns to the tenant's local hour (half-hour zones);
// DAY/WEEK/MONTH align to the tenant's local midnight (Monday weeks), DST-correct.
import { LRUCache } from 'lru-cache';
import { badInput } from './errors.ts';

const DAY_MS = 86_400_000;

export const Bucket = {
  MINUTE: 'MINUTE',
  FIVE_MINUTES: 'FIVE_MINUTES',
  HOUR: 'HOUR',
  DAY: 'DAY',
  WEEK: 'WEEK',
  MONTH: 'MONTH',
} as const;
export type Bucket = (typeof Bucket)[keyof typeof Bucket];

/** How an engine must compute a bucket key for a row. */
export type BucketKind =
  | { kind: 'epoch'; widthSeconds: number } // key: epoch seconds of the UTC-aligned start
  | { kind: 'localHour' } // key: epoch seconds of the start of the local hour
  | { kind: 'localDate'; unit: 'day' | 'week' | 'month' } // key: local day number (days since 1970-01-01, local)
  | { kind: 'whole' }; // one bucket over the whole range, key 0 (summaries, top-N, breakdowns)

export function bucketKind(bucket: Bucket): BucketKind {
  switch (bucket) {
    case 'MINUTE':
      return { kind: 'epoch', widthSeconds: 60 };
    case 'FIVE_MINUTES':
      return { kind: 'epoch', widthSeconds: 300 };
    case 'HOUR':
      return { kind: 'localHour' };
    case 'DAY':
      return { kind: 'localDate', unit: 'day' };
    case 'WEEK':
      return { kind: 'localDate', unit: 'week' };
    case 'MONTH':
      return { kind: 'localDate', unit: 'month' };
    default: {
      const unreachable: never = bucket;
      throw new Error(`unknown bucket ${String(unreachable)}`);
    }
  }
}

/** Nominal width, used for cost estimates only. */
export const NOMINAL_SECONDS: Record<Bucket, number> = {
  MINUTE: 60,
  FIVE_MINUTES: 300,
  HOUR: 3600,
  DAY: 86_400,
  WEEK: 7 * 86_400,
  MONTH: 28 * 86_400,
};

const partsFormatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = partsFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    partsFormatters.set(timeZone, f);
  }
  return f;
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return timeZone.length > 0;
  } catch {
    return false;
  }
}

interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function localParts(epochMs: number, timeZone: string): LocalParts {
  const p: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(new Date(epochMs))) {
    if (part.type !== 'literal') p[part.type] = Number(part.value);
  }
  return {
    year: p.year!,
    month: p.month!,
    day: p.day!,
    hour: p.hour!,
    minute: p.minute!,
    second: p.second!,
  };
}

const offsetOf = (epochMs: number, p: LocalParts): number =>
  Math.round(
    (Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) -
      Math.floor(epochMs / 1000) * 1000) /
      60_000,
  );

/** The zone's offset from UTC at an instant, in minutes (e.g. +330 for Kolkata). */
export function offsetMinutes(epochMs: number, timeZone: string): number {
  return offsetOf(epochMs, localParts(epochMs, timeZone));
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

// Formatting through Intl costs ~15 µs; a dashboard asks for the same bucket starts for
// every entity and on every refresh.
const localIsoCache = new LRUCache<string, string>({ max: 50_000 });

/** ISO-8601 local time with offset, e.g. 2026-11-01T00:00:00-04:00. */
export function toLocalIso(epochMs: number, timeZone: string): string {
  const key = `${timeZone}|${epochMs}`;
  const cached = localIsoCache.get(key);
  if (cached !== undefined) return cached;
  const p = localParts(epochMs, timeZone);
  const off = offsetOf(epochMs, p);
  const sign = off < 0 ? '-' : '+';
  const abs = Math.abs(off);
  const iso =
    `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)}T${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}` +
    `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
  localIsoCache.set(key, iso);
  return iso;
}

/** Hour of the local week of an instant: 0 is Monday 00:xx, 167 is Sunday 23:xx. */
export function localHourOfWeek(epochMs: number, timeZone: string): number {
  const p = localParts(epochMs, timeZone);
  const weekday = (new Date(Date.UTC(p.year, p.month - 1, p.day)).getUTCDay() + 6) % 7;
  return weekday * 24 + p.hour;
}

/** The local calendar date of an instant, 'YYYY-MM-DD'. */
export function localDate(epochMs: number, timeZone: string): string {
  const p = localParts(epochMs, timeZone);
  return `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)}`;
}

const midnightCache = new Map<string, number>();

/**
 * The first instant of a local calendar date (its local midnight, or the end of a
 * DST gap when midnight does not exist that day).
 */
export function localMidnight(date: string, timeZone: string): number {
  const cacheKey = `${timeZone}|${date}`;
  const cached = midnightCache.get(cacheKey);
  if (cached !== undefined) return cached;
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const naive = Date.UTC(y, m - 1, d);
  // Offsets lie within ±15h; search minute-aligned instants for the first one whose
  // local date is >= the wanted date.
  let lo = naive - 15 * 3_600_000;
  let hi = naive + 15 * 3_600_000;
  while (hi - lo > 60_000) {
    const mid = lo + Math.floor((hi - lo) / 120_000) * 60_000;
    if (localDate(mid, timeZone) >= date) hi = mid;
    else lo = mid;
  }
  midnightCache.set(cacheKey, hi);
  return hi;
}

function addDays(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** Truncates a local date to the start of its bucket (Monday weeks, first of month). */
export function truncateLocalDate(date: string, unit: 'day' | 'week' | 'month'): string {
  if (unit === 'day') return date;
  if (unit === 'month') return `${date.slice(0, 7)}-01`;
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const weekday = (new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7; // Monday = 0
  return addDays(date, -weekday);
}

/** Start instant (epoch ms) of the bucket holding an instant. */
export function bucketStart(epochMs: number, bucket: Bucket, timeZone: string): number {
  const kind = bucketKind(bucket);
  switch (kind.kind) {
    case 'epoch': {
      const w = kind.widthSeconds * 1000;
      return Math.floor(epochMs / w) * w;
    }
    case 'localHour': {
      const offset = offsetMinutes(epochMs, timeZone);
      const off = offset * 60_000;
      const naive = Math.floor((epochMs + off) / 3_600_000) * 3_600_000 - off;
      if (offsetMinutes(naive, timeZone) === offset) return naive;
      // The local hour began in a DST gap (a 30-minute shift): it starts at the transition.
      let lo = naive;
      let hi = epochMs;
      while (hi - lo > 60_000) {
        const mid = lo + Math.floor((hi - lo) / 120_000) * 60_000;
        if (offsetMinutes(mid, timeZone) === offset) hi = mid;
        else lo = mid;
      }
      return hi;
    }
    case 'localDate':
      return localMidnight(truncateLocalDate(localDate(epochMs, timeZone), kind.unit), timeZone);
    case 'whole':
      throw new Error('a whole-range bucket has no calendar start');
  }
}

/** Start instant of the bucket that follows the one starting at `start`. */
export function nextBucketStart(start: number, bucket: Bucket, timeZone: string): number {
  const kind = bucketKind(bucket);
  switch (kind.kind) {
    case 'epoch':
      return start + kind.widthSeconds * 1000;
    case 'localHour': {
      // The next local hour may be 30 or 90 minutes away across a DST change.
      let t = start + 3_600_000;
      while (bucketStart(t, bucket, timeZone) === start) t += 1_800_000;
      return bucketStart(t, bucket, timeZone);
    }
    case 'localDate': {
      const d = localDate(start, timeZone);
      const next =
        kind.unit === 'day'
          ? addDays(d, 1)
          : kind.unit === 'week'
            ? addDays(d, 7)
            : (() => {
                const [y, m] = d.split('-').map(Number) as [number, number];
                return new Date(Date.UTC(y, m, 1)).toISOString().slice(0, 10);
              })();
      return localMidnight(next, timeZone);
    }
    case 'whole':
      throw new Error('a whole-range bucket has no successor');
  }
}

/**
 * Converts an engine's bucket key to a start instant: epoch seconds for fixed and
 * local-hour buckets, a local day number (days since 1970-01-01 in local time) for
 * DAY/WEEK/MONTH.
 */
export function keyToStart(key: number, bucket: Bucket, timeZone: string): number {
  const kind = bucketKind(bucket);
  if (kind.kind !== 'localDate') return key * 1000;
  const date = new Date(key * DAY_MS).toISOString().slice(0, 10);
  return localMidnight(truncateLocalDate(date, kind.unit), timeZone);
}

/** A stretch of time during which a zone keeps one UTC offset. */
export interface OffsetSegment {
  /** Where the stretch starts (epoch ms); the first one starts at -infinity. */
  fromMs: number;
  offsetMinutes: number;
}

/** Timelines asked for lately, by zone and whole-day range: each costs ~100 Intl calls. */
const timelines = new LRUCache<string, readonly OffsetSegment[]>({ max: 1_000 });

/**
 * The zone's UTC offsets over [fromMs, toMs), as segments split at each transition.
 * Engines bucket with it by plain integer arithmetic (a CASE over the segments), so
 * every engine computes the same keys and none needs a per-row time-zone lookup.
 * It covers whole UTC days around the range, so a dashboard whose `to` moves gets the
 * same (frozen) timeline back on every refresh.
 */
export function offsetTimeline(
  timeZone: string,
  fromMs: number,
  toMs: number,
): readonly OffsetSegment[] {
  const start = Math.floor(fromMs / DAY_MS) * DAY_MS - DAY_MS;
  const end = Math.ceil(toMs / DAY_MS) * DAY_MS + DAY_MS;
  const key = `${timeZone} ${start} ${end}`;
  let segments = timelines.get(key);
  if (segments === undefined) {
    segments = Object.freeze(computeTimeline(timeZone, start, end).map((s) => Object.freeze(s)));
    timelines.set(key, segments);
  }
  return segments;
}

function computeTimeline(timeZone: string, start: number, end: number): OffsetSegment[] {
  const segments: OffsetSegment[] = [
    { fromMs: -Infinity, offsetMinutes: offsetMinutes(start, timeZone) },
  ];
  let previous = segments[0]!.offsetMinutes;
  for (let t = start + DAY_MS; t <= end; t += DAY_MS) {
    const current = offsetMinutes(t, timeZone);
    if (current === previous) continue;
    // Transitions fall on whole minutes: search the first minute with the new offset.
    let lo = t - DAY_MS;
    let hi = t;
    while (hi - lo > 60_000) {
      const mid = lo + Math.floor((hi - lo) / 120_000) * 60_000;
      if (offsetMinutes(mid, timeZone) === previous) lo = mid;
      else hi = mid;
    }
    segments.push({ fromMs: hi, offsetMinutes: current });
    previous = current;
  }
  return segments;
}

/**
 * The widest rollup slot (an hour, half or a quarter hour, else a minute) whose UTC
 * boundaries include every local-hour boundary of the zone from 2000 to 2100: its
 * offsets and transition instants are all multiples of the slot. Then HOUR-and-coarser
 * buckets are unions of slots. (A minute only where a zone once changed at 00:01, as
 * St John's did until 2011.)
 */
export function rollupSlotSeconds(timeZone: string): 60 | 900 | 1800 | 3600 {
  const segments = offsetTimeline(timeZone, Date.UTC(2000, 0, 1), Date.UTC(2100, 0, 1));
  const fits = (seconds: number) =>
    segments.every(
      (s) =>
        (s.offsetMinutes * 60) % seconds === 0 &&
        (s.fromMs === -Infinity || s.fromMs % (seconds * 1000) === 0),
    );
  return fits(3600) ? 3600 : fits(1800) ? 1800 : fits(900) ? 900 : 60;
}

/**
 * SQL (any dialect with integer `//` or div) for a row's UTC offset in microseconds,
 * given an expression for its epoch microseconds.
 */
export function offsetMicrosSql(segments: readonly OffsetSegment[], epochUs: string): string {
  const [first, ...rest] = segments;
  if (rest.length === 0) return `${first!.offsetMinutes * 60_000_000}`;
  const whens = rest
    .map(
      (s, i) =>
        `WHEN ${epochUs} < ${s.fromMs * 1000} THEN ${segments[i]!.offsetMinutes * 60_000_000}`,
    )
    .join(' ');
  return `(CASE ${whens} ELSE ${rest.at(-1)!.offsetMinutes * 60_000_000} END)`;
}

/**
 * SQL for the start (epoch µs) of the offset segment a row falls in. A local hour that
 * begins inside a DST gap (Lord Howe moves by 30 minutes) starts at the transition, so
 * engines take the later of the naive local-hour start and this.
 */
export function segmentStartMicrosSql(segments: readonly OffsetSegment[], epochUs: string): string {
  const [, ...rest] = segments;
  if (rest.length === 0) return `${MIN_EPOCH_US}`;
  const whens = rest
    .map(
      (s, i) =>
        `WHEN ${epochUs} < ${s.fromMs * 1000} THEN ${i === 0 ? MIN_EPOCH_US : rest[i - 1]!.fromMs * 1000}`,
    )
    .join(' ');
  return `(CASE ${whens} ELSE ${rest.at(-1)!.fromMs * 1000} END)`;
}

/** Below any instant tidemark stores (about the year 1684, in epoch µs), and exact in JS. */
const MIN_EPOCH_US = Number.MIN_SAFE_INTEGER;

/** An upper bound on the number of buckets in [from, to). */
export function estimateBuckets(fromMs: number, toMs: number, bucket: Bucket): number {
  return Math.ceil((toMs - fromMs) / 1000 / NOMINAL_SECONDS[bucket]) + 1;
}

export function parseInstant(value: string, argument: string): number {
  const ms = Date.parse(value);
  if (
    !/^\d{4}-\d{2}-\d{2}T/.test(value) ||
    Number.isNaN(ms) ||
    !/(Z|[+-]\d{2}:?\d{2})$/.test(value)
  ) {
    throw badInput(
      `${argument} must be an ISO-8601 instant with a zone, e.g. 2026-11-20T10:00:00Z`,
      argument,
    );
  }
  return ms;
}
