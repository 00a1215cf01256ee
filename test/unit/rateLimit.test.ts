// The token bucket's arithmetic, on the in-process store with a clock the test moves.
// The Redis store runs the same steps in Lua; test/e2e/rateLimitRedis.test.ts drives it.
import { describe, expect, it } from 'vitest';
import { bucketShape, createRateLimits, rateLimitHeaders } from '../../gateway/rateLimit.ts';

async function limitsAt(query: { perSecond: number; burst: number }) {
  const clock = { now: 1_000_000 };
  const limits = await createRateLimits({
    query,
    ingest: { perSecond: 1, burst: 1 },
    clock: () => clock.now,
  });
  const take = async (tenant = 't1') => limits.check(tenant, 'query');
  return { clock, take, limits };
}

describe('token bucket rate limits', () => {
  it('lets a full bucket burst, then refuses until a token comes back', async () => {
    const { clock, take } = await limitsAt({ perSecond: 2, burst: 3 });
    const burst = [await take(), await take(), await take()];
    expect(burst.map((d) => d.allowed)).toEqual([true, true, true]);
    expect(burst.map((d) => d.remaining)).toEqual([2, 1, 0]);
    const refused = await take();
    expect(refused).toMatchObject({ allowed: false, remaining: 0, limit: 3 });
    expect(refused.retryAfterSeconds).toBe(1); // 500 ms, rounded up to whole seconds
    clock.now += 499;
    expect((await take()).allowed).toBe(false); // refusals take nothing from the bucket
    clock.now += 1;
    expect(await take()).toMatchObject({ allowed: true, remaining: 0 });
    expect((await take()).allowed).toBe(false);
  });

  it('refills at the configured rate and never beyond the burst', async () => {
    const { clock, take } = await limitsAt({ perSecond: 10, burst: 4 });
    for (let i = 0; i < 4; i++) await take();
    clock.now += 250; // 2.5 tokens back: two whole ones
    expect((await take()).allowed).toBe(true);
    expect((await take()).allowed).toBe(true);
    expect((await take()).allowed).toBe(false);
    clock.now += 60_000; // an idle minute fills the bucket to 4, not 600
    const after = [];
    for (let i = 0; i < 5; i++) after.push((await take()).allowed);
    expect(after).toEqual([true, true, true, true, false]);
  });

  it('sustains the rate: over 10 s at 5/s with burst 5, 55 requests pass', async () => {
    const { clock, take } = await limitsAt({ perSecond: 5, burst: 5 });
    let passed = 0;
    for (let ms = 0; ms <= 10_000; ms += 10) {
      if ((await take()).allowed) passed += 1;
      clock.now += 10;
    }
    expect(passed).toBe(5 + 10 * 5);
  });

  it('keeps one bucket per tenant and per budget', async () => {
    const { take, limits } = await limitsAt({ perSecond: 1, burst: 1 });
    expect((await take('a')).allowed).toBe(true);
    expect((await take('a')).allowed).toBe(false);
    expect((await take('b')).allowed).toBe(true);
    expect((await limits.check('a', 'ingest')).allowed).toBe(true);
  });

  it('reports when the bucket is full again in RateLimit-Reset', async () => {
    const { take } = await limitsAt({ perSecond: 1, burst: 3 });
    await take();
    await take();
    const d = await take();
    expect(d.resetSeconds).toBe(3);
    expect(rateLimitHeaders(d)).toEqual({
      'RateLimit-Limit': '3',
      'RateLimit-Remaining': '0',
      'RateLimit-Reset': '3',
    });
    expect(rateLimitHeaders(await take())['Retry-After']).toBe('1');
  });

  it('defaults the burst to two seconds of the rate', () => {
    expect(bucketShape(100)).toEqual({ perSecond: 100, burst: 200 });
    expect(bucketShape(0.2)).toEqual({ perSecond: 0.2, burst: 1 });
    expect(bucketShape(5, 7)).toEqual({ perSecond: 5, burst: 7 });
  });

  it('starts without a reachable Redis, and its checks fail for the caller to let through', async () => {
    const started = Date.now();
    const limits = await createRateLimits({
      query: { perSecond: 1, burst: 1 },
      ingest: { perSecond: 1, burst: 1 },
      redisUrl: 'redis://127.0.0.1:1', // nothing listens on port 1
    });
    expect(Date.now() - started).toBeLessThan(5_000);
    await expect(limits.check('t1', 'query')).rejects.toThrow();
    await limits.close();
  });
});
