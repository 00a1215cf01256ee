// The gateway's defences, each as an attack against the running system.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTierPass } from '../../tiering/tierPass.ts';
import { createTenantDataset } from '../support/fixtures.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.ts';

const NOW = Date.parse('2026-11-20T12:00:00Z');
const PROD_SECRETS = { JWT_SECRET: 'j'.repeat(40), CONTEXT_SECRET: 'c'.repeat(40) };
const SERIES = (bucket = 'DAY', from = '2026-10-01T00:00:00Z') =>
  `series(attribute: "value", from: "${from}", to: "2026-11-20T00:00:00Z", bucket: ${bucket}) { points { count } }`;

describe('gateway limits (production settings)', () => {
  let db: TestDatabase;
  let stack: Stack;
  let token: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    stack = await startStack(db, {
      TIDEMARK_ENV: 'production',
      ...PROD_SECRETS,
      MAX_QUERY_DEPTH: '4',
      MAX_QUERY_POINTS: '10000',
      RATE_LIMIT_QUERY_PER_SECOND: '1000',
    });
    await createTenantDataset(db.dbs.operator, {
      tenantId: 'lim',
      timeZone: 'UTC',
      entities: 3,
      days: 40,
      rowsPerDay: 5,
      nowMs: NOW,
      seed: 4,
    });
    await runTierPass(stack.tierDeps, { nowMs: NOW });
    token = await stack.token('lim');
  });
  afterAll(async () => {
    await stack?.close();
    await db?.drop();
  });

  const post = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${stack.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers },
      body: JSON.stringify(body),
    });

  it('answers a query within the limits', async () => {
    const res = await stack.query(token, `{ entity(id: "e-000") { name ${SERIES()} } }`);
    expect(res.body.errors).toBeUndefined();
  });

  it('refuses a query deeper than the limit, also through a fragment named __schema', async () => {
    const deep = await stack.query(token, `{ entities { nodes { ${SERIES()} } } }`);
    expect(deep.status).toBe(400);
    expect(deep.body.errors?.[0]?.message).toMatch(/depth/i);
    const sneaky = await stack.query(
      token,
      `query { ...__schema } fragment __schema on Query { entities { nodes { ${SERIES()} } } }`,
    );
    expect(sneaky.body.data ?? null).toBeNull();
    expect(sneaky.body.errors?.[0]?.message).toMatch(/depth/i);
  });

  it('refuses alias and token floods', async () => {
    const aliases = Array.from({ length: 40 }, (_, i) => `a${i}: tenant { id }`).join(' ');
    const flood = await stack.query(token, `{ ${aliases} }`);
    expect(flood.body.errors?.[0]?.message).toMatch(/aliases/i);
    const tokens = await stack.query(
      token,
      `{ tenant { ${Array.from({ length: 6000 }, () => 'id').join(' ')} } }`,
    );
    expect(tokens.body.errors?.[0]?.message).toMatch(/token/i);
  });

  it('refuses a query whose series could return more points than allowed, before any engine runs', async () => {
    const coldBefore = stack.engine.queryCount;
    const res = await stack.query(
      token,
      `{ a: entity(id: "e-000") { ${SERIES('FIVE_MINUTES', '2025-11-20T00:00:00Z')} } }`,
    );
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0]?.extensions).toMatchObject({
      code: 'QUERY_TOO_COSTLY',
      maxPoints: 10000,
    });
    expect(stack.engine.queryCount).toBe(coldBefore);
  });

  it('refuses batched requests, introspection and hides field suggestions in production', async () => {
    const batch = await post([{ query: '{ tenant { id } }' }, { query: '{ tenant { id } }' }]);
    expect(batch.status).toBe(400);
    const introspection = await stack.query(token, '{ __schema { types { name } } }');
    expect(introspection.body.errors?.[0]?.message).toMatch(/introspection/i);
    const typo = await stack.query(token, '{ tenant { nam } }');
    expect(typo.body.errors?.[0]?.message).toMatch(/Cannot query field "nam"/);
    expect(typo.body.errors?.[0]?.message).not.toMatch(/Did you mean/);
  });

  it('refuses a GET query without a CSRF-safe header', async () => {
    const res = await fetch(
      `${stack.gateway.url}/graphql?query=${encodeURIComponent('{ tenant { id } }')}`,
      {
        headers: { authorization: `Bearer ${token}` },
      },
    );
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/CSRF/);
  });

  it('exposes Prometheus metrics of requests and rejections', async () => {
    const res = await fetch(`${stack.gateway.url}/metrics`);
    const text = await res.text();
    expect(text).toMatch(
      /tidemark_graphql_requests_total\{operation="anonymous",outcome="ok"\} \d+/,
    );
    expect(text).toMatch(/tidemark_rejections_total\{reason="too_costly"\} 1/);
    expect(text).toMatch(
      /tidemark_subgraph_request_duration_seconds_count\{subgraph="oltp",outcome="ok"\} \d+/,
    );
  });
});

describe('per-tenant rate limits', () => {
  let db: TestDatabase;
  let stack: Stack;

  beforeAll(async () => {
    db = await createTestDatabase();
    // A bucket of 5 that refills slowly: the 12 requests below meet an empty bucket
    // however long they take to arrive.
    stack = await startStack(db, {
      RATE_LIMIT_QUERY_BURST: '5',
      RATE_LIMIT_QUERY_PER_SECOND: '0.01',
    });
    for (const tenantId of ['busy', 'calm']) {
      await createTenantDataset(db.dbs.operator, {
        tenantId,
        timeZone: 'UTC',
        entities: 1,
        days: 2,
        rowsPerDay: 2,
        nowMs: NOW,
        seed: 1,
      });
    }
  });
  afterAll(async () => {
    await stack?.close();
    await db?.drop();
  });

  it('answers 429 with Retry-After and RateLimit headers past the budget, for that tenant only', async () => {
    const busy = await stack.token('busy');
    const responses = await Promise.all(
      Array.from({ length: 12 }, () =>
        fetch(`${stack.gateway.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${busy}` },
          body: JSON.stringify({ query: '{ tenant { id } }' }),
        }),
      ),
    );
    const limited = responses.filter((r) => r.status === 429);
    expect(responses.filter((r) => r.status === 200)).toHaveLength(5);
    expect(limited).toHaveLength(7);
    const passed = responses.filter((r) => r.status === 200);
    expect(passed.map((r) => r.headers.get('ratelimit-remaining')).sort()).toEqual([
      '0',
      '1',
      '2',
      '3',
      '4',
    ]);
    // one token per 100 s: the next one is 100 s away, a full bucket 500 s
    expect(Number(limited[0]!.headers.get('retry-after'))).toBe(100);
    expect(Number(limited[0]!.headers.get('ratelimit-reset'))).toBe(500);
    expect(limited[0]!.headers.get('ratelimit-limit')).toBe('5');
    expect(limited[0]!.headers.get('ratelimit-remaining')).toBe('0');
    const body = (await limited[0]!.json()) as { errors: { extensions: { code: string } }[] };
    expect(body.errors[0]!.extensions.code).toBe('RATE_LIMITED');
    const calm = await stack.query(await stack.token('calm'), '{ tenant { id } }');
    expect(calm.status).toBe(200);
  });
});

describe('graceful degradation when the OLAP subgraph is down or slow', () => {
  let db: TestDatabase;
  let stack: Stack;

  beforeAll(async () => {
    db = await createTestDatabase();
    stack = await startStack(db);
    await createTenantDataset(db.dbs.operator, {
      tenantId: 'deg',
      timeZone: 'UTC',
      entities: 1,
      days: 5,
      rowsPerDay: 3,
      nowMs: NOW,
      seed: 2,
    });
  });
  afterAll(async () => {
    await stack?.close();
    await db?.drop();
  });

  const QUERY = `{ entity(id: "e-000") { name ${SERIES()} } }`;

  /**
   * The query through a gateway (400 ms subgraph deadline) whose "OLAP" is `fake`: a
   * fault injected on purpose. The OLTP part must come back, within the deadline.
   */
  const throughFakeOlap = async (fake: http.RequestListener) => {
    const server = http.createServer(fake);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as AddressInfo;
    const gateway = await stack.extraGateway(
      { SUBGRAPH_TIMEOUT_MS: 400 },
      { olapUrl: `http://127.0.0.1:${port}/graphql` },
    );
    try {
      const started = Date.now();
      const res = await stack.query<{ entity: { name: string; series: unknown } }>(
        await stack.token('deg'),
        QUERY,
        {},
        `${gateway.url}/graphql`,
      );
      expect(Date.now() - started).toBeLessThan(3000);
      expect(res.body.data).toEqual({ entity: { name: 'e-000', series: null } });
      return res.body;
    } finally {
      await gateway.close();
      server.closeAllConnections();
      server.close();
    }
  };

  it('returns the OLTP fields and a typed error with a path when OLAP times out, within the deadline', async () => {
    // an "OLAP" that accepts connections and never answers
    const body = await throughFakeOlap(() => undefined);
    expect(body.errors?.[0]).toMatchObject({
      path: ['entity', 'series'],
      extensions: { code: 'ENGINE_TIMEOUT' },
    });
    expect(JSON.stringify(body)).not.toMatch(/127\.0\.0\.1|olap|serviceName/);
  });

  /** The first error when the "OLAP" starts an answer, then does `then`. */
  const halfAnswered = async (then: (res: http.ServerResponse) => void) =>
    (
      await throughFakeOlap((req, res) => {
        req.resume();
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"data":{"_entities":[{"series":{"points":[');
        then(res);
      })
    ).errors?.[0];

  it('times out an answer that stalls halfway, within the deadline', async () => {
    expect(await halfAnswered(() => undefined)).toMatchObject({
      path: ['entity', 'series'],
      extensions: { code: 'ENGINE_TIMEOUT' },
    });
  });

  it('answers TIER_UNAVAILABLE when the OLAP connection breaks halfway through an answer', async () => {
    expect(await halfAnswered((res) => res.socket?.destroy())).toMatchObject({
      path: ['entity', 'series'],
      extensions: { code: 'TIER_UNAVAILABLE' },
    });
  });

  it('returns the OLTP fields and TIER_UNAVAILABLE when OLAP is down', async () => {
    await stack.olap.close();
    const res = await stack.query<{ entity: { name: string; series: unknown } }>(
      await stack.token('deg'),
      QUERY,
    );
    expect(res.body.data).toEqual({ entity: { name: 'e-000', series: null } });
    expect(res.body.errors?.[0]).toMatchObject({
      path: ['entity', 'series'],
      extensions: { code: 'TIER_UNAVAILABLE' },
    });
    expect(JSON.stringify(res.body)).not.toMatch(/127\.0\.0\.1|olap|serviceName|ECONNREFUSED/);
  });
});
