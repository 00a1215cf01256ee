// How the gateway POSTs a query plan's fetches to the subgraphs: node:http over
// kept-alive sockets, the answer read whole into one buffer, for Apollo's
// RemoteGraphQLDataSource (which asks for `json()` or `text()` and the headers).
//
// Through `fetch` (undici), a 9,000-point answer (0.9 MB) went through web streams
// chunk by chunk, was copied into one buffer, decoded by a TextDecoder and then
// parsed: in `BENCH_CPU_PROF` profiles of `npm run bench:query` that was the gateway's
// largest cost left once result shaping was lean (~18 ms of CPU per dashboard). Here
// the socket's chunks are joined once and decoded once.
//
// Given `planFor` (rawSubtrees.ts), `json()` keeps the plain subtrees of the answer
// that the query's plan names as their JSON bytes instead of parsing them (scanning
// the bytes: see rawSubtrees.ts for why not the decoded string).
//
// The deadline covers the whole answer, body included; past it the request is
// destroyed and the promise rejects with a `TimeoutError`.
//
// Kept-alive sockets: a subgraph (node:http) closes a socket idle for 5 s. A request
// sent on it just then meets a reset, which the caller would see as the subgraph
// being unavailable (the bench met it after ~5 s of cache hits). So idle sockets are
// dropped here first, after IDLE_SOCKET_MS; and a query that meets a reset on a reused
// socket anyway (another server's shorter limit) is sent once more on a new one, as
// Node's docs advise. A mutation is not: it may have arrived.
import http from 'node:http';
import https from 'node:https';
import type { FetcherRequestInit, FetcherResponse } from '@apollo/utils.fetcher';
import { parseWithRawFields, type RawFieldPlan } from './rawSubtrees.ts';

/** A whole answer, already read: what RemoteGraphQLDataSource needs of a Response. */
class SubgraphResponse implements FetcherResponse {
  readonly bodyUsed = false;
  readonly redirected = false;
  readonly ok: boolean;

  constructor(
    readonly url: string,
    readonly status: number,
    readonly statusText: string,
    readonly headers: Headers,
    private readonly body: Buffer,
    /** Which fields of the answer to keep unparsed (rawSubtrees.ts); null: parse it all. */
    private readonly plan: RawFieldPlan | null = null,
  ) {
    this.ok = status >= 200 && status < 300;
  }

  /** The body's length in bytes (what keeping the answer costs: subgraphCache.ts). */
  get byteLength(): number {
    return this.body.length;
  }

  async text(): Promise<string> {
    return this.body.toString('utf8');
  }

  async json(): Promise<unknown> {
    const { body, plan } = this;
    return plan ? parseWithRawFields(body, plan) : JSON.parse(body.toString('utf8'));
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = this.body;
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }

  clone(): SubgraphResponse {
    return new SubgraphResponse(
      this.url,
      this.status,
      this.statusText,
      this.headers,
      this.body,
      this.plan,
    );
  }
}

/** The query text of the GraphQL request in `body` (`{"query": …, …}`), if any. */
function queryOf(body: FetcherRequestInit['body']): string | null {
  if (typeof body !== 'string') return null;
  try {
    const { query } = JSON.parse(body) as { query?: unknown };
    return typeof query === 'string' ? query : null;
  } catch {
    return null;
  }
}

const named = (name: string, message: string): Error => Object.assign(new Error(message), { name });

/** How long a kept-alive socket may idle: under node:http's 5 s keepAliveTimeout. */
export const IDLE_SOCKET_MS = 4000;

/** Whether a request may be sent twice: a GraphQL query, no mutation. */
const mayResend = (query: string | null): boolean => query !== null && !/\bmutation\b/.test(query);

/**
 * A RemoteGraphQLDataSource fetcher: POSTs with `init`'s method, headers and body, and
 * answers once the whole body has arrived, or rejects (`TimeoutError` past
 * `timeoutMs`; the socket's own error otherwise). `planFor` names, per query text,
 * the answer's fields to keep unparsed.
 */
export function subgraphFetcher(
  timeoutMs: number,
  planFor?: (query: string) => RawFieldPlan | null,
  idleSocketMs = IDLE_SOCKET_MS,
): (url: string, init?: FetcherRequestInit) => Promise<FetcherResponse> {
  // `timeout`: a free socket idle that long is destroyed (one in use only gets a
  // 'timeout' event, which nothing here listens to: the deadline below is the limit).
  const agents = {
    'http:': new http.Agent({ keepAlive: true, timeout: idleSocketMs }),
    'https:': new https.Agent({ keepAlive: true, timeout: idleSocketMs }),
  };
  return (url, init = {}) =>
    new Promise((resolve, reject) => {
      const target = new URL(url);
      const client = target.protocol === 'https:' ? https : http;
      const agent = agents[target.protocol as keyof typeof agents];
      const query = queryOf(init.body);
      const plan = planFor && query !== null ? planFor(query) : null;
      /** Set when the deadline passes (built then: an Error captures a stack). */
      let deadline: Error | undefined;
      /** The request in flight: the first, or the one sent again in its place. */
      let req: http.ClientRequest;
      let resent = false;
      // called from the requests' events only, so never before `timer` below is set
      const fail = (attempt: http.ClientRequest, err: NodeJS.ErrnoException) => {
        if (attempt !== req) return; // one given up for the request sent again
        const resend =
          !deadline && req.reusedSocket && err.code === 'ECONNRESET' && !resent && mayResend(query);
        if (resend) {
          resent = true;
          req = send();
          return;
        }
        clearTimeout(timer);
        reject(deadline ?? err);
      };
      const send = (): http.ClientRequest => {
        const attempt = client.request(
          target,
          { method: init.method ?? 'POST', headers: init.headers, agent },
          (res) => onAnswer(attempt, res),
        );
        attempt.on('error', (err) => fail(attempt, err));
        attempt.end(init.body);
        return attempt;
      };
      const onAnswer = (attempt: http.ClientRequest, res: http.IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (err) => fail(attempt, err));
        // a socket that ends before the body does rejects (once settled, no effect)
        res.on('close', () => {
          if (!res.complete) fail(attempt, new Error('the answer was cut off'));
        });
        res.on('end', () => {
          if (attempt !== req) return;
          clearTimeout(timer);
          try {
            const headers = new Headers();
            const raw = res.rawHeaders;
            for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
            resolve(
              new SubgraphResponse(
                url,
                res.statusCode ?? 0,
                res.statusMessage ?? '',
                headers,
                Buffer.concat(chunks),
                plan,
              ),
            );
          } catch (err) {
            // a header Headers refuses: not in an event handler's throw
            fail(attempt, err as Error);
          }
        });
      };
      req = send();
      const timer = setTimeout(() => {
        deadline = named('TimeoutError', `no answer within ${timeoutMs} ms`);
        req.destroy(deadline);
      }, timeoutMs);
    });
}
