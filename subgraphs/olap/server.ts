// The OLAP subgraph: every aggregate over time, whichever tier holds the rows.
import type { ColdEngine } from '../../cold/engine.ts';
import type { Config } from '../../core/config.ts';
import type { RunningServer } from '../../core/httpServer.ts';
import type { Logger } from '../../core/logger.ts';
import { DATA_VERSION_PATH } from '../../core/dataVersion.ts';
import { ChangeFeed } from '../../hot/changeFeed.ts';
import type { Databases } from '../../hot/database.ts';
import { startSubgraphServer } from '../common/subgraphServer.ts';
import { createOlapContext } from './context.ts';
import { dataVersionHandler } from './dataVersionRoute.ts';
import { TierRouter } from './domain/tierRouter.ts';
import { OlapMetrics } from './metrics.ts';
import { buildOlapSchema } from './schema.ts';

export async function startOlapSubgraph(
  config: Config,
  dbs: Databases,
  engine: ColdEngine,
  log: Logger,
  port = config.OLAP_PORT,
): Promise<RunningServer> {
  const schema = await buildOlapSchema();
  const metrics = new OlapMetrics();
  // The tenants' data versions that the gateway's response cache keys answers by, and
  // the day versions that the router's warm cache keys past days by.
  const feed = new ChangeFeed(dbs.appUrl, log.child({ part: 'changeFeed' }));
  await feed.start();
  const router = new TierRouter(
    dbs.app,
    engine,
    { maxPoints: config.MAX_SERIES_POINTS, engineTimeoutMs: config.ENGINE_TIMEOUT_MS },
    metrics,
    feed,
  );
  return startSubgraphServer({
    name: 'olap',
    schema,
    contextSecret: config.CONTEXT_SECRET,
    log,
    host: config.HOST,
    port,
    metrics: metrics.registry,
    readiness: async () => {
      await dbs.app.query('SELECT 1');
      await engine.ping();
    },
    createContext: (identity, requestLog, signal) =>
      createOlapContext(router, dbs.app, identity, requestLog, signal),
    cacheMaxAgeSeconds: config.RESPONSE_CACHE_TTL_SECONDS,
    compileAfter: config.COMPILE_QUERIES_AFTER,
    mount: (app) => app.get(DATA_VERSION_PATH, dataVersionHandler(feed, config.CONTEXT_SECRET)),
    onClose: () => feed.stop(),
  });
}
