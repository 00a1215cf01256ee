// The gateway: who you are and what you may ask. It verifies the bearer token, plans
// the query over the static supergraph, and sends each subgraph a short-lived signed
// context. It never touches a database.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import { GraphQLError } from 'graphql';
import type { Config } from '../core/config.ts';
import { errorReportingPlugin, type RequestScoped } from '../core/errorPlugin.ts';
import { maskError, TidemarkError } from '../core/errors.ts';
import { createServiceApp, listen, type RunningServer } from '../core/httpServer.ts';
import type { Logger } from '../core/logger.ts';
import { CONTEXT_HEADER, signContext, type RequestIdentity } from '../core/signedContext.ts';
import { verifyBearer } from './auth/jwt.ts';
import { bulkIngestHandler } from './bulkIngest.ts';
import { loadSupergraph } from './supergraph.ts';

export interface GatewayContext extends RequestScoped {
  identity: RequestIdentity;
}

export interface GatewayOptions {
  config: Config;
  log: Logger;
  port?: number;
  /** Subgraph URLs by name; defaults to the configured ones. */
  subgraphUrls?: Partial<Record<'oltp' | 'olap', string>>;
}

class SigningDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(
    url: string,
    private readonly secret: string,
    private readonly ttlSeconds: number,
  ) {
    super({ url });
  }

  override willSendRequest({
    request,
    context,
  }: Parameters<NonNullable<RemoteGraphQLDataSource<GatewayContext>['willSendRequest']>>[0]): void {
    if (!context.identity) return; // health probes carry no identity; subgraphs refuse them
    request.http?.headers.set(
      CONTEXT_HEADER,
      signContext(context.identity, this.secret, this.ttlSeconds),
    );
  }
}

export async function startGateway(options: GatewayOptions): Promise<RunningServer> {
  const { config, log } = options;
  const urls = { oltp: config.oltpUrl, olap: config.olapUrl, ...options.subgraphUrls };
  const gateway = new ApolloGateway({
    supergraphSdl: await loadSupergraph(),
    buildService: ({ name }) => {
      const url = urls[name as 'oltp' | 'olap'];
      if (!url) throw new Error(`supergraph names an unknown subgraph: ${name}`);
      return new SigningDataSource(url, config.CONTEXT_SECRET, config.CONTEXT_TTL_SECONDS);
    },
  });
  const isDev = config.TIDEMARK_ENV !== 'production';
  const app = createServiceApp(async () => {
    const results = await Promise.allSettled(
      Object.entries(urls).map(async ([name, url]) => {
        const res = await fetch(new URL('/health', url), { signal: AbortSignal.timeout(2000) });
        if (!res.ok) throw new Error(`${name} answered ${res.status}`);
      }),
    );
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length > 0)
      throw new Error(failed.map((f) => String(f.reason?.message ?? f.reason)).join('; '));
  });
  const httpServer = http.createServer(app);
  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    introspection: isDev,
    csrfPrevention: true,
    logger: log,
    allowBatchedHttpRequests: false,
    includeStacktraceInErrorResponses: false,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      errorReportingPlugin<GatewayContext>(),
      ...(isDev ? [ApolloServerPluginLandingPageLocalDefault({ embed: true })] : []),
    ],
    formatError: maskError,
  });
  await apollo.start();
  app.post(
    '/v1/ingest',
    bulkIngestHandler({
      jwt: { secret: config.JWT_SECRET, issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE },
      oltpIngestUrl: new URL('/v1/ingest', urls.oltp).toString(),
      contextSecret: config.CONTEXT_SECRET,
      contextTtlSeconds: config.CONTEXT_TTL_SECONDS,
      maxBytes: config.INGEST_MAX_BYTES,
      log,
    }),
  );
  app.use(
    '/graphql',
    express.json({ limit: config.GRAPHQL_MAX_BODY_BYTES }),
    expressMiddleware(apollo, {
      context: async ({ req }) => {
        const requestId = req.header('x-request-id') ?? randomUUID();
        try {
          const token = await verifyBearer(
            { secret: config.JWT_SECRET, issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE },
            req.header('authorization'),
          );
          return {
            identity: { ...token, requestId },
            requestId,
            log: log.child({ requestId, tenant: token.tenantId }),
          };
        } catch (err) {
          const message = err instanceof TidemarkError ? err.message : 'unauthenticated';
          throw new GraphQLError(message, {
            extensions: { code: 'UNAUTHENTICATED', requestId, http: { status: 401 } },
          });
        }
      },
    }),
  );
  return listen(httpServer, config.HOST, options.port ?? config.GATEWAY_PORT, () => apollo.stop());
}
