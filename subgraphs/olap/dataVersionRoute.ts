// GET /internal/data-version on the OLAP subgraph: the caller's tenant's data version
// from the change feed (see core/dataVersion.ts). Only the gateway's signed context is
// accepted, so a tenant learns nothing about another tenant's writes.
import type { Request, Response } from 'express';
import type { DataVersionAnswer } from '../../core/dataVersion.ts';
import { errorBody } from '../../core/errors.ts';
import { CONTEXT_HEADER, verifyContext } from '../../core/signedContext.ts';
import type { ChangeFeed } from '../../hot/changeFeed.ts';

export function dataVersionHandler(feed: ChangeFeed, secret: string) {
  return async (req: Request, res: Response): Promise<void> => {
    let tenantId: string;
    try {
      tenantId = verifyContext(req.header(CONTEXT_HEADER), secret).tenantId;
    } catch {
      res
        .status(401)
        .json(errorBody('UNAUTHENTICATED', 'data version asked without a gateway-signed context'));
      return;
    }
    const answer: DataVersionAnswer = { version: await feed.version(tenantId) };
    res.set('cache-control', 'no-store').json(answer);
  };
}
