// Per-tenant rate limits with separate budgets for queries and ingest. Each budget is a
// token bucket per tenant: it holds up to `burst` tokens, refills at `perSecond`, and a
// request takes one. The bucket is kept as GCRA's one number per key, the theoretical
// arrival time (TAT): the instant at which the bucket would be full again. In-process
// by default; in Redis (one Lua script, Redis's own clock) when REDIS_URL is set, so
// several gateway instances share one bucket per tenant.
//
// No well-kept Node library offers a token bucket over both memory and Redis
// (rate-limiter-flexible, used before, has fixed windows only), so the ~20 lines of
// arithmetic live here, once in TypeScript and once in Lua, and the unit test pins them.
import { once } from 'node:events';
import { setTimeout } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';

export type Budget = 'query' | 'ingest';

export interface RateDecision {
  allowed: boolean;
  /** The bucket's capacity. */
  limit: number;
  /** Tokens left after this request. */
  remaining: number;
  /** Seconds until the bucket is full again. */
  resetSeconds: number;
  /** When refused: seconds until one token is back. */
  retryAfterSeconds: number;
}

export interface RateLimits {
  check(tenantId: string, budget: Budget): Promise<RateDecision>;
  close(): Promise<void>;
}

export interface BucketShape {
  perSecond: number;
  burst: number;
}

export interface RateLimitSettings {
  query: BucketShape;
  ingest: BucketShape;
  redisUrl?: string;
  /** Milliseconds now; the in-process store's clock (tests move it). */
  clock?: () => number;
}

/** A bucket from configuration: the burst defaults to two seconds' worth of tokens. */
export const bucketShape = (perSecond: number, burst?: number): BucketShape => ({
  perSecond,
  burst: burst ?? Math.max(1, Math.ceil(2 * perSecond)),
});

/** Milliseconds one token takes to come back, and the time a full bucket spans. */
const shapeMs = (shape: BucketShape) => {
  const emissionMs = 1000 / shape.perSecond;
  return { emissionMs, capacityMs: emissionMs * shape.burst };
};

/** GCRA step: the decision for a request at `nowMs` given the stored TAT. */
export function takeToken(
  shape: BucketShape,
  nowMs: number,
  storedTatMs: number | undefined,
): { decision: RateDecision; tatMs: number | null } {
  const { emissionMs, capacityMs } = shapeMs(shape);
  const tat = Math.max(storedTatMs ?? nowMs, nowMs);
  const newTat = tat + emissionMs;
  const allowAt = newTat - capacityMs;
  if (nowMs < allowAt) {
    return { decision: refused(shape, allowAt - nowMs, tat - nowMs), tatMs: null };
  }
  return { decision: allowed(shape, capacityMs - (newTat - nowMs), newTat - nowMs), tatMs: newTat };
}

function allowed(shape: BucketShape, slackMs: number, fullInMs: number): RateDecision {
  return {
    allowed: true,
    limit: shape.burst,
    // a hair of float error must not turn 2 tokens into 1
    remaining: Math.max(0, Math.floor(slackMs / shapeMs(shape).emissionMs + 1e-9)),
    resetSeconds: Math.ceil(fullInMs / 1000),
    retryAfterSeconds: 0,
  };
}

function refused(shape: BucketShape, waitMs: number, fullInMs: number): RateDecision {
  return {
    allowed: false,
    limit: shape.burst,
    remaining: 0,
    resetSeconds: Math.max(1, Math.ceil(fullInMs / 1000)),
    retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
  };
}

// The same step in Redis, atomically, on Redis's clock. Returns {1|0, a, b} where a is
// the slack (allowed) or the wait (refused) and b the time until full, all in ms, as
// strings so fractions survive the reply.
const TAKE_TOKEN_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local emission = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local newTat = tat + emission
local allowAt = newTat - capacity
if now < allowAt then
  return {0, tostring(allowAt - now), tostring(tat - now)}
end
redis.call('SET', KEYS[1], tostring(newTat), 'PX', math.ceil(newTat - now))
return {1, tostring(capacity - (newTat - now)), tostring(newTat - now)}
`;

type TokenRedis = Redis & {
  takeToken(key: string, emissionMs: number, capacityMs: number): Promise<[number, string, string]>;
};

export const redisKey = (budget: Budget, tenantId: string) => `tidemark:tb:${budget}:${tenantId}`;

export async function createRateLimits(settings: RateLimitSettings): Promise<RateLimits> {
  if (settings.redisUrl) return redisLimits(settings, settings.redisUrl);
  const clock = settings.clock ?? Date.now;
  // The LRU bounds memory. A TAT in the past counts as none (takeToken), so entries need
  // no time-out: with one, lru-cache deletes an expired entry on get, and deleting the
  // last entry clears every slot of the 100,000 (half a millisecond per request).
  const tats = new LRUCache<string, number>({ max: 100_000 });
  return {
    async check(tenantId, budget) {
      const shape = settings[budget];
      const key = `${budget}:${tenantId}`;
      const now = clock();
      const { decision, tatMs } = takeToken(shape, now, tats.get(key));
      if (tatMs !== null) tats.set(key, tatMs);
      return decision;
    },
    async close() {},
  };
}

/**
 * Without an offline queue a command fails at once while Redis is away, and the caller
 * lets the request through (logged): a rate-limit store must not take the API down.
 * So wait (briefly) for the first connection; later outages fail open the same way.
 */
async function redisLimits(settings: RateLimitSettings, url: string): Promise<RateLimits> {
  const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  // Connection errors surface as failed checks, which the caller logs per request.
  redis.on('error', () => undefined);
  await Promise.race([
    once(redis, 'ready').catch(() => undefined),
    setTimeout(2000, undefined, { ref: false }),
  ]);
  redis.defineCommand('takeToken', { numberOfKeys: 1, lua: TAKE_TOKEN_LUA });
  const client = redis as TokenRedis;
  return {
    async check(tenantId, budget) {
      const shape = settings[budget];
      const { emissionMs, capacityMs } = shapeMs(shape);
      const [ok, a, b] = await client.takeToken(redisKey(budget, tenantId), emissionMs, capacityMs);
      return ok === 1 ? allowed(shape, Number(a), Number(b)) : refused(shape, Number(a), Number(b));
    },
    async close() {
      redis.disconnect();
    },
  };
}

/** IETF RateLimit header fields, plus Retry-After when refused. */
export function rateLimitHeaders(d: RateDecision): Record<string, string> {
  const headers: Record<string, string> = {
    'RateLimit-Limit': String(d.limit),
    'RateLimit-Remaining': String(d.remaining),
    'RateLimit-Reset': String(d.resetSeconds),
  };
  if (!d.allowed) headers['Retry-After'] = String(d.retryAfterSeconds);
  return headers;
}
