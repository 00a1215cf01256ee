// Whole-answer cache of the gateway: a dashboard repeated with nothing written in
// between is answered without calling any subgraph, planning or shaping the result.
//
// Entries are keyed by tenant, roles, query text, operation name, variables and the
// tenant's data version, which the OLAP subgraph reads from its change feed
// (hot/changeFeed.ts): every committed write that could change an answer moves it, and
// asking for it is a barrier, so a caller never gets an answer from before its own
// write. Time-outs bound memory, not staleness. An answer is kept only when every
// subgraph that contributed said it may be (Cache-Control, see subgraphServer.ts: not
// for clock-dependent fields or the audit log) and it has no errors; nothing is kept
// while no version is available. Hits still pass authentication, rate limits, cost
// limits, metrics and audit: the cache answers at Apollo's responseForOperation.
//
// Answers to GET queries are revalidated the HTTP way: an answer that may be kept
// carries a weak ETag (its cache key: tenant, roles, data version, query, variables,
// hashed) and `Cache-Control: private, no-cache`, so a browser's HTTP cache (Apollo
// Client with GET queries) or a polling dashboard sends If-None-Match next time; when
// the tag still names the current answer, the gateway says 304 and sends nothing, and
// the client keeps its copy. The barrier runs first, as for a hit, and the stored entry
// need not be there: the tag alone says which version the client holds. POST is not
// revalidated (no HTTP cache stores POST answers), so it gets no ETag.
//
// A miss does not wait for the barrier when it need not. Storing an answer under a
// version V is right when every write V counts is in the answer: when V came from a
// barrier that was through before the answer's data was read (data newer than its key
// is fine: the version moves on when that write's notice arrives, so the entry is never
// hit). So the version of the tenant's last barrier that came back, `settled`, is a
// key the answer may be kept under, and when no entry (nor the client's ETag) is under
// that key, the query runs at once and its answer is kept under it. Only a hit (or a
// 304) needs this request's own barrier, which alone proves the caller's writes are in
// the entry; a query that finds an entry under `settled` waits for it, and runs only if
// the version moved. A tenant's first query, with no barrier back yet, waits too.
//
// Hits are served as the response stored: with a 9,000-point dashboard, parsing and
// re-serialising the stored answer (what Apollo's response-cache plugin does) would
// cost more than the whole rest of a hit. An entry is the response's UTF-8 bytes, sent
// as they are (responseBytes.ts), so a hit encodes nothing, and an answer being kept
// is serialised once, for the response and for the cache. A spliced answer is kept as
// its pieces (rawSubtrees.ts), views into the subgraph's answer, which they keep alive:
// an entry's size is what it holds in memory, not what it sends.
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import type { FormattedExecutionResult } from 'graphql';
import { LRUCache } from 'lru-cache';
import { DATA_VERSION_PATH, type DataVersionAnswer } from '../core/dataVersion.ts';
import type { Logger } from '../core/logger.ts';
import { CONTEXT_HEADER, signContext, type RequestIdentity } from '../core/signedContext.ts';
import type { GatewayMetrics } from './metrics.ts';
import { serializeWithRawSubtrees } from './rawSubtrees.ts';
import { joined, type Bytes, type ResponseBytes } from './responseBytes.ts';

export interface ResponseCacheOptions {
  /** The OLAP subgraph's base URL (its data-version route is asked). */
  olapUrl: string;
  contextSecret: string;
  contextTtlSeconds: number;
  maxBytes: number;
  /** The version request's deadline; past it the query runs uncached. */
  versionTimeoutMs?: number;
  metrics: GatewayMetrics;
  /** Sends responses held as bytes (stored ones, among others). */
  responseBytes: ResponseBytes;
  log: Logger;
}

/**
 * The key of what `identity` may see of `parts` under data `version`: its tenant and
 * roles (in any order) are in it, so no entry is shared across either. Hashed, so a
 * key's size does not grow with the query. Also the subgraph answers' (subgraphCache.ts).
 */
export function cacheKey(identity: RequestIdentity, version: string, parts: unknown[]): string {
  return createHash('sha256')
    .update(JSON.stringify([identity.tenantId, [...identity.roles].sort(), version, ...parts]))
    .digest('base64url');
}

/** A document that is plainly a mutation (anything else may be a query). */
const MUTATION = /^\s*mutation\b/;

interface CacheableContext {
  identity?: RequestIdentity;
  /**
   * The data version, asked by the context function as soon as the caller was known
   * (ResponseCache.ask); null when it did not ask (a mutation). Absent: asked here.
   */
  dataVersion?: Promise<string | null> | null;
}

/** The weak ETag for an answer under cache key `key`. */
const etagOf = (key: string): string => `W/"${key}"`;

/**
 * Whether an If-None-Match header names `etag`: a comma-separated list, compared
 * weakly (RFC 9110 §13.1.2; the W/ prefix is ignored). `*` is not honoured: a client
 * cannot hold an answer it has no tag for.
 */
export function namesEtag(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  const opaque = etag.replace(/^W\//, '');
  return ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === opaque);
}

/** Headers that let an HTTP cache keep a GET answer but revalidate it every time. */
function revalidationHeaders(etag: string): HeaderMap {
  const headers = new HeaderMap();
  headers.set('etag', etag);
  headers.set('cache-control', 'private, no-cache');
  headers.set('vary', 'authorization');
  return headers;
}

/** A stored answer: the whole response (`{"data":…}\n`) as UTF-8 bytes. */
interface Entry {
  bytes: Bytes;
}

/**
 * The memory an entry's bytes hold. A piece of a subgraph's answer keeps the whole
 * answer alive: each such buffer counts once, whole. Short pieces sit in slabs of
 * Node's buffer pool, shared with whatever else was made then: they count their length.
 */
function heldBytes({ bytes }: Entry): number {
  if (Buffer.isBuffer(bytes)) return bytes.length;
  let size = 0;
  const seen = new Set<ArrayBufferLike>();
  for (const piece of bytes) {
    const whole = piece.buffer;
    if (whole.byteLength <= Buffer.poolSize) size += piece.length;
    else if (!seen.has(whole)) {
      seen.add(whole);
      size += whole.byteLength;
    }
  }
  return size;
}

export class ResponseCache {
  private readonly entries: LRUCache<string, Entry>;
  /** Answers served from the cache: the data object handed to Apollo → its entry. */
  private readonly served = new WeakMap<object, Entry>();
  /** 304 answers (the client's copy is current): the data object handed to Apollo. */
  private readonly notModified = new WeakSet<object>();
  /** Answers to keep: the data object → the key to keep its JSON text under. */
  private readonly pending = new WeakMap<object, { key: string; ttlMs: number }>();
  /** Per tenant, the version the last barrier that came back gave (see the top). */
  private readonly settled = new LRUCache<string, string>({ max: 10_000 });
  private readonly versionUrl: URL;
  private readonly http: typeof http | typeof https;
  private readonly agent: http.Agent;

  constructor(private readonly options: ResponseCacheOptions) {
    this.entries = new LRUCache({
      maxSize: options.maxBytes,
      sizeCalculation: (entry, key) => heldBytes(entry) + 2 * key.length,
    });
    this.versionUrl = new URL(DATA_VERSION_PATH, options.olapUrl);
    this.http = this.versionUrl.protocol === 'https:' ? https : http;
    this.agent = new this.http.Agent({ keepAlive: true });
  }

  /**
   * The tenant's data version, or null when none can be had (then nothing is cached).
   * Asked with node:http over kept-alive sockets: through `fetch` the request cost the
   * gateway more CPU than the rest of a hit.
   */
  private async version(identity: RequestIdentity): Promise<string | null> {
    const version = await this.askVersion(identity);
    if (version === null) this.settled.delete(identity.tenantId);
    else this.settled.set(identity.tenantId, version);
    return version;
  }

  private askVersion(identity: RequestIdentity, retried = false): Promise<string | null> {
    const { contextSecret, contextTtlSeconds, versionTimeoutMs = 1000, log } = this.options;
    return new Promise((resolve) => {
      const none = (err: unknown) => {
        log.debug({ err }, 'response cache: no data version; answering uncached');
        resolve(null);
      };
      const req = this.http.get(
        this.versionUrl,
        {
          agent: this.agent,
          headers: { [CONTEXT_HEADER]: signContext(identity, contextSecret, contextTtlSeconds) },
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('error', none);
          res.on('end', () => {
            if (res.statusCode !== 200) return none(new Error(`status ${res.statusCode}`));
            try {
              resolve((JSON.parse(body) as DataVersionAnswer).version);
            } catch (err) {
              none(err);
            }
          });
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => {
        // A kept-alive socket that the OLAP subgraph closed as it was reused: ask once
        // more on a new one (as Node's docs advise for `reusedSocket`).
        if (!retried && req.reusedSocket && err.code === 'ECONNRESET')
          resolve(this.askVersion(identity, true));
        else none(err);
      });
      // A timer of our own: AbortSignal.timeout builds a DOMException, stack and all,
      // when its time comes, even long after the answer arrived.
      const timer = setTimeout(() => req.destroy(new Error('timed out')), versionTimeoutMs);
      req.on('close', () => clearTimeout(timer));
    });
  }

  /** The version the tenant's last barrier that came back gave (see the top). */
  settledVersion(tenantId: string): string | undefined {
    return this.settled.get(tenantId);
  }

  /**
   * The barrier for one request: the caller's data version, asked now so that the round
   * trip overlaps what comes before the operation runs (parsing, validation, the other
   * plugins); still after the request arrived, so still a barrier for the caller's own
   * writes. Not asked (undefined) for what is plainly a mutation.
   */
  ask(identity: RequestIdentity, query: string | undefined): Promise<string | null> | undefined {
    return query && MUTATION.test(query) ? undefined : this.version(identity);
  }

  plugin<C extends CacheableContext>(): ApolloServerPlugin<C> {
    const { metrics } = this.options;
    return {
      requestDidStart: async ({ contextValue, request: { query, http } }) => {
        let key: string | null = null;
        let hit = false;
        // Only GET answers are tagged and revalidated (see the top of this file).
        const isGet = http?.method === 'GET';
        // Asked by the gateway's context function, else now (see `ask`).
        const identity = contextValue?.identity;
        const asked =
          contextValue?.dataVersion !== undefined
            ? (contextValue.dataVersion ?? undefined)
            : identity && this.ask(identity, query);
        return {
          responseForOperation: async (request) => {
            const { identity } = request.contextValue;
            if (request.operation?.operation !== 'query' || !identity) return null;
            const keyUnder = (version: string): string =>
              cacheKey(identity, version, [
                request.source,
                request.operationName,
                request.request.variables ?? {},
              ]);
            const ifNoneMatch = isGet ? http?.headers.get('if-none-match') : undefined;
            const held = (key: string): boolean =>
              this.entries.has(key) || namesEtag(ifNoneMatch, etagOf(key));
            // Nothing to find under the last barrier's version: run now, keep under it.
            const settled = this.settled.get(identity.tenantId);
            const settledKey = settled === undefined ? undefined : keyUnder(settled);
            if (settledKey !== undefined && !held(settledKey)) {
              key = settledKey;
              metrics.responseCache.inc({ result: 'miss' });
              return null;
            }
            const version = await (asked ?? this.version(identity));
            if (version === null) {
              metrics.responseCache.inc({ result: 'bypass' });
              return null;
            }
            // (a repeated dashboard: its version is usually the settled one, key and all)
            key = version === settled ? settledKey! : keyUnder(version);
            const etag = isGet ? etagOf(key) : null;
            // The client's copy is current: 304, whether or not the entry is still kept.
            const current = etag !== null && namesEtag(ifNoneMatch, etag);
            const entry = current ? undefined : this.entries.get(key);
            if (!current && entry === undefined) {
              metrics.responseCache.inc({ result: 'miss' });
              return null;
            }
            metrics.responseCache.inc({ result: current ? 'not_modified' : 'hit' });
            hit = true;
            request.metrics.responseCacheHit = true;
            const data = {};
            if (entry === undefined) this.notModified.add(data);
            else this.served.set(data, entry);
            return {
              body: { kind: 'single', singleResult: { data } },
              http: {
                status: current ? 304 : undefined,
                headers: etag === null ? new HeaderMap() : revalidationHeaders(etag),
              },
            };
          },
          willSendResponse: async ({ response, overallCachePolicy }) => {
            if (hit || key === null || response.body.kind !== 'single') return;
            const { data, errors } = response.body.singleResult;
            // Every subgraph called granted a max-age; none said no-store.
            const policy = overallCachePolicy.policyIfCacheable();
            if (errors || !data || !policy) return;
            this.pending.set(data, { key, ttlMs: policy.maxAge * 1000 });
            if (isGet)
              for (const [name, value] of revalidationHeaders(etagOf(key)))
                response.http.headers.set(name, value);
          },
        };
      },
    };
  }

  /**
   * Apollo's `stringifyResult`: the stored bytes for a hit; an answer to keep is
   * serialised once, both for the response and for the cache.
   */
  readonly stringify = (result: FormattedExecutionResult): string => {
    const { responseBytes } = this.options;
    const { data, errors, extensions } = result;
    if (data && this.notModified.has(data)) return ''; // a 304 has no body
    const served = data ? this.served.get(data) : undefined;
    if (served !== undefined) {
      if (errors !== undefined || extensions !== undefined) {
        const stored = JSON.parse(joined(served.bytes).toString('utf8')) as { data: unknown };
        return `${JSON.stringify({ errors, data: stored.data, extensions })}\n`;
      }
      return responseBytes.body(served.bytes);
    }
    const keep = data ? this.pending.get(data) : undefined;
    if (!keep || errors !== undefined || extensions !== undefined)
      return responseBytes.body(serializeWithRawSubtrees(result, '\n'));
    const response = serializeWithRawSubtrees({ data }, '\n'); // = the result's JSON + '\n'
    const entry = { bytes: typeof response === 'string' ? Buffer.from(response) : response };
    this.entries.set(keep.key, entry, { ttl: keep.ttlMs });
    return responseBytes.body(entry.bytes);
  };
}
