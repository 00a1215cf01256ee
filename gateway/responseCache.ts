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
// Hits are served as the response stored: with a 9,000-point dashboard, parsing and
// re-serialising the stored answer (what Apollo's response-cache plugin does) would
// cost more than the whole rest of a hit. Its UTF-8 bytes are kept too and sent in
// place of the text (`sendStoredBytes`), so a hit encodes nothing, and an answer
// being kept is encoded once.
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import type { RequestHandler } from 'express';
import type { FormattedExecutionResult } from 'graphql';
import { LRUCache } from 'lru-cache';
import { DATA_VERSION_PATH, type DataVersionAnswer } from '../core/dataVersion.ts';
import type { Logger } from '../core/logger.ts';
import { CONTEXT_HEADER, signContext, type RequestIdentity } from '../core/signedContext.ts';
import type { GatewayMetrics } from './metrics.ts';
import { stringifyWithRawSubtrees } from './rawSubtrees.ts';

export interface ResponseCacheOptions {
  /** The OLAP subgraph's base URL (its data-version route is asked). */
  olapUrl: string;
  contextSecret: string;
  contextTtlSeconds: number;
  maxBytes: number;
  /** The version request's deadline; past it the query runs uncached. */
  versionTimeoutMs?: number;
  metrics: GatewayMetrics;
  log: Logger;
}

/** Hits stringified but not yet sent (a bound in case a response is never sent). */
const MAX_OUTGOING = 256;

interface CacheableContext {
  identity?: RequestIdentity;
}

/** A stored answer: the whole response text (`{"data":…}`) and its UTF-8 bytes. */
interface Entry {
  text: string;
  bytes: Buffer;
}

export class ResponseCache {
  private readonly entries: LRUCache<string, Entry>;
  /** Answers served from the cache: the data object handed to Apollo → its entry. */
  private readonly served = new WeakMap<object, Entry>();
  /**
   * Hits' texts between `stringify` and the response: text → its bytes and how many
   * responses are about to send it. A Map keyed by a long string stays cheap: V8 hashes
   * strings that long by their length, and the text sent is the very string stored.
   */
  private readonly outgoing = new Map<string, { bytes: Buffer; count: number }>();
  /** Answers to keep: the data object → the key to keep its JSON text under. */
  private readonly pending = new WeakMap<object, { key: string; ttlMs: number }>();
  private readonly versionUrl: URL;
  private readonly http: typeof http | typeof https;
  private readonly agent: http.Agent;

  constructor(private readonly options: ResponseCacheOptions) {
    this.entries = new LRUCache({
      maxSize: options.maxBytes,
      // A one-byte string when all ASCII (as JSON of our answers is), else two per char.
      sizeCalculation: ({ text, bytes }, key) =>
        text.length * (bytes.length === text.length ? 1 : 2) + bytes.length + 2 * key.length,
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
  private version(identity: RequestIdentity, retried = false): Promise<string | null> {
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
          resolve(this.version(identity, true));
        else none(err);
      });
      // A timer of our own: AbortSignal.timeout builds a DOMException, stack and all,
      // when its time comes, even long after the answer arrived.
      const timer = setTimeout(() => req.destroy(new Error('timed out')), versionTimeoutMs);
      req.on('close', () => clearTimeout(timer));
    });
  }

  plugin<C extends CacheableContext>(): ApolloServerPlugin<C> {
    const { metrics } = this.options;
    return {
      requestDidStart: async () => {
        let key: string | null = null;
        let hit = false;
        return {
          responseForOperation: async (request) => {
            const { identity } = request.contextValue;
            if (request.operation?.operation !== 'query' || !identity) return null;
            const version = await this.version(identity);
            if (version === null) {
              metrics.responseCache.inc({ result: 'bypass' });
              return null;
            }
            key = createHash('sha256')
              .update(
                JSON.stringify([
                  identity.tenantId,
                  [...identity.roles].sort(),
                  version,
                  request.source,
                  request.operationName,
                  request.request.variables ?? {},
                ]),
              )
              .digest('base64url');
            const entry = this.entries.get(key);
            if (entry === undefined) {
              metrics.responseCache.inc({ result: 'miss' });
              return null;
            }
            metrics.responseCache.inc({ result: 'hit' });
            hit = true;
            request.metrics.responseCacheHit = true;
            const data = {};
            this.served.set(data, entry);
            return {
              body: { kind: 'single', singleResult: { data } },
              http: { status: undefined, headers: new HeaderMap() },
            };
          },
          willSendResponse: async ({ response, overallCachePolicy }) => {
            if (hit || key === null || response.body.kind !== 'single') return;
            const { data, errors } = response.body.singleResult;
            // Every subgraph called granted a max-age; none said no-store.
            const policy = overallCachePolicy.policyIfCacheable();
            if (errors || !data || !policy) return;
            this.pending.set(data, { key, ttlMs: policy.maxAge * 1000 });
          },
        };
      },
    };
  }

  /**
   * Apollo's `stringifyResult`: the stored text for a hit; an answer to keep is
   * serialised once, both for the response and for the cache.
   */
  readonly stringify = (result: FormattedExecutionResult): string => {
    const { data, errors, extensions } = result;
    const served = data ? this.served.get(data) : undefined;
    if (served !== undefined) {
      if (errors !== undefined || extensions !== undefined)
        return `${JSON.stringify({ errors, data: JSON.parse(served.text).data, extensions })}\n`;
      return this.sendingBytes(served);
    }
    const keep = data ? this.pending.get(data) : undefined;
    if (!keep || errors !== undefined || extensions !== undefined)
      return `${stringifyWithRawSubtrees(result)}\n`;
    const text = `{"data":${stringifyWithRawSubtrees(data)}}\n`; // = the result's JSON + '\n'
    const entry = { text, bytes: Buffer.from(text) };
    this.entries.set(keep.key, entry, { ttl: keep.ttlMs });
    return this.sendingBytes(entry);
  };

  /** The entry's text, noted so that `sendStoredBytes` sends its bytes in its place. */
  private sendingBytes(entry: Entry): string {
    const out = this.outgoing.get(entry.text);
    if (out) out.count += 1;
    else if (this.outgoing.size < MAX_OUTGOING)
      this.outgoing.set(entry.text, { bytes: entry.bytes, count: 1 });
    return entry.text;
  }

  /**
   * Express middleware before Apollo's: a response whose body is a stored answer's text
   * (a hit, or an answer just kept) sends the bytes stored with it instead (the same
   * bytes; Express would encode the text again).
   */
  readonly sendStoredBytes: RequestHandler = (_req, res, next) => {
    const send = res.send;
    res.send = (body?: unknown) => {
      const out = typeof body === 'string' ? this.outgoing.get(body) : undefined;
      if (!out) return send.call(res, body);
      if (--out.count === 0) this.outgoing.delete(body as string);
      return send.call(res, out.bytes);
    };
    next();
  };
}
