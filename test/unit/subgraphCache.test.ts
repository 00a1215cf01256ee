// The kept-answer protocol of gateway/subgraphCache.ts with barriers under the test's
// control: when a fetch may skip waiting for its barrier, when it must wait, and what
// it may keep. (test/e2e/subgraphCache.test.ts runs it against the real stack.)
import type { FetcherResponse } from '@apollo/utils.fetcher';
import { describe, expect, it } from 'vitest';
import type { RequestIdentity } from '../../core/signedContext.ts';
import {
  grantedMaxAge,
  SubgraphAnswerCache,
  type KeepableResponse,
} from '../../gateway/subgraphCache.ts';

class Answer implements KeepableResponse {
  readonly ok = true;
  readonly bodyUsed = false;
  readonly redirected = false;
  readonly statusText = 'OK';
  readonly url = 'http://subgraph/graphql';
  readonly headers: Headers;
  constructor(
    readonly body: string,
    cacheControl = 'private, max-age=300',
    readonly status = 200,
  ) {
    this.headers = new Headers({ 'cache-control': cacheControl });
  }
  get byteLength() {
    return Buffer.byteLength(this.body);
  }
  async text() {
    return this.body;
  }
  async json() {
    return JSON.parse(this.body) as unknown;
  }
  async arrayBuffer(): Promise<ArrayBuffer> {
    throw new Error('not read so');
  }
  clone() {
    return new Answer(this.body, this.headers.get('cache-control')!, this.status);
  }
}

const viewer = (tenantId: string, roles = ['viewer']): RequestIdentity =>
  ({ tenantId, subject: 's', roles, requestId: 'r' }) as RequestIdentity;

/** A cache whose settled versions the test sets; sends are counted. */
function setup() {
  const settled = new Map<string, string>();
  const cache = new SubgraphAnswerCache({
    maxBytes: 1 << 20,
    settled: (tenantId) => settled.get(tenantId),
  });
  let sent = 0;
  const send =
    (body = `{"data":{"n":${sent}}}`, cacheControl?: string) =>
    async (): Promise<FetcherResponse> => {
      sent += 1;
      return new Answer(body, cacheControl);
    };
  const text = async (res: Promise<FetcherResponse>) => (await res).text();
  return { settled, cache, send, text, sends: () => sent };
}

const never = new Promise<string | null>(() => undefined);

describe('SubgraphAnswerCache', () => {
  it('sends at once, without waiting for the barrier, when nothing is kept under the settled version', async () => {
    const { settled, cache, send, text, sends } = setup();
    settled.set('t', 'v1');
    const scope = { identity: viewer('t'), dataVersion: never };
    expect(await text(cache.fetch(scope, 'oltp', 'q', send('{"a":1}')))).toBe('{"a":1}');
    expect(sends()).toBe(1);
    // kept under v1: the next fetch waits for its barrier, which says v1, and is answered
    const next = { identity: viewer('t'), dataVersion: Promise.resolve('v1') };
    expect(await text(cache.fetch(next, 'oltp', 'q', send('{"a":2}')))).toBe('{"a":1}');
    expect(sends()).toBe(1);
  });

  it('sends when the barrier says the version moved, and keeps the answer under the new one', async () => {
    const { settled, cache, send, text, sends } = setup();
    settled.set('t', 'v1');
    await cache.fetch({ identity: viewer('t'), dataVersion: never }, 'oltp', 'q', send('old'));
    const moved = { identity: viewer('t'), dataVersion: Promise.resolve('v2') };
    expect(await text(cache.fetch(moved, 'oltp', 'q', send('new')))).toBe('new');
    settled.set('t', 'v2');
    const again = { identity: viewer('t'), dataVersion: Promise.resolve('v2') };
    expect(await text(cache.fetch(again, 'oltp', 'q', send('newer')))).toBe('new');
    expect(sends()).toBe(2);
  });

  it('waits for the barrier on a tenant’s first fetch, and keeps nothing without a version', async () => {
    const { cache, send, text, sends } = setup();
    const none = { identity: viewer('t'), dataVersion: Promise.resolve(null) };
    await cache.fetch(none, 'oltp', 'q', send('a'));
    await cache.fetch(none, 'oltp', 'q', send('b'));
    const mutation = { identity: viewer('t'), dataVersion: null };
    await cache.fetch(mutation, 'oltp', 'q', send('c'));
    expect(sends()).toBe(3);
    const first = { identity: viewer('t'), dataVersion: Promise.resolve('v1') };
    expect(await text(cache.fetch(first, 'oltp', 'q', send('d')))).toBe('d');
    expect(await text(cache.fetch(first, 'oltp', 'q', send('e')))).toBe('d');
  });

  it('keeps tenants, roles, subgraphs and bodies apart', async () => {
    const { settled, cache, send, text } = setup();
    for (const t of ['t', 'u']) settled.set(t, 'v1');
    const at = (identity: RequestIdentity) => ({ identity, dataVersion: Promise.resolve('v1') });
    await cache.fetch(at(viewer('t')), 'oltp', 'q', send('t-oltp-q'));
    await cache.fetch(at(viewer('t')), 'oltp', 'q', send('x')); // kept
    expect(await text(cache.fetch(at(viewer('u')), 'oltp', 'q', send('u')))).toBe('u');
    expect(await text(cache.fetch(at(viewer('t', ['admin'])), 'oltp', 'q', send('adm')))).toBe(
      'adm',
    );
    expect(await text(cache.fetch(at(viewer('t')), 'olap', 'q', send('olap')))).toBe('olap');
    expect(await text(cache.fetch(at(viewer('t')), 'oltp', 'q2', send('q2')))).toBe('q2');
    expect(await text(cache.fetch(at(viewer('t')), 'oltp', 'q', send('y')))).toBe('t-oltp-q');
  });

  it('keeps only what the subgraph granted a max-age', async () => {
    const { settled, cache, send, text, sends } = setup();
    settled.set('t', 'v1');
    const scope = { identity: viewer('t'), dataVersion: Promise.resolve('v1') };
    await cache.fetch(scope, 'oltp', 'q', send('a', 'no-store'));
    expect(await text(cache.fetch(scope, 'oltp', 'q', send('b', 'private, max-age=0')))).toBe('b');
    expect(await text(cache.fetch(scope, 'oltp', 'q', send('c')))).toBe('c');
    expect(await text(cache.fetch(scope, 'oltp', 'q', send('d')))).toBe('c');
    expect(sends()).toBe(3);
  });
});

describe('grantedMaxAge', () => {
  it('reads max-age from a 200 answer unless it says no-store', () => {
    expect(grantedMaxAge(new Answer('', 'private, max-age=300'))).toBe(300);
    expect(grantedMaxAge(new Answer('', 'max-age=5, private'))).toBe(5);
    expect(grantedMaxAge(new Answer('', 'no-store'))).toBe(0);
    expect(grantedMaxAge(new Answer('', 'max-age=60, no-store'))).toBe(0);
    expect(grantedMaxAge(new Answer('', 's-maxage=60'))).toBe(0);
    expect(grantedMaxAge(new Answer('', 'private, max-age=300', 500))).toBe(0);
  });
});
