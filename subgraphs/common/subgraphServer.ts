// Serves a subgraph schema over HTTP. Every GraphQL request must carry a valid,
// unexpired gateway-signed context; without one the subgraph serves nothing (401).
import http from 'node:http';
import '../../core/graphqlFastPaths.ts'; // graphql-js's variable coercion and field arguments, faster
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import type { GraphQLSchema } from 'graphql';
import type { Registry } from 'prom-client';
import { GraphQLError } from 'graphql';
import { compiledExecutor } from './compiledExecutor.ts';
import { errorReportingPlugin, type RequestScoped } from '../../core/errorPlugin.ts';
import { maskError } from '../../core/errors.ts';
import { createServiceApp, listen, type RunningServer } from '../../core/httpServer.ts';
import type { Logger } from '../../core/logger.ts';
import { CONTEXT_HEADER, verifyContext, type RequestIdentity } from '../../core/signedContext.ts';

export interface SubgraphServerOptions<C extends RequestScoped> {
  name: string;
  schema: GraphQLSchema;
  contextSecret: string;
  log: Logger;
  host: string;
  port: number;
  readiness: () => Promise<void>;
  /** `signal` aborts when the caller goes away before the response is written. */
  createContext: (identity: RequestIdentity, log: Logger, signal: AbortSignal) => C;
  /** Served on GET /metrics (Prometheus text format) when given. */
  metrics?: Registry;
  /** Extra routes (e.g. bulk ingest) mounted before GraphQL. */
  mount?: (app: express.Express) => void;
  /**
   * The max-age (seconds) this subgraph grants answers that only a committed write can
   * change; the gateway's response cache keeps an answer only if every subgraph did.
   */
  cacheMaxAgeSeconds: number;
  /** A query runs compiled from its n-th run on (COMPILE_QUERIES_AFTER; 0: never). */
  compileAfter: number;
  /** Runs after the server has stopped taking requests. */
  onClose?: () => Promise<void>;
}

/**
 * Tells the gateway whether it may keep an answer (keyed by the tenant's data version,
 * see gateway/responseCache.ts): a query answered without errors whose resolvers did not
 * mark it `uncacheable` may be; anything else is `no-store`.
 */
function cacheHeaderPlugin<C extends RequestScoped>(maxAgeSeconds: number): ApolloServerPlugin<C> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ operation, response, contextValue }) {
          const cacheable =
            operation?.operation === 'query' &&
            response.body.kind === 'single' &&
            !response.body.singleResult.errors &&
            !contextValue.uncacheable;
          response.http.headers.set(
            'cache-control',
            cacheable ? `private, max-age=${maxAgeSeconds}` : 'no-store',
          );
        },
      };
    },
  };
}

export async function startSubgraphServer<C extends RequestScoped>(
  options: SubgraphServerOptions<C>,
): Promise<RunningServer> {
  const app = createServiceApp(options.readiness);
  const httpServer = http.createServer(app);
  const apollo = new ApolloServer<C>({
    // Repeated queries run compiled (see compiledExecutor.ts).
    gateway: compiledExecutor(options.schema, options.compileAfter).gateway,
    introspection: true,
    csrfPrevention: true,
    logger: options.log,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      errorReportingPlugin<C>(),
      // No cache hints are set anywhere; its per-field hook cost ~10% of a large answer.
      ApolloServerPluginCacheControlDisabled(),
      cacheHeaderPlugin<C>(options.cacheMaxAgeSeconds),
    ],
    formatError: maskError,
  });
  await apollo.start();
  const { metrics } = options;
  if (metrics) {
    app.get('/metrics', async (_req, res) => {
      res.type(metrics.contentType).send(await metrics.metrics());
    });
  }
  options.mount?.(app);
  app.use(
    '/graphql',
    express.json({ limit: '10mb' }),
    expressMiddleware(apollo, {
      context: async ({ req, res }) => {
        let identity: RequestIdentity;
        try {
          identity = verifyContext(req.header(CONTEXT_HEADER), options.contextSecret);
        } catch (err) {
          const message = err instanceof Error ? err.message : 'unauthenticated';
          throw new GraphQLError(message, {
            extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
          });
        }
        // A caller that goes away (the gateway's deadline, a closed dashboard) aborts
        // the request's engine work.
        const abandoned = new AbortController();
        res.on('close', () => {
          if (!res.writableFinished) abandoned.abort();
        });
        return options.createContext(
          identity,
          options.log.child({ requestId: identity.requestId }),
          abandoned.signal,
        );
      },
    }),
  );
  return listen(httpServer, options.host, options.port, async () => {
    await apollo.stop();
    await options.onClose?.();
  });
}
