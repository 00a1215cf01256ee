// The OLTP subgraph: tenants, entities, attributes, recent raw observations, and
// (growing) the write path.
import type { Config } from '../../core/config.ts';
import type { RunningServer } from '../../core/httpServer.ts';
import type { Logger } from '../../core/logger.ts';
import type { Databases } from '../../hot/database.ts';
import { startSubgraphServer } from '../common/subgraphServer.ts';
import { createOltpContext } from './context.ts';
import { buildOltpSchema } from './schema.ts';

export async function startOltpSubgraph(
  config: Config,
  dbs: Databases,
  log: Logger,
  port = config.OLTP_PORT,
): Promise<RunningServer> {
  const schema = await buildOltpSchema();
  return startSubgraphServer({
    name: 'oltp',
    schema,
    contextSecret: config.CONTEXT_SECRET,
    log,
    host: config.HOST,
    port,
    readiness: async () => {
      await dbs.app.query('SELECT 1');
    },
    createContext: (identity, requestLog) => createOltpContext(dbs.app, identity, requestLog),
  });
}
