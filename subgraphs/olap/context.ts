// Per-request state of the OLAP subgraph. Series loaders are keyed by their
// arguments, so `_entities` for N entities with the same arguments is one engine
// query per tier, not N.
import DataLoader from 'dataloader';
import type { RequestScoped } from '../../core/errorPlugin.ts';
import type { Logger } from '../../core/logger.ts';
import type { RequestIdentity } from '../../core/signedContext.ts';
import type pg from 'pg';
import type { Partial } from '../../core/aggregates.ts';
import type {
  AnomalyArgs,
  AnomalyResult,
  RangeArgs,
  SeriesArgs,
  SeriesResult,
  Tier,
  TierRouter,
} from './domain/tierRouter.ts';
import { readTierStatus, type TierStatusReport } from './domain/tierStatus.ts';

/** One entity's totals over a range, and the tiers that served them. */
export interface TotalsResult {
  partial: Partial | null;
  tiers: Tier[];
}

/** One entity's counts per value, the attribute's type and the tiers that served them. */
export interface ValueCountsResult {
  counts: Map<string, number>;
  type: string;
  tiers: Tier[];
}

export interface OlapContext extends RequestScoped {
  identity: RequestIdentity;
  router: TierRouter;
  /** Aborts when the caller goes away; engine work of this request stops with it. */
  signal?: AbortSignal;
  seriesLoader(args: SeriesArgs): DataLoader<string, SeriesResult | null>;
  totalsLoader(args: RangeArgs): DataLoader<string, TotalsResult | null>;
  anomaliesLoader(args: AnomalyArgs): DataLoader<string, AnomalyResult | null>;
  valueCountsLoader(args: RangeArgs): DataLoader<string, ValueCountsResult | null>;
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
  const totalsLoaders = new Map<string, DataLoader<string, TotalsResult | null>>();
  const anomalyLoaders = new Map<string, DataLoader<string, AnomalyResult | null>>();
  const valueLoaders = new Map<string, DataLoader<string, ValueCountsResult | null>>();
  return {
    identity,
    router,
    signal,
    requestId: identity.requestId,
    log,
    tierStatus: () => readTierStatus(pool, identity.tenantId),
    seriesLoader(args) {
      const key = JSON.stringify([
        args.attribute,
        args.fromMs,
        args.toMs,
        args.bucket,
        args.percentiles === true,
      ]);
      let loader = loaders.get(key);
      if (!loader) {
        loader = new DataLoader((ids) => router.series(identity.tenantId, ids, args, signal));
        loaders.set(key, loader);
      }
      return loader;
    },
    totalsLoader(args) {
      const key = JSON.stringify([
        args.attribute,
        args.fromMs,
        args.toMs,
        args.percentiles === true,
      ]);
      let loader = totalsLoaders.get(key);
      if (!loader) {
        loader = new DataLoader(async (ids) => {
          const { totals, tiers } = await router.totals(identity.tenantId, { ids }, args, signal);
          return ids.map((id) => {
            const t = totals.get(id);
            return t ? { partial: t.partial, tiers } : null;
          });
        });
        totalsLoaders.set(key, loader);
      }
      return loader;
    },
    anomaliesLoader(args) {
      const key = JSON.stringify(args);
      let loader = anomalyLoaders.get(key);
      if (!loader) {
        loader = new DataLoader((ids) => router.anomalies(identity.tenantId, ids, args, signal));
        anomalyLoaders.set(key, loader);
      }
      return loader;
    },
    valueCountsLoader(args) {
      const key = JSON.stringify(args);
      let loader = valueLoaders.get(key);
      if (!loader) {
        loader = new DataLoader(async (ids) => {
          const { counts, type, tiers } = await router.valueCounts(
            identity.tenantId,
            ids,
            args,
            signal,
          );
          return counts.map((c) => (c ? { counts: c, type, tiers } : null));
        });
        valueLoaders.set(key, loader);
      }
      return loader;
    },
  };
}
