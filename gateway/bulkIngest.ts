// POST /v1/ingest: authenticated like GraphQL (role ingest), the NDJSON body
// (optionally gzip) is streamed through to the OLTP subgraph and never buffered whole.
// A body over the limit gets 413; the subgraph's transaction is aborted with it, so
// nothing of that request is stored.
import { randomUUID } from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { Request, Response } from 'express';
import { TidemarkError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { CONTEXT_HEADER, hasRole, signContext } from '../core/signedContext.ts';
import { verifyBearer, type JwtSettings } from './auth/jwt.ts';

export interface BulkIngestOptions {
  jwt: JwtSettings;
  oltpIngestUrl: string;
  contextSecret: string;
  /** Bulk uploads outlive the usual few seconds; the signature only has to survive the start. */
  contextTtlSeconds: number;
  maxBytes: number;
  log: Logger;
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

const errorBody = (code: string, message: string, requestId: string): object => ({
  errors: [{ message, extensions: { code, requestId } }],
});

export function bulkIngestHandler(options: BulkIngestOptions) {
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

    const upstream = new AbortController();
    const limiter = byteLimit(options.maxBytes);
    const stages = encoding === 'gzip' ? [createGunzip(), limiter] : [limiter];
    const body = new Transform({ transform: (chunk, _e, done) => done(null, chunk) });
    const state: { bodyError: Error | null } = { bodyError: null };
    pipeline([req, ...stages, body]).catch((err: Error) => {
      state.bodyError = err;
      upstream.abort(err); // the subgraph sees a broken body and rolls back
    });

    const url = new URL(options.oltpIngestUrl);
    if (req.query.atomic === 'true') url.searchParams.set('atomic', 'true');
    try {
      const response = await fetch(url, {
        method: 'POST',
        body: Readable.toWeb(body) as ReadableStream,
        duplex: 'half',
        signal: upstream.signal,
        headers: {
          'content-type': 'application/x-ndjson',
          [CONTEXT_HEADER]: signContext(identity, options.contextSecret, options.contextTtlSeconds),
          ...(req.header('idempotency-key')
            ? { 'idempotency-key': req.header('idempotency-key')! }
            : {}),
        },
      } as RequestInit);
      const text = await response.text();
      res.status(response.status).type('application/json').send(text);
    } catch (err) {
      if (state.bodyError instanceof BodyTooLargeError) {
        fail(
          413,
          'PAYLOAD_TOO_LARGE',
          `${state.bodyError.message}; nothing of this upload was stored`,
        );
      } else if (state.bodyError) {
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
