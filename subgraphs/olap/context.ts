// Per-request state of the OLAP subgraph. Series loaders are keyed by their
// arguments, so `_entities` for N entities with the same arguments is one engine
// query per tier, not N.
import DataLoader from 'dataloader';
import type { RequestScoped } from '../../core/errorPlugin.ts';
import type { Logger } from '../../core/logger.ts';
import type { RequestIdentity } from '../../core/signedContext.ts';
import type pg from 'pg';
import type { SeriesArgs, SeriesResult, TierRouter } from './domain/tierRouter.ts';
import { readTierStatus, type TierStatusReport } from './domain/tierStatus.ts';

export interface OlapContext extends RequestScoped {
  identity: RequestIdentity;
  seriesLoader(args: SeriesArgs): DataLoader<string, SeriesResult | null>;
  tierStatus(): Promise<TierStatusReport>;
}

export function createOlapContext(
  router: TierRouter,
  pool: pg.Pool,
  identity: RequestIdentity,
  log: Logger,
  signal?: AbortSignal,
): OlapContext {
  const loaders = new Map<string, DataLoader<string, SeriesResult | null>>();
  return {
    identity,
    requestId: identity.requestId,
    log,
    tierStatus: () => readTierStatus(pool, identity.tenantId),
    seriesLoader(args) {
      const key = JSON.stringify([args.attribute, args.fromMs, args.toMs, args.bucket]);
      let loader = loaders.get(key);
      if (!loader) {
        loader = new DataLoader((ids) => router.series(identity.tenantId, ids, args, signal));
        loaders.set(key, loader);
      }
      return loader;
    },
  };
}
