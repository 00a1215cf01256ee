// POST /v1/ingest: authenticated like GraphQL (role ingest), the NDJSON body
// (optionally gzip) is streamed through to the OLTP subgraph and never buffered whole.
// A body over the limit gets 413; the subgraph's transaction is aborted with it, so
// nothing of that request is stored.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { Request, Response } from 'express';
import { errorBody, TidemarkError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { CONTEXT_HEADER, hasRole, signContext } from '../core/signedContext.ts';
import { verifyBearer, type JwtSettings } from './auth/jwt.ts';
import { IDLE_SOCKET_MS } from './subgraphFetch.ts';

export interface BulkIngestOptions {
  /** Consumes from the tenant's ingest budget; throws a 429 GraphQL error when spent. */
  rateLimit: (tenantId: string, requestId: string, res: Response) => Promise<void>;
  jwt: JwtSettings;
  oltpIngestUrl: string;
  contextSecret: string;
  /** Bulk uploads outlive the usual few seconds; the signature only has to survive the start. */
  contextTtlSeconds: number;
  maxBytes: number;
  log: Logger;
  /** How long a kept-alive socket to the subgraph may idle (below its 5 s keepAliveTimeout). */
  idleSocketMs?: number;
}

class BodyTooLargeError extends Error {}

/** Counts bytes and fails the stream once they pass the limit. */
function byteLimit(maxBytes: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      seen += chunk.length;
      if (seen > maxBytes) done(new BodyTooLargeError(`the body exceeds ${maxBytes} bytes`));
      else done(null, chunk);
    },
  });
}

export function bulkIngestHandler(options: BulkIngestOptions) {
  // Node's global agent keeps a socket as long as the subgraph does (5 s), so an upload
  // could be sent on a socket just as the subgraph closes it, and fail: a streamed body
  // cannot be sent again. Idle sockets are dropped here first (as in subgraphFetch.ts).
  const agent = new http.Agent({
    keepAlive: true,
    timeout: options.idleSocketMs ?? IDLE_SOCKET_MS,
  });
  return async (req: Request, res: Response): Promise<void> => {
    const requestId = req.header('x-request-id') ?? randomUUID();
    const fail = (status: number, code: string, message: string): void => {
      if (!res.headersSent) res.status(status).json(errorBody(code, message, requestId));
    };
    let token;
    try {
      token = await verifyBearer(options.jwt, req.header('authorization'));
    } catch (err) {
      fail(401, 'UNAUTHENTICATED', err instanceof TidemarkError ? err.message : 'unauthenticated');
      return;
    }
    const identity = { ...token, requestId };
    if (!hasRole(identity, 'ingest')) {
      fail(403, 'FORBIDDEN', 'bulk ingest needs the ingest role');
      return;
    }
    try {
      await options.rateLimit(identity.tenantId, requestId, res);
    } catch (err) {
      fail(429, 'RATE_LIMITED', err instanceof Error ? err.message : 'rate limit reached');
      req.resume();
      return;
    }
    const declared = Number(req.header('content-length') ?? NaN);
    if (declared > options.maxBytes) {
      fail(
        413,
        'PAYLOAD_TOO_LARGE',
        `the body exceeds ${options.maxBytes} bytes; split it into several uploads`,
      );
      req.resume();
      return;
    }
    const encoding = (req.header('content-encoding') ?? 'identity').toLowerCase();
    if (encoding !== 'identity' && encoding !== 'gzip') {
      fail(415, 'BAD_USER_INPUT', 'Content-Encoding must be gzip or absent');
      return;
    }

    // Node streams end to end (no web-stream conversion): the hot path of bulk ingest.
    const url = new URL(options.oltpIngestUrl);
    if (req.query.atomic === 'true') url.searchParams.set('atomic', 'true');
    const upstream = http.request(url, {
      agent,
      method: 'POST',
      headers: {
        'content-type': 'application/x-ndjson',
        [CONTEXT_HEADER]: signContext(identity, options.contextSecret, options.contextTtlSeconds),
        ...(req.header('idempotency-key')
          ? { 'idempotency-key': req.header('idempotency-key')! }
          : {}),
      },
    });
    const response = new Promise<http.IncomingMessage>((resolve, reject) => {
      upstream.once('response', resolve);
      upstream.once('error', reject);
    });
    const stages =
      encoding === 'gzip'
        ? [createGunzip(), byteLimit(options.maxBytes)]
        : [byteLimit(options.maxBytes)];
    // Only failures of the incoming side (client, gunzip, limit) count as the body's;
    // a failing subgraph surfaces through the upstream request instead.
    // pipeline() destroys every stage with the first error, so the first one decides.
    let first: { side: 'body' | 'upstream'; err: Error } | null = null;
    for (const stage of [req, ...stages]) {
      stage.once('error', (err: Error) => {
        first ??= { side: 'body', err };
      });
    }
    upstream.once('error', (err: Error) => {
      first ??= { side: 'upstream', err };
    });
    const piped = pipeline([req, ...stages, upstream]).catch((err: Error) => {
      upstream.destroy(err); // the subgraph sees a broken body and rolls back
    });
    try {
      const answer = await response;
      const chunks: Buffer[] = [];
      for await (const chunk of answer) chunks.push(chunk as Buffer);
      res
        .status(answer.statusCode ?? 502)
        .type('application/json')
        .send(Buffer.concat(chunks));
    } catch (err) {
      // Whether the body or the subgraph failed first decides the answer; the body
      // pipeline settles right after a broken upstream.
      await Promise.race([piped, new Promise((r) => setTimeout(r, 1000))]);
      const failure = first as { side: 'body' | 'upstream'; err: Error } | null;
      const cause = failure?.side === 'body' ? failure.err : null;
      if (cause instanceof BodyTooLargeError) {
        fail(413, 'PAYLOAD_TOO_LARGE', `${cause.message}; nothing of this upload was stored`);
      } else if (cause) {
        fail(
          400,
          'BAD_USER_INPUT',
          'the request body could not be read (is it valid gzip?); nothing was stored',
        );
      } else {
        options.log.error({ err, requestId }, 'bulk ingest upstream failed');
        fail(
          503,
          'TIER_UNAVAILABLE',
          'the ingest service is unavailable; retry with the same Idempotency-Key',
        );
      }
    }
  };
}
