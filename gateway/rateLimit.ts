// Per-tenant rate limits with separate budgets for queries and ingest: in-process by
// default, in Redis (rate-limiter-flexible) when REDIS_URL is set, so several gateway
// instances share one budget per tenant.
import { Redis } from 'ioredis';
import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';

export type Budget = 'query' | 'ingest';

export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  resetSeconds: number;
}

export interface RateLimits {
  check(tenantId: string, budget: Budget): Promise<RateDecision>;
  close(): Promise<void>;
}

export interface RateLimitSettings {
  queryPerSecond: number;
  ingestPerSecond: number;
  redisUrl?: string;
}

export function createRateLimits(settings: RateLimitSettings): RateLimits {
  const redis = settings.redisUrl
    ? new Redis(settings.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1 })
    : null;
  const make = (budget: Budget, points: number): RateLimiterAbstract =>
    redis
      ? new RateLimiterRedis({
          storeClient: redis,
          keyPrefix: `tidemark:rl:${budget}`,
          points,
          duration: 1,
        })
      : new RateLimiterMemory({ keyPrefix: budget, points, duration: 1 });
  const limiters: Record<Budget, { limiter: RateLimiterAbstract; points: number }> = {
    query: { limiter: make('query', settings.queryPerSecond), points: settings.queryPerSecond },
    ingest: { limiter: make('ingest', settings.ingestPerSecond), points: settings.ingestPerSecond },
  };
  return {
    async check(tenantId, budget) {
      const { limiter, points } = limiters[budget];
      try {
        const res = await limiter.consume(tenantId, 1);
        return {
          allowed: true,
          limit: points,
          remaining: res.remainingPoints,
          resetSeconds: Math.ceil(res.msBeforeNext / 1000),
        };
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) {
          return {
            allowed: false,
            limit: points,
            remaining: 0,
            resetSeconds: Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)),
          };
        }
        throw rejection; // the store failed: the caller decides (fails open, logged)
      }
    },
    async close() {
      redis?.disconnect();
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
  if (!d.allowed) headers['Retry-After'] = String(d.resetSeconds);
  return headers;
}
