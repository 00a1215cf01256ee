// With REDIS_URL, gateway instances share one budget per tenant. Needs a Redis: set
// TEST_REDIS_URL (CI does, to the machine's Redis); without it this suite is skipped
// and says why.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { RunningServer } from '../../core/httpServer.ts';
import { createRateLimits, redisKey } from '../../gateway/rateLimit.ts';
import { createTenantDataset } from '../support/fixtures.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.ts';

const REDIS_URL = process.env.TEST_REDIS_URL;

describe.skipIf(!REDIS_URL)(
  'rate limits shared through Redis (skipped: TEST_REDIS_URL is not set)',
  () => {
    let db: TestDatabase;
    let stack: Stack;
    let second: RunningServer;
    const tenantId = `redis-${Date.now().toString(36)}`;
    const refillTenant = `${tenantId}-refill`;

    beforeAll(async () => {
      db = await createTestDatabase();
      stack = await startStack(db, {
        REDIS_URL: REDIS_URL!,
        RATE_LIMIT_QUERY_BURST: '6',
        RATE_LIMIT_QUERY_PER_SECOND: '0.01',
      });
      await createTenantDataset(db.dbs.operator, {
        tenantId,
        timeZone: 'UTC',
        entities: 1,
        days: 1,
        rowsPerDay: 1,
        nowMs: Date.now(),
        seed: 3,
      });
      second = await stack.extraGateway();
    });
    afterAll(async () => {
      await second?.close();
      await stack?.close();
      await db?.drop();
      const redis = new Redis(REDIS_URL!);
      await redis.del(redisKey('query', tenantId), redisKey('query', refillTenant));
      redis.disconnect();
    });

    it('counts requests to two gateway instances against one budget', async () => {
      const token = await stack.token(tenantId);
      const urls = [stack.gateway.url, second.url];
      const statuses = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          fetch(`${urls[i % 2]}/graphql`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
            body: JSON.stringify({ query: '{ tenant { id } }' }),
          }).then((r) => r.status),
        ),
      );
      expect(statuses.filter((s) => s === 200)).toHaveLength(6);
      expect(statuses.filter((s) => s === 429)).toHaveLength(6);
    });

    it('refills the shared bucket at the configured rate, on Redis time', async () => {
      const limits = await createRateLimits({
        query: { perSecond: 10, burst: 2 },
        ingest: { perSecond: 1, burst: 1 },
        redisUrl: REDIS_URL!,
      });
      try {
        const take = () => limits.check(refillTenant, 'query');
        const burst = [await take(), await take(), await take()];
        expect(burst.map((d) => [d.allowed, d.remaining])).toEqual([
          [true, 1],
          [true, 0],
          [false, 0],
        ]);
        expect(burst[2]!.retryAfterSeconds).toBe(1);
        await new Promise((r) => setTimeout(r, 130)); // one token back after 100 ms
        expect((await take()).allowed).toBe(true);
        expect((await take()).allowed).toBe(false);
        const redis = new Redis(REDIS_URL!);
        const ttl = await redis.pttl(redisKey('query', refillTenant));
        redis.disconnect();
        expect(ttl).toBeGreaterThan(0); // the key expires once the bucket would be full
        expect(ttl).toBeLessThanOrEqual(200);
      } finally {
        await limits.close();
      }
    });
  },
);
