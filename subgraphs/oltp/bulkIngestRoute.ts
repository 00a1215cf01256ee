// POST /v1/ingest on the OLTP subgraph: NDJSON observations streamed into PostgreSQL.
// Reached through the gateway, which authenticates the caller and signs the context.
import type { Request, Response } from 'express';
import type pg from 'pg';
import { errorBody, TidemarkError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { CONTEXT_HEADER, requireRole, verifyContext } from '../../core/signedContext.ts';
import { ingestObservations, type IngestLimits } from './domain/ingest/ingestService.ts';
import { IncompleteBodyError, ndjsonRows } from './domain/ingest/ndjson.ts';

export function bulkIngestHandler(
  pool: pg.Pool,
  contextSecret: string,
  limits: IngestLimits,
  log: Logger,
) {
  return async (req: Request, res: Response): Promise<void> => {
    let requestId: string | undefined;
    try {
      const identity = verifyContext(req.header(CONTEXT_HEADER), contextSecret);
      requestId = identity.requestId;
      requireRole(identity, 'ingest');
      const idempotencyKey = req.header('idempotency-key') ?? null;
      if (idempotencyKey !== null && (idempotencyKey.length === 0 || idempotencyKey.length > 200)) {
        res
          .status(400)
          .json(
            errorBody('BAD_USER_INPUT', 'Idempotency-Key must have 1 to 200 characters', requestId),
          );
        return;
      }
      const summary = await ingestObservations(pool, identity.tenantId, ndjsonRows(req), {
        idempotencyKey,
        atomic: req.query.atomic === 'true',
        limits,
      });
      res.json(summary);
    } catch (err) {
      if (err instanceof TidemarkError) {
        res.status(err.httpStatus).json(errorBody(err.code, err.message, requestId));
      } else if (err instanceof IncompleteBodyError) {
        log.warn({ requestId }, 'bulk ingest body ended early; nothing stored');
        if (!res.headersSent && !res.destroyed)
          res.status(400).json(errorBody('BAD_USER_INPUT', err.message, requestId));
      } else {
        log.error({ err, requestId }, 'bulk ingest failed');
        if (!res.headersSent)
          res
            .status(500)
            .json(
              errorBody(
                'INTERNAL_SERVER_ERROR',
                'Internal error; quote the request id when reporting it.',
                requestId,
              ),
            );
      }
    }
  };
}
