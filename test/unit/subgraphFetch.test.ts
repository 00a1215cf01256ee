// The gateway's subgraph fetcher over kept-alive sockets: idle sockets are dropped
// before a subgraph would close them, and a query that meets a reset on a reused
// socket anyway is sent once more (a mutation is not: it may have arrived).
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subgraphFetcher } from '../../gateway/subgraphFetch.ts';

let server: http.Server;
let url: string;
/** Sockets the server accepted, and requests it answered. */
const sockets = new Set<Socket>();
let answered = 0;
/** Close the socket of the next request that arrives on a socket used before. */
let resetNextReuse = false;
const used = new WeakSet<Socket>();

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const socket = req.socket;
    const reused = used.has(socket);
    used.add(socket);
    req.resume();
    req.on('end', () => {
      if (reused && resetNextReuse) {
        resetNextReuse = false;
        socket.resetAndDestroy(); // as a server closing an idle socket the moment it is reused
        return;
      }
      answered += 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ data: { answered } }));
    });
  });
  server.on('connection', (socket: Socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const body = (query: string) => ({ method: 'POST', body: JSON.stringify({ query }) });

describe('subgraphFetcher', () => {
  it('sends a query again, once, when a reused socket is reset', async () => {
    const post = subgraphFetcher(5000);
    expect((await post(url, body('{ a }'))).ok).toBe(true);
    const before = answered;
    resetNextReuse = true;
    const res = await post(url, body('query Q { a }'));
    expect(resetNextReuse).toBe(false); // the first try met the reset
    expect(await res.json()).toEqual({ data: { answered: before + 1 } });
  });

  it('does not send a mutation again: the reset is the answer', async () => {
    const post = subgraphFetcher(5000);
    await post(url, body('{ a }'));
    const before = answered;
    resetNextReuse = true;
    await expect(post(url, body('mutation M { a }'))).rejects.toMatchObject({
      code: 'ECONNRESET',
    });
    expect(answered).toBe(before);
  });

  it('drops a kept-alive socket idle longer than its limit, before the server would', async () => {
    const post = subgraphFetcher(5000, undefined, 100);
    await post(url, body('{ a }'));
    const opened = sockets.size;
    await post(url, body('{ a }')); // at once: the same socket
    expect(sockets.size).toBe(opened);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await post(url, body('{ a }')); // after idling past the limit: a new one
    expect(sockets.size).toBe(opened + 1);
  });
});
