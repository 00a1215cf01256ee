// POST /internal/audit on the OLTP subgraph: batches of audit records signed by the
// gateway. Unsigned or forged batches are refused.
import type { Request, Response } from 'express';
import type pg from 'pg';
import {
  AUDIT_SIGNATURE_HEADER,
  isAuditBatchSigned,
  type AuditRecord,
} from '../../core/auditRecord.ts';
import { errorBody } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { storeAuditBatch } from './domain/auditLog.ts';

export function auditHandler(pool: pg.Pool, secret: string, log: Logger) {
  return async (req: Request, res: Response): Promise<void> => {
    const body = typeof req.body === 'string' ? req.body : '';
    if (!isAuditBatchSigned(body, req.header(AUDIT_SIGNATURE_HEADER), secret)) {
      res.status(401).json(errorBody('UNAUTHENTICATED', 'audit batch not signed by the gateway'));
      return;
    }
    try {
      await storeAuditBatch(pool, JSON.parse(body) as AuditRecord[]);
      res.status(204).end();
    } catch (err) {
      log.error({ err }, 'audit batch not stored');
      res.status(500).json(errorBody('INTERNAL_SERVER_ERROR', 'audit batch not stored'));
    }
  };
}
