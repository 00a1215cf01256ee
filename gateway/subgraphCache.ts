// Subgraph answers kept by the gateway, one level below the response cache: a query
// plan's fetch that repeats (same subgraph, tenant, roles, query and variables) with
// nothing written in between is answered without calling the subgraph.
//
// Dashboards that poll move their range (`to` is now), so their whole answers never
// repeat and the response cache misses; but their first fetch, the entity page from the
// OLTP subgraph, is the same every time. That hop was 2.9 ms at p50 alone and 5–7 ms
// between dashboards (bench/query.ts's warm loop, 2026-12-06), a fifth to a third of
// what the gateway added to a dashboard over asking the OLAP subgraph directly. Kept,
// the gateway's addition at p50 went from 11.2 and 11.9 ms to 6.8 and 6.7 ms (small
// bench runs, alternating without and with it; the note on issue 5 has the rest).
//
// Keys and proofs are the response cache's (responseCache.ts), per fetch: an entry is
// keyed by the tenant's data version as well, and
// - a fetch whose key under the tenant's settled version (the last barrier that came
//   back) holds nothing is sent at once and its answer kept under that key: that
//   barrier was through before the subgraph read anything, so every write the version
//   counts is in the answer;
// - a fetch that finds an entry there waits for its own request's barrier, and is
//   answered from the entry only if the version has not moved: the barrier proves the
//   caller's own writes are in it. Otherwise it is sent, and kept under the new version.
// Waiting for the barrier costs the dashboard 1.1 ms at p50 (3.9 ms at p90). Using
// the entry at once and checking the barrier before answering (running the operation
// again when it moved) was tried: three small bench runs each, alternating, showed no
// difference beyond their spread, so the simpler wait stays.
//
// A request with no barrier (a mutation, or no version to be had) neither reads nor
// keeps anything. An answer is kept only when the subgraph granted it a max-age (status
// 200, `private, max-age=N`; an answer with errors, a mutation's, or one that depends on
// the clock is `no-store`, see subgraphs/common/subgraphServer.ts), for at most N s.
//
// An entry is the subgraph's answer as it arrived, bytes and headers; each use parses
// it anew (the query plan merges later fetches into the objects it gets, so parsed
// answers are never shared between requests).
import type { FetcherResponse } from '@apollo/utils.fetcher';
import { LRUCache } from 'lru-cache';
import type { RequestIdentity } from '../core/signedContext.ts';
import { cacheKey } from './responseCache.ts';

/** What a fetch needs to know of the request it serves. */
export interface FetchScope {
  identity: RequestIdentity;
  /** The request's barrier (ResponseCache.ask); null when it has none: nothing is kept. */
  dataVersion: Promise<string | null> | null;
}

/** An answer as a cache can hold it: re-readable, and its size known. */
export interface KeepableResponse extends FetcherResponse {
  /** The body's length in bytes. */
  readonly byteLength: number;
  clone(): KeepableResponse;
}

export type SubgraphCacheResult = 'hit' | 'miss' | 'bypass';

export interface SubgraphCacheOptions {
  maxBytes: number;
  /** The tenant's settled data version (ResponseCache.settledVersion). */
  settled: (tenantId: string) => string | undefined;
  /** Called once per fetch with what the cache did. */
  counted?: (subgraph: string, result: SubgraphCacheResult) => void;
}

/** The max-age (s) a subgraph granted its answer; 0 when it may not be kept. */
export function grantedMaxAge(response: FetcherResponse): number {
  if (response.status !== 200) return 0;
  const header = response.headers.get('cache-control') ?? '';
  if (/(?:^|,)\s*no-store\b/i.test(header)) return 0;
  const maxAge = /(?:^|,)\s*max-age=(\d+)\s*(?:,|$)/i.exec(header);
  return maxAge ? Number(maxAge[1]) : 0;
}

export class SubgraphAnswerCache {
  private readonly entries: LRUCache<string, KeepableResponse>;

  constructor(private readonly options: SubgraphCacheOptions) {
    this.entries = new LRUCache({
      maxSize: options.maxBytes,
      // one answer may not push out all the others
      maxEntrySize: Math.max(1, Math.floor(options.maxBytes / 4)),
      sizeCalculation: (response, key) => response.byteLength + 2 * key.length,
    });
  }

  /**
   * The answer to `body` from `subgraph` for `scope`'s request: a kept one when the
   * proofs above allow it, else `send()`'s (kept when it may be).
   */
  async fetch(
    scope: FetchScope,
    subgraph: string,
    body: string,
    send: () => Promise<FetcherResponse>,
  ): Promise<FetcherResponse> {
    const { identity, dataVersion } = scope;
    const counted = (result: SubgraphCacheResult) => this.options.counted?.(subgraph, result);
    if (dataVersion === null) {
      counted('bypass');
      return send();
    }
    const keyUnder = (version: string): string => cacheKey(identity, version, [subgraph, body]);
    const settled = this.options.settled(identity.tenantId);
    let key = settled === undefined ? undefined : keyUnder(settled);
    if (key === undefined || this.entries.has(key)) {
      const version = await dataVersion;
      if (version === null) {
        counted('bypass');
        return send();
      }
      if (version !== settled) key = keyUnder(version);
      const kept = this.entries.get(key!);
      if (kept !== undefined) {
        counted('hit');
        return kept.clone();
      }
    }
    counted('miss');
    const response = await send();
    const maxAge = grantedMaxAge(response);
    if (maxAge > 0 && isKeepable(response))
      this.entries.set(key!, response.clone(), { ttl: maxAge * 1000 });
    return response;
  }
}

function isKeepable(response: FetcherResponse): response is KeepableResponse {
  return typeof (response as Partial<KeepableResponse>).byteLength === 'number';
}
