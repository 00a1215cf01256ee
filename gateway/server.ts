// The gateway: who you are and what you may ask. It verifies the bearer token, plans
// the query over the static supergraph, and sends each subgraph a short-lived signed
// context. It never touches a database.
import './federationInternals.ts'; // first: before @apollo/gateway loads
import './resultShaping.ts'; // Apollo Gateway's result shaping without its per-value garbage
import './planMerge.ts'; // Apollo Gateway's deepMerge, for subtrees kept as text
import '../core/graphqlFastPaths.ts'; // graphql-js's variable coercion and field arguments, faster
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import type { FetcherRequestInit } from '@apollo/utils.fetcher';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloServerPluginUsageReporting } from '@apollo/server/plugin/usageReporting';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import { GraphQLError } from 'graphql';
import type { Config } from '../core/config.ts';
import { errorReportingPlugin } from '../core/errorPlugin.ts';
import { auditPlugin, type AuditedContext } from './audit/auditPlugin.ts';
import { AuditSink } from './audit/auditSink.ts';
import { TidemarkError } from '../core/errors.ts';
import { startTracing } from '../core/tracing.ts';
import { createServiceApp, listen, type RunningServer } from '../core/httpServer.ts';
import type { Logger } from '../core/logger.ts';
import { CONTEXT_HEADER, signContext, type RequestIdentity } from '../core/signedContext.ts';
import { jwtSettings, verifyBearer } from './auth/jwt.ts';
import { bulkIngestHandler } from './bulkIngest.ts';
import { GatewayMetrics } from './metrics.ts';
import { costLimitPlugin, enforceRateLimit, metricsPlugin } from './plugins.ts';
import { bucketShape, createRateLimits } from './rateLimit.ts';
import { ResponseCache } from './responseCache.ts';
import { loadSafelist } from './safelist.ts';
import { formatGatewayError } from './subgraphErrors.ts';
import { SubgraphAnswerCache } from './subgraphCache.ts';
import { subgraphFetcher } from './subgraphFetch.ts';
import {
  fieldSetNames,
  rawFieldPlans,
  serializeWithRawSubtrees,
  type RawFieldPlan,
} from './rawSubtrees.ts';
import { ResponseBytes } from './responseBytes.ts';
import { unavailablePayload } from './unavailableResponse.ts';
import { loadSupergraph } from './supergraph.ts';

export interface GatewayContext extends AuditedContext {
  identity: RequestIdentity;
  /** The response cache's data version for this request, asked early (responseCache.ts). */
  dataVersion: Promise<string | null> | null;
}

/** A GraphQL request's document text, from a POST body or a GET query string. */
function queryText(req: express.Request): string | undefined {
  const query: unknown = req.method === 'GET' ? req.query.query : req.body?.query;
  return typeof query === 'string' ? query : undefined;
}

export interface GatewayOptions {
  config: Config;
  log: Logger;
  port?: number;
  /** Subgraph URLs by name; defaults to the configured ones. */
  subgraphUrls?: Partial<Record<'oltp' | 'olap', string>>;
  /** Where audit batches go; defaults to the OLTP subgraph's /internal/audit. */
  auditUrl?: string;
}

/**
 * A fetch's request, handed from `willSendRequest` (which sees the request's context)
 * to the fetcher (which does not) under this header; the fetcher takes it off, so it
 * never reaches a subgraph.
 */
const SCOPE_HEADER = 'x-tidemark-fetch-scope';

class SigningDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  /** Requests whose fetch is on its way to the fetcher, by SCOPE_HEADER value. */
  private readonly scopes = new Map<string, GatewayContext>();
  private nextScope = 0;

  constructor(
    private readonly subgraphName: string,
    url: string,
    private readonly secret: string,
    private readonly ttlSeconds: number,
    timeoutMs: number,
    metrics: GatewayMetrics,
    planFor: (query: string) => RawFieldPlan | null,
    cache: SubgraphAnswerCache | null,
  ) {
    // node:http, the whole answer read as bytes, plain subtrees kept unparsed (see
    // subgraphFetch.ts); every call carries a deadline, past which it is aborted.
    const post = subgraphFetcher(timeoutMs, planFor);
    const send = async (input: string, init: FetcherRequestInit, context?: GatewayContext) => {
      context?.subgraphsCalled?.add(subgraphName);
      const end = metrics.subgraphDuration.startTimer({ subgraph: subgraphName });
      try {
        const res = await post(input, init);
        end({ outcome: res.ok ? 'ok' : 'error' });
        return res;
      } catch (err) {
        const isTimeout = (err as Error).name === 'TimeoutError';
        end({ outcome: isTimeout ? 'timeout' : 'unavailable' });
        // Answer for the subgraph: nulls with typed errors at the fields' own paths.
        return new Response(
          JSON.stringify(unavailablePayload(String(init.body ?? ''), isTimeout)),
          {
            status: 200,
            headers: { 'content-type': 'application/json' },
          },
        );
      }
    };
    super({
      url,
      fetcher: (async (input: string, init: FetcherRequestInit) => {
        const { [SCOPE_HEADER]: scope, ...headers } = (init.headers ?? {}) as Record<
          string,
          string
        >;
        const context = scope === undefined ? undefined : this.scopes.get(scope);
        if (scope !== undefined) this.scopes.delete(scope);
        const request = { ...init, headers };
        // Kept answers (subgraphCache.ts): only for requests with an identity and a body.
        if (!cache || !context?.identity || typeof init.body !== 'string')
          return send(input, request, context);
        return cache.fetch(context, subgraphName, init.body, () => send(input, request, context));
      }) as never,
    });
  }

  override willSendRequest({
    request,
    context,
  }: Parameters<NonNullable<RemoteGraphQLDataSource<GatewayContext>['willSendRequest']>>[0]): void {
    // health probes carry no identity; subgraphs refuse them
    if (!context.identity || !request.http) return;
    request.http.headers.set(
      CONTEXT_HEADER,
      signContext(context.identity, this.secret, this.ttlSeconds),
    );
    // registered only with the header that takes it back out (no entry left behind)
    const scope = String(this.nextScope++);
    this.scopes.set(scope, context as GatewayContext);
    request.http.headers.set(SCOPE_HEADER, scope);
  }
}

/**
 * @apollo/gateway reports usage metrics to Apollo's servers unless this is set; tidemark
 * never sends data off the machine unasked (Apollo Studio reporting is opt-in).
 */
function disableGatewayTelemetry(): void {
  process.env.APOLLO_TELEMETRY_DISABLED = 'true';
}

/**
 * Usage reporting to Apollo Studio (GraphOS) when APOLLO_KEY and APOLLO_GRAPH_REF are
 * set: operation shapes, timings and field usage; never variable values or headers,
 * and error messages masked, since they may carry tenant data. Off otherwise, even if
 * Apollo's own variables are in the environment of a process that did not mean it.
 */
function usageReporting(config: Config): ApolloServerPlugin<GatewayContext> {
  if (!config.APOLLO_KEY) return ApolloServerPluginUsageReportingDisabled();
  return ApolloServerPluginUsageReporting({
    ...(config.APOLLO_USAGE_REPORTING_URL
      ? { endpointUrl: config.APOLLO_USAGE_REPORTING_URL }
      : {}),
    sendVariableValues: { none: true },
    sendHeaders: { none: true },
    sendErrors: { masked: true },
  });
}

export async function startGateway(options: GatewayOptions): Promise<RunningServer> {
  const { config, log } = options;
  disableGatewayTelemetry();
  const flushTraces = config.OTEL_EXPORTER_OTLP_ENDPOINT
    ? await startTracing('tidemark-gateway', config.OTEL_EXPORTER_OTLP_ENDPOINT)
    : async () => undefined;
  const metrics = new GatewayMetrics();
  const rateLimits = await createRateLimits({
    query: bucketShape(config.RATE_LIMIT_QUERY_PER_SECOND, config.RATE_LIMIT_QUERY_BURST),
    ingest: bucketShape(config.RATE_LIMIT_INGEST_PER_SECOND, config.RATE_LIMIT_INGEST_BURST),
    redisUrl: config.REDIS_URL,
  });
  const urls = { oltp: config.oltpUrl, olap: config.olapUrl, ...options.subgraphUrls };
  const audit = new AuditSink({
    url: options.auditUrl ?? new URL('/internal/audit', urls.oltp).toString(),
    secret: config.CONTEXT_SECRET,
    log,
  });
  const responseBytes = new ResponseBytes();
  const responseCache =
    config.RESPONSE_CACHE_MB > 0
      ? new ResponseCache({
          olapUrl: urls.olap,
          contextSecret: config.CONTEXT_SECRET,
          contextTtlSeconds: config.CONTEXT_TTL_SECONDS,
          maxBytes: config.RESPONSE_CACHE_MB * 1024 * 1024,
          metrics,
          responseBytes,
          log,
        })
      : null;
  // Subgraph answers are kept under the response cache's data versions, so only with it.
  const subgraphCache =
    responseCache && config.SUBGRAPH_CACHE_MB > 0
      ? new SubgraphAnswerCache({
          maxBytes: config.SUBGRAPH_CACHE_MB * 1024 * 1024,
          settled: (tenantId) => responseCache.settledVersion(tenantId),
          counted: (subgraph, result) => metrics.subgraphCache.inc({ subgraph, result }),
        })
      : null;
  const supergraphSdl = await loadSupergraph();
  // Which fields of each subgraph query's answer may pass through as text (rawSubtrees.ts).
  const planFor = rawFieldPlans(fieldSetNames(supergraphSdl));
  const gateway = new ApolloGateway({
    supergraphSdl,
    buildService: ({ name }) => {
      const url = urls[name as 'oltp' | 'olap'];
      if (!url) throw new Error(`supergraph names an unknown subgraph: ${name}`);
      return new SigningDataSource(
        name,
        url,
        config.CONTEXT_SECRET,
        config.CONTEXT_TTL_SECONDS,
        config.SUBGRAPH_TIMEOUT_MS,
        metrics,
        planFor,
        subgraphCache,
      );
    },
  });
  const isDev = config.isIntrospectionOn;
  const armor = new ApolloArmor({
    maxDepth: { n: config.MAX_QUERY_DEPTH },
    maxAliases: { n: config.MAX_QUERY_ALIASES },
    maxTokens: { enabled: false }, // parseOptions below: a clearer message, before parsing finishes
    maxDirectives: { n: config.MAX_QUERY_DIRECTIVES },
    costLimit: { enabled: false }, // tidemark's own cost model below understands series
    blockFieldSuggestion: { enabled: config.TIDEMARK_ENV === 'production' },
  }).protect();
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
  const safelist = config.SAFELIST_FILE ? await loadSafelist(config.SAFELIST_FILE) : null;
  if (safelist)
    log.info({ operations: safelist.size }, 'safelist mode: only listed operations run');
  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    introspection: isDev,
    csrfPrevention: true,
    logger: log,
    allowBatchedHttpRequests: false,
    includeStacktraceInErrorResponses: false,
    validationRules: armor.validationRules as never,
    parseOptions: { maxTokens: config.MAX_QUERY_TOKENS },
    // APQ is on; in safelist mode its cache is the manifest and takes no registrations.
    persistedQueries: safelist ? { cache: safelist.cache } : {},
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      errorReportingPlugin<GatewayContext>(),
      // graphql-armor's types name the CJS build of @apollo/server; the objects are the same.
      ...(armor.plugins as unknown as ApolloServerPlugin<GatewayContext>[]),
      costLimitPlugin(config.MAX_QUERY_POINTS, metrics),
      metricsPlugin(metrics),
      auditPlugin<GatewayContext>(audit),
      ...(safelist ? [safelist.plugin as ApolloServerPlugin<GatewayContext>] : []),
      usageReporting(config),
      ...(responseCache ? [responseCache.plugin<GatewayContext>()] : []),
      // Subgraphs' Cache-Control headers still shape each request's cache policy (the
      // response cache reads it); clients get no cache headers, since answers change
      // with writes, not with time.
      ApolloServerPluginCacheControlDisabled(),
      isDev
        ? ApolloServerPluginLandingPageLocalDefault({ embed: true })
        : ApolloServerPluginLandingPageDisabled(),
    ],
    formatError: formatGatewayError,
    // Subtrees kept as text go out as the bytes the subgraph sent (rawSubtrees.ts).
    stringifyResult: responseCache
      ? responseCache.stringify
      : (result) => responseBytes.body(serializeWithRawSubtrees(result, '\n')),
    ...(config.APOLLO_KEY
      ? { apollo: { key: config.APOLLO_KEY, graphRef: config.APOLLO_GRAPH_REF } }
      : {}),
  });
  await apollo.start();
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  app.post(
    '/v1/ingest',
    bulkIngestHandler({
      rateLimit: (tenantId, requestId, res) =>
        enforceRateLimit(rateLimits, metrics, tenantId, 'ingest', requestId, log, res),
      jwt: jwtSettings(config),
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
    responseBytes.middleware,
    expressMiddleware(apollo, {
      context: async ({ req, res }) => {
        const requestId = req.header('x-request-id') ?? randomUUID();
        let token;
        try {
          token = await verifyBearer(jwtSettings(config), req.header('authorization'));
        } catch (err) {
          const message = err instanceof TidemarkError ? err.message : 'unauthenticated';
          metrics.rejections.inc({ reason: 'unauthenticated' });
          throw new GraphQLError(message, {
            extensions: { code: 'UNAUTHENTICATED', requestId, http: { status: 401 } },
          });
        }
        await enforceRateLimit(rateLimits, metrics, token.tenantId, 'query', requestId, log, res);
        const identity = { ...token, requestId };
        // The response cache's barrier round trip starts now, overlapping Apollo's work
        // before the operation runs; not before the rate limit, so a refused request
        // costs the OLAP subgraph and PostgreSQL nothing.
        const dataVersion = responseCache?.ask(identity, queryText(req)) ?? null;
        return {
          identity,
          dataVersion,
          requestId,
          log: log.child({ requestId, tenant: token.tenantId }),
          subgraphsCalled: new Set<string>(),
        };
      },
    }),
  );
  // Graceful shutdown: stop taking requests, drain those in flight, then flush audit.
  return listen(httpServer, config.HOST, options.port ?? config.GATEWAY_PORT, async () => {
    await apollo.stop();
    await audit.close();
    await rateLimits.close();
    await flushTraces();
  });
}
