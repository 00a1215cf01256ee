// Bulk ingest's kept-alive sockets to the OLTP subgraph: one idle past the limit is
// dropped by the gateway before the subgraph (keepAliveTimeout 5 s) would close it, so an
// upload is never streamed onto a socket being closed (its body could not be resent).
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../../gateway/auth/jwt.ts';
import { bulkIngestHandler } from '../../gateway/bulkIngest.ts';
import { createLogger } from '../../core/logger.ts';

const jwt = { secret: 'bulk-ingest-sockets-secret', issuer: 'tidemark', audience: 'tidemark' };
const IDLE_MS = 100;

let upstream: http.Server;
let gateway: http.Server;
let gatewayUrl: string;
/** Sockets the upstream accepted, and the bodies it received. */
const sockets = new Set<Socket>();
const bodies: string[] = [];

const listen = async (server: http.Server): Promise<string> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      bodies.push(body);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ accepted: body.split('\n').filter(Boolean).length }));
    });
  });
  upstream.on('connection', (socket: Socket) => sockets.add(socket));
  const upstreamUrl = await listen(upstream);
  const app = express();
  app.post(
    '/v1/ingest',
    bulkIngestHandler({
      rateLimit: async () => {},
      jwt,
      oltpIngestUrl: `${upstreamUrl}/v1/ingest`,
      contextSecret: 'context-secret',
      contextTtlSeconds: 60,
      maxBytes: 1 << 20,
      log: createLogger('silent'),
      idleSocketMs: IDLE_MS,
    }),
  );
  gateway = http.createServer(app);
  gatewayUrl = await listen(gateway);
});
afterAll(async () => {
  for (const server of [gateway, upstream]) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function upload(lines: string): Promise<unknown> {
  const token = await issueToken(jwt, { tenantId: 't1', subject: 'loader', roles: ['ingest'] });
  const res = await fetch(`${gatewayUrl}/v1/ingest`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' },
    body: lines,
  });
  expect(res.status).toBe(200);
  return res.json();
}

describe('bulk ingest to the OLTP subgraph', () => {
  it('reuses a busy socket, and drops one idle past its limit', async () => {
    expect(await upload('{"a":1}\n')).toEqual({ accepted: 1 });
    const opened = sockets.size;
    expect(await upload('{"a":2}\n{"a":3}\n')).toEqual({ accepted: 2 }); // at once: same socket
    expect(sockets.size).toBe(opened);
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS * 3));
    expect(await upload('{"a":4}\n')).toEqual({ accepted: 1 }); // after idling: a new one
    expect(sockets.size).toBe(opened + 1);
    expect(bodies.at(-1)).toBe('{"a":4}\n');
  });
});
