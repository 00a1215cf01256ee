// The response cache's own mechanics against a stand-in data-version route: a hit is
// sent as the bytes stored with it, and a version that cannot be had in time means
// answering uncached. test/e2e/responseCache.test.ts covers it with the whole stack.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Response } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.ts';
import { CONTEXT_HEADER, verifyContext } from '../../core/signedContext.ts';
import { GatewayMetrics } from '../../gateway/metrics.ts';
import { ResponseCache } from '../../gateway/responseCache.ts';

const SECRET = 'unit-test-secret';
const identity = { tenantId: 't1', subject: 'u', roles: ['viewer' as const], requestId: 'r' };

/** How the stand-in answers: a version, a status, never, or by closing the connection once. */
let mode: { version: string } | { status: number } | 'hang' | 'reset once' = { version: 'v1' };
let requests = 0;
let server: http.Server;
let olapUrl: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    verifyContext(req.headers[CONTEXT_HEADER] as string, SECRET); // only signed asks
    requests += 1;
    if (mode === 'hang') return;
    if (mode === 'reset once') {
      mode = { version: 'v1' };
      return void req.socket.destroy();
    }
    if ('status' in mode) return void res.writeHead(mode.status).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(mode));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  olapUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function newCache(versionTimeoutMs = 1000) {
  const metrics = new GatewayMetrics();
  const cache = new ResponseCache({
    olapUrl,
    contextSecret: SECRET,
    contextTtlSeconds: 30,
    maxBytes: 1 << 20,
    versionTimeoutMs,
    metrics,
    log: createLogger('silent'),
  });
  const lookups = async (result: string) =>
    (await metrics.responseCache.get()).values.find((v) => v.labels.result === result)?.value ?? 0;
  return { cache, lookups };
}

/** One query through the plugin's hooks, as Apollo calls them; returns the response text. */
async function ask(cache: ResponseCache, answer: Record<string, unknown>): Promise<string> {
  const hooks = await cache.plugin<{ identity: typeof identity }>().requestDidStart!({} as never);
  const request = {
    contextValue: { identity },
    operation: { operation: 'query' },
    source: '{ answer }',
    operationName: null,
    request: { variables: {} },
    metrics: {},
  };
  const served = await hooks!.responseForOperation!(request as never);
  const data = served
    ? (served.body as { singleResult: { data: Record<string, unknown> } }).singleResult.data
    : { ...answer };
  await hooks!.willSendResponse!({
    response: { body: { kind: 'single', singleResult: { data } } },
    overallCachePolicy: { policyIfCacheable: () => ({ maxAge: 60 }) },
  } as never);
  return cache.stringify({ data });
}

/** What Express's res.send is finally given for a body, through sendStoredBytes. */
function sent(cache: ResponseCache, body: string): unknown {
  let given: unknown;
  const res = { send: (b: unknown) => (given = b) } as unknown as Response;
  cache.sendStoredBytes({} as never, res, () => undefined);
  res.send(body);
  return given;
}

describe('ResponseCache', () => {
  it('sends a hit as the bytes stored with it, and only a hit', async () => {
    mode = { version: 'v1' };
    const { cache, lookups } = newCache();
    const missText = await ask(cache, { answer: 'é 1' });
    // An answer being kept is encoded once: its stored bytes go out.
    expect((sent(cache, missText) as Buffer).toString('utf8')).toBe(missText);
    const hitText = await ask(cache, { answer: 'different, never computed' });
    expect(await lookups('hit')).toBe(1);
    expect(JSON.parse(hitText)).toEqual({ data: { answer: 'é 1' } });
    const bytes = sent(cache, hitText);
    expect(Buffer.isBuffer(bytes)).toBe(true);
    expect((bytes as Buffer).toString('utf8')).toBe(hitText);
    // Each stringified hit is swapped once; the same text again goes out as text.
    expect(sent(cache, hitText)).toBe(hitText);
    // Answers not kept (here: the version route fails) go out as text.
    mode = { status: 503 };
    const uncached = await ask(cache, { answer: 2 });
    expect(sent(cache, uncached)).toBe(uncached);
  });

  it('a new data version misses', async () => {
    mode = { version: 'v1' };
    const { cache, lookups } = newCache();
    await ask(cache, { answer: 1 });
    mode = { version: 'v2' };
    expect(JSON.parse(await ask(cache, { answer: 2 }))).toEqual({ data: { answer: 2 } });
    expect(await lookups('miss')).toBe(2);
  });

  it('asks once more when a kept-alive connection was closed under it', async () => {
    mode = { version: 'v1' };
    const { cache, lookups } = newCache();
    await ask(cache, { answer: 1 }); // opens the connection that the next ask reuses
    mode = 'reset once';
    const before = requests;
    expect(JSON.parse(await ask(cache, { answer: 2 }))).toEqual({ data: { answer: 1 } });
    expect(requests - before).toBe(2);
    expect([await lookups('hit'), await lookups('bypass')]).toEqual([1, 0]);
  });

  it('answers uncached when the version route fails or does not answer in time', async () => {
    mode = { status: 500 };
    const failing = newCache();
    expect(JSON.parse(await ask(failing.cache, { answer: 1 }))).toEqual({ data: { answer: 1 } });
    expect(await failing.lookups('bypass')).toBe(1);

    mode = 'hang';
    const slow = newCache(200);
    expect(JSON.parse(await ask(slow.cache, { answer: 2 }))).toEqual({ data: { answer: 2 } });
    expect(await slow.lookups('bypass')).toBe(1);
    mode = { version: 'v1' }; // and nothing was kept meanwhile
    expect(JSON.parse(await ask(slow.cache, { answer: 3 }))).toEqual({ data: { answer: 3 } });
    expect(await slow.lookups('miss')).toBe(1);
  });
});
