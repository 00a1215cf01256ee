// The whole system over HTTP for e2e tests: OLTP, OLAP and the gateway on port 0,
// on a test database and a temporary lake.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../core/config.ts';
import type { RunningServer } from '../../core/httpServer.ts';
import { createLogger } from '../../core/logger.ts';
import type { Role } from '../../core/signedContext.ts';
import type { ColdEngine } from '../../cold/engine.ts';
import { issueToken } from '../../gateway/auth/jwt.ts';
import { startGateway } from '../../gateway/server.ts';
import { startOlapSubgraph } from '../../subgraphs/olap/server.ts';
import { startOltpSubgraph } from '../../subgraphs/oltp/server.ts';
import type { TierPassDeps } from '../../tiering/tierPass.ts';
import type { TestDatabase } from './testDatabase.ts';
import { openTestEngine } from './coldEngine.ts';

export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  body: {
    data?: T | null;
    errors?: {
      message: string;
      path?: (string | number)[];
      extensions?: Record<string, unknown>;
    }[];
  };
}

export interface Stack {
  config: Config;
  engine: ColdEngine;
  gateway: RunningServer;
  oltp: RunningServer;
  olap: RunningServer;
  tierDeps: TierPassDeps;
  token(tenantId: string, role?: Role): Promise<string>;
  /** Another gateway over this stack's subgraphs, with configuration overrides. */
  extraGateway(
    overrides?: Partial<Config>,
    options?: { olapUrl?: string; auditUrl?: string },
  ): Promise<RunningServer>;
  query<T = Record<string, unknown>>(
    token: string | null,
    query: string,
    variables?: Record<string, unknown>,
    url?: string,
  ): Promise<GraphQLResponse<T>>;
  close(): Promise<void>;
}

export async function startStack(
  db: TestDatabase,
  env: Record<string, string> = {},
): Promise<Stack> {
  const lake = await mkdtemp(path.join(os.tmpdir(), 'tm-e2e-lake-'));
  const config = loadConfig({
    TIDEMARK_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_URL: db.url,
    LAKE_DIR: lake,
    // Queries run compiled from their first run on, so that the suites check graphql-jit's
    // answers (compiledExecutor.ts); directives and mutations still take graphql-js.
    COMPILE_QUERIES_AFTER: '1',
    ...env,
  });
  const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
  const { engine, dispose } = await openTestEngine(db, lake);
  const oltp = await startOltpSubgraph(config, db.dbs, log, 0);
  const olap = await startOlapSubgraph(config, db.dbs, engine, log, 0);
  const gateway = await startGateway({
    config,
    log,
    port: 0,
    subgraphUrls: { oltp: `${oltp.url}/graphql`, olap: `${olap.url}/graphql` },
  });
  const jwt = {
    secret: config.JWT_SECRET,
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
  };
  return {
    config,
    engine,
    gateway,
    oltp,
    olap,
    tierDeps: { pool: db.dbs.operator, engine, workDir: `${lake}-work`, log },
    extraGateway: (overrides = {}, extra = {}) =>
      startGateway({
        config: { ...config, ...overrides },
        log,
        port: 0,
        subgraphUrls: { oltp: `${oltp.url}/graphql`, olap: extra.olapUrl ?? `${olap.url}/graphql` },
        auditUrl: extra.auditUrl,
      }),
    token: (tenantId, role = 'viewer') =>
      issueToken(jwt, { tenantId, subject: `test@${tenantId}`, roles: [role] }, '1h'),
    async query(token, query, variables, url = `${gateway.url}/graphql`) {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ query, variables }),
      });
      return { status: res.status, body: (await res.json()) as GraphQLResponse['body'] } as never;
    },
    async close() {
      await gateway.close();
      await olap.close();
      await oltp.close();
      await dispose();
      await rm(lake, { recursive: true, force: true });
    },
  };
}
