// The OLTP subgraph: tenants, entities, attributes, recent raw observations and the
// write path (GraphQL mutations and the NDJSON bulk endpoint).
import type { Config } from '../../core/config.ts';
import type { RunningServer } from '../../core/httpServer.ts';
import type { Logger } from '../../core/logger.ts';
import type { Databases } from '../../hot/database.ts';
import { startSubgraphServer } from '../common/subgraphServer.ts';
import express from 'express';
import { auditHandler } from './auditRoute.ts';
import { bulkIngestHandler } from './bulkIngestRoute.ts';
import { createOltpContext } from './context.ts';
import type { IngestLimits } from './domain/ingest/ingestService.ts';
import { buildOltpSchema } from './schema.ts';

export async function startOltpSubgraph(
  config: Config,
  dbs: Databases,
  log: Logger,
  port = config.OLTP_PORT,
): Promise<RunningServer> {
  const schema = await buildOltpSchema();
  const limits: IngestLimits = {
    maxFutureSeconds: config.INGEST_MAX_FUTURE_SECONDS,
    minTimestampMs: Date.parse(config.INGEST_MIN_TIMESTAMP),
  };
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
    createContext: (identity, requestLog) =>
      createOltpContext(dbs.app, identity, requestLog, limits),
    cacheMaxAgeSeconds: config.RESPONSE_CACHE_TTL_SECONDS,
    compileAfter: config.COMPILE_QUERIES_AFTER,
    mount: (app) => {
      app.post('/v1/ingest', bulkIngestHandler(dbs.app, config.CONTEXT_SECRET, limits, log));
      app.post(
        '/internal/audit',
        express.text({ type: 'application/json', limit: '20mb' }),
        auditHandler(dbs.app, config.CONTEXT_SECRET, log),
      );
    },
  });
}
