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
// Hits are served as the response text stored: with a 9,000-point dashboard, parsing
// and re-serialising the stored answer (what Apollo's response-cache plugin does) would
// cost more than the whole rest of a hit.
import { createHash } from 'node:crypto';
import { HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import type { FormattedExecutionResult } from 'graphql';
import { LRUCache } from 'lru-cache';
import { DATA_VERSION_PATH, type DataVersionAnswer } from '../core/dataVersion.ts';
import type { Logger } from '../core/logger.ts';
import { CONTEXT_HEADER, signContext, type RequestIdentity } from '../core/signedContext.ts';
import type { GatewayMetrics } from './metrics.ts';

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

interface CacheableContext {
  identity?: RequestIdentity;
}

export class ResponseCache {
  /** Key → the whole response text (`{"data":…}`), ready to send. */
  private readonly entries: LRUCache<string, string>;
  /** Answers served from the cache: the data object handed to Apollo → its response text. */
  private readonly served = new WeakMap<object, string>();
  /** Answers to keep: the data object → the key to keep its JSON text under. */
  private readonly pending = new WeakMap<object, { key: string; ttlMs: number }>();
  private readonly versionUrl: string;

  constructor(private readonly options: ResponseCacheOptions) {
    this.entries = new LRUCache({
      maxSize: options.maxBytes,
      sizeCalculation: (json, key) => 2 * (json.length + key.length),
    });
    this.versionUrl = new URL(DATA_VERSION_PATH, options.olapUrl).toString();
  }

  /** The tenant's data version, or null when none can be had (then nothing is cached). */
  private async version(identity: RequestIdentity): Promise<string | null> {
    const { contextSecret, contextTtlSeconds, versionTimeoutMs = 1000 } = this.options;
    try {
      const res = await fetch(this.versionUrl, {
        headers: { [CONTEXT_HEADER]: signContext(identity, contextSecret, contextTtlSeconds) },
        signal: AbortSignal.timeout(versionTimeoutMs),
      });
      if (!res.ok) return null;
      return ((await res.json()) as DataVersionAnswer).version;
    } catch (err) {
      this.options.log.debug({ err }, 'response cache: no data version; answering uncached');
      return null;
    }
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
            const json = this.entries.get(key);
            if (json === undefined) {
              metrics.responseCache.inc({ result: 'miss' });
              return null;
            }
            metrics.responseCache.inc({ result: 'hit' });
            hit = true;
            request.metrics.responseCacheHit = true;
            const data = {};
            this.served.set(data, json);
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
      if (errors === undefined && extensions === undefined) return served;
      return `${JSON.stringify({ errors, data: JSON.parse(served).data, extensions })}\n`;
    }
    const keep = data ? this.pending.get(data) : undefined;
    if (!keep || errors !== undefined || extensions !== undefined)
      return `${JSON.stringify(result)}\n`;
    const text = `{"data":${JSON.stringify(data)}}\n`; // = JSON.stringify(result) + '\n'
    this.entries.set(keep.key, text, { ttl: keep.ttlMs });
    return text;
  };
}
