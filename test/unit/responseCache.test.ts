// The response cache's own mechanics against a stand-in data-version route: a hit is
// sent as the bytes stored (through gateway/responseBytes.ts, tested here too), and a
// version that cannot be had in time means answering uncached. test/e2e/responseCache.test.ts covers it with the whole stack.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Response } from 'express';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../core/logger.ts';
import { CONTEXT_HEADER, verifyContext } from '../../core/signedContext.ts';
import { GatewayMetrics } from '../../gateway/metrics.ts';
import { RawJSON } from '../../gateway/rawSubtrees.ts';
import { ResponseBytes } from '../../gateway/responseBytes.ts';
import { namesEtag, ResponseCache } from '../../gateway/responseCache.ts';

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
  const responseBytes = new ResponseBytes();
  const cache = new ResponseCache({
    olapUrl,
    contextSecret: SECRET,
    contextTtlSeconds: 30,
    maxBytes: 1 << 20,
    versionTimeoutMs,
    metrics,
    responseBytes,
    log: createLogger('silent'),
  });
  const lookups = async (result: string) =>
    (await metrics.responseCache.get()).values.find((v) => v.labels.result === result)?.value ?? 0;
  /** One query, as Express is finally given its response (bytes or text). */
  const respond = async (answer: Record<string, unknown>, source?: string) =>
    sent(responseBytes, await apolloResponse(cache, answer, source));
  /** The same, as text. */
  const ask = async (answer: Record<string, unknown>, source?: string) => {
    const given = await respond(answer, source);
    return Buffer.isBuffer(given) ? given.toString('utf8') : (given as string);
  };
  return { cache, lookups, respond, ask };
}

/** One query through the plugin's hooks, as Apollo calls them; returns Apollo's response string. */
async function apolloResponse(
  cache: ResponseCache,
  answer: Record<string, unknown>,
  source = '{ answer }',
): Promise<string> {
  const request = {
    contextValue: { identity },
    operation: { operation: 'query' },
    source,
    operationName: null,
    request: { query: source, variables: {} },
    metrics: {},
  };
  const hooks = await cache.plugin<{ identity: typeof identity }>().requestDidStart!(
    request as never,
  );
  const served = await hooks!.responseForOperation!(request as never);
  const data = served
    ? (served.body as { singleResult: { data: Record<string, unknown> } }).singleResult.data
    : { ...answer };
  await hooks!.willSendResponse!({
    request: request.request,
    response: { http: { headers: new Map() }, body: { kind: 'single', singleResult: { data } } },
    overallCachePolicy: { policyIfCacheable: () => ({ maxAge: 60 }) },
  } as never);
  return cache.stringify({ data });
}

/**
 * What Express's res.send is finally given for Apollo's response string; for bytes in
 * pieces, the pieces written, joined.
 */
function sent(responseBytes: ResponseBytes, body: string): unknown {
  let given: unknown;
  const written: Buffer[] = [];
  const res = {
    send: (b: unknown) => (given = b),
    get: () => 'application/json; charset=utf-8',
    setHeader: () => undefined,
    cork: () => undefined,
    write: (piece: Buffer) => written.push(piece),
    end: () => (given = Buffer.concat(written)),
  } as unknown as Response;
  responseBytes.middleware({ method: 'POST', fresh: false } as never, res, () => undefined);
  res.send(body);
  return given;
}

describe('namesEtag', () => {
  it('finds the tag in an If-None-Match list, weakly, and nothing else', () => {
    const etag = 'W/"abc"';
    expect(namesEtag('W/"abc"', etag)).toBe(true);
    expect(namesEtag('"abc"', etag)).toBe(true); // weak comparison ignores W/
    expect(namesEtag('"x", W/"abc" ,"y"', etag)).toBe(true);
    expect(namesEtag('W/"abcd"', etag)).toBe(false);
    expect(namesEtag('W/"ab"', etag)).toBe(false);
    expect(namesEtag('*', etag)).toBe(false);
    expect(namesEtag('', etag)).toBe(false);
    expect(namesEtag(undefined, etag)).toBe(false);
  });
});

describe('ResponseBytes', () => {
  it('sends bytes in place of their placeholder, once; text as it is', () => {
    const responseBytes = new ResponseBytes();
    expect(responseBytes.body('{"data":1}\n')).toBe('{"data":1}\n');
    expect(sent(responseBytes, '{"data":1}\n')).toBe('{"data":1}\n');
    const bytes = Buffer.from('{"data":"é"}\n');
    const placeholder = responseBytes.body(bytes);
    expect(placeholder).not.toContain('data');
    expect(sent(responseBytes, placeholder)).toBe(bytes);
    expect(sent(responseBytes, placeholder)).toBe(placeholder);
  });

  it('forgets a placeholder never sent after a minute', () => {
    vi.useFakeTimers({ now: Date.parse('2026-12-03T00:00:00Z') });
    try {
      const responseBytes = new ResponseBytes();
      const early = responseBytes.body(Buffer.from('1'));
      vi.setSystemTime(Date.parse('2026-12-03T00:00:59Z'));
      const late = responseBytes.body(Buffer.from('2'));
      vi.setSystemTime(Date.parse('2026-12-03T00:01:01Z'));
      const last = responseBytes.body(Buffer.from('3'));
      expect(sent(responseBytes, early)).toBe(early);
      expect(String(sent(responseBytes, late))).toBe('2');
      expect(String(sent(responseBytes, last))).toBe('3');
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('ResponseBytes over HTTP', () => {
  let app: http.Server;
  let url: string;
  const responseBytes = new ResponseBytes();
  const pieces = [Buffer.from('{"data":{"a":'), Buffer.from('"é"'), Buffer.from('}}\n')];
  beforeAll(async () => {
    const routes = express();
    routes.set('etag', false); // as core/httpServer.ts sets it
    routes.all('/', responseBytes.middleware, (_req, res) => {
      res.setHeader('content-type', 'application/json; charset=utf-8');
      res.setHeader('etag', 'W/"tag"');
      res.send(responseBytes.body(pieces));
    });
    app = routes.listen(0, '127.0.0.1');
    await new Promise((resolve) => app.once('listening', resolve));
    url = `http://127.0.0.1:${(app.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    app.closeAllConnections();
    await new Promise((resolve) => app.close(resolve));
  });

  it('sends pieces as one body, with its length and the type Apollo set', async () => {
    const res = await fetch(url, { method: 'POST' });
    const body = Buffer.from(await res.arrayBuffer());
    expect(res.status).toBe(200);
    expect(body.equals(Buffer.concat(pieces))).toBe(true);
    expect(res.headers.get('content-length')).toBe(String(Buffer.concat(pieces).length));
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(JSON.parse(body.toString('utf8'))).toEqual({ data: { a: 'é' } });
  });

  it('leaves HEAD and a fresh GET to Express: no body', async () => {
    const head = await fetch(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    // node:http: fetch would add `Cache-Control: no-cache`, for which nothing is fresh
    const fresh = await new Promise<{ status?: number; body: string }>((resolve, reject) =>
      http
        .get(url, { headers: { 'if-none-match': 'W/"tag"' } }, (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode, body }));
        })
        .on('error', reject),
    );
    expect(fresh).toEqual({ status: 304, body: '' });
  });
});

describe('ResponseCache', () => {
  it('keeps a spliced answer as its pieces and sends the same bytes for every hit', async () => {
    mode = { version: 'v1' };
    const { respond, lookups } = newCache();
    const answer = Buffer.from('{"points":[{"start":"2026-12-01","count":3}]}');
    const points = new RawJSON(answer.subarray(10, answer.length - 1), 'start,count');
    const miss = (await respond({ series: { points } })) as Buffer;
    const text = '{"data":{"series":{"points":[{"start":"2026-12-01","count":3}]}}}\n';
    expect(miss.toString('utf8')).toBe(text);
    const hit = (await respond({ series: 'different, never computed' })) as Buffer;
    expect(await lookups('hit')).toBe(1);
    expect(hit.toString('utf8')).toBe(text);
  });

  it("counts the subgraph's whole answer that a kept piece holds against its room", async () => {
    mode = { version: 'v1' };
    const { respond, lookups } = newCache(); // 1 MiB of room
    // 20 bytes sent, out of a 2 MB subgraph answer that they keep alive
    const answer = Buffer.alloc(2_000_000, ' ');
    answer.write('[1,2]', 0);
    const list = new RawJSON(answer.subarray(0, 5), '');
    await respond({ list });
    const again = (await respond({ list })) as Buffer;
    expect(again.toString('utf8')).toBe('{"data":{"list":[1,2]}}\n');
    expect(await lookups('hit')).toBe(0); // too big to keep
    expect(await lookups('miss')).toBe(2);
  });

  it('sends a stored answer as its bytes: the same bytes for every hit', async () => {
    mode = { version: 'v1' };
    const { respond, lookups } = newCache();
    // An answer being kept is serialised once: its stored bytes go out.
    const miss = await respond({ answer: 'é 1' });
    expect(Buffer.isBuffer(miss)).toBe(true);
    expect(JSON.parse((miss as Buffer).toString('utf8'))).toEqual({ data: { answer: 'é 1' } });
    const hit = await respond({ answer: 'different, never computed' });
    expect(await lookups('hit')).toBe(1);
    expect(hit).toBe(miss);
    // Answers not kept (here: the version route fails) go out as text.
    mode = { status: 503 };
    expect(await respond({ answer: 2 })).toBe('{"data":{"answer":2}}\n');
  });

  it('asks for the version once per query as the request starts; not for a mutation', async () => {
    mode = { version: 'v1' };
    const { cache } = newCache();
    const plugin = cache.plugin<{ identity: typeof identity }>();
    const before = requests;
    const query = { contextValue: { identity }, request: { query: '{ answer }' } };
    const hooks = await plugin.requestDidStart!(query as never);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(requests - before).toBe(1); // asked before any operation was resolved
    await hooks!.responseForOperation!({
      ...query,
      operation: { operation: 'query' },
      source: '{ answer }',
      operationName: null,
      metrics: {},
    } as never);
    expect(requests - before).toBe(1); // and used that answer
    const mutation = { contextValue: { identity }, request: { query: ' mutation { x }' } };
    const mutationHooks = await plugin.requestDidStart!(mutation as never);
    await mutationHooks!.responseForOperation!({
      ...mutation,
      operation: { operation: 'mutation' },
    } as never);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(requests - before).toBe(1);
  });

  it("uses the version the gateway's context function asked for, asking none itself", async () => {
    mode = { version: 'v1' };
    const { cache } = newCache();
    const plugin = cache.plugin<{ identity: typeof identity }>();
    const before = requests;
    expect(cache.ask(identity, ' mutation { x }')).toBeUndefined();
    const asked = cache.ask(identity, '{ answer }');
    const query = {
      contextValue: { identity, dataVersion: asked },
      request: { query: '{ answer }' },
    };
    const hooks = await plugin.requestDidStart!(query as never);
    const operation = { operation: { operation: 'query' }, source: '{ answer }', metrics: {} };
    await hooks!.responseForOperation!({ ...query, ...operation, operationName: null } as never);
    await new Promise((resolve) => setTimeout(resolve, 50)); // time for a second ask to arrive
    expect(requests - before).toBe(1);
    // null: the context function saw a mutation and asked nothing; neither does the plugin
    const mutation = { contextValue: { identity, dataVersion: null }, request: { query: '{ a }' } };
    await plugin.requestDidStart!(mutation as never);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(requests - before).toBe(1);
  });

  it('a new data version misses', async () => {
    mode = { version: 'v1' };
    const { ask, lookups } = newCache();
    await ask({ answer: 1 });
    mode = { version: 'v2' };
    expect(JSON.parse(await ask({ answer: 2 }))).toEqual({ data: { answer: 2 } });
    expect(await lookups('miss')).toBe(2);
  });

  it("runs a query with nothing under the last barrier's version at once, keeping it there", async () => {
    mode = { version: 'v1' };
    const { ask, lookups } = newCache(500);
    await ask({ answer: 1 }); // the tenant's first query waits: no barrier is back yet
    mode = 'hang';
    // Nothing is kept for this query: it runs without waiting for its barrier, and its
    // answer is kept under v1 (waiting, it would have timed out and kept nothing).
    expect(JSON.parse(await ask({ other: 2 }, '{ other }'))).toEqual({ data: { other: 2 } });
    expect([await lookups('miss'), await lookups('bypass')]).toEqual([2, 0]);
    mode = { version: 'v1' };
    expect(JSON.parse(await ask({ other: 3 }, '{ other }'))).toEqual({ data: { other: 2 } });
    expect(await lookups('hit')).toBe(1);
  });

  it('serves nothing kept without its own barrier: a query that would hit waits', async () => {
    mode = { version: 'v1' };
    const { ask, lookups } = newCache(200);
    await ask({ answer: 1 });
    mode = 'hang'; // this request's barrier never comes back
    expect(JSON.parse(await ask({ answer: 2 }))).toEqual({ data: { answer: 2 } });
    expect([await lookups('hit'), await lookups('bypass')]).toEqual([0, 1]);
  });

  it('asks once more when a kept-alive connection was closed under it', async () => {
    mode = { version: 'v1' };
    const { ask, lookups } = newCache();
    await ask({ answer: 1 }); // opens the connection that the next ask reuses
    mode = 'reset once';
    const before = requests;
    expect(JSON.parse(await ask({ answer: 2 }))).toEqual({ data: { answer: 1 } });
    expect(requests - before).toBe(2);
    expect([await lookups('hit'), await lookups('bypass')]).toEqual([1, 0]);
  });

  it('answers uncached when the version route fails or does not answer in time', async () => {
    mode = { status: 500 };
    const failing = newCache();
    expect(JSON.parse(await failing.ask({ answer: 1 }))).toEqual({ data: { answer: 1 } });
    expect(await failing.lookups('bypass')).toBe(1);

    mode = 'hang';
    const slow = newCache(200);
    expect(JSON.parse(await slow.ask({ answer: 2 }))).toEqual({ data: { answer: 2 } });
    expect(await slow.lookups('bypass')).toBe(1);
    mode = { version: 'v1' }; // and nothing was kept meanwhile
    expect(JSON.parse(await slow.ask({ answer: 3 }))).toEqual({ data: { answer: 3 } });
    expect(await slow.lookups('miss')).toBe(1);
  });
});
