// Prometheus metrics of the gateway (prom-client), served on /metrics.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { rawSubtreeCounts } from './rawSubtrees.ts';

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'tidemark_graphql_requests_total',
    help: 'GraphQL operations by operation name and outcome.',
    labelNames: ['operation', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'tidemark_graphql_request_duration_seconds',
    help: 'Time to answer a GraphQL operation.',
    labelNames: ['operation'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly subgraphDuration = new Histogram({
    name: 'tidemark_subgraph_request_duration_seconds',
    help: 'Time a subgraph took to answer the gateway.',
    labelNames: ['subgraph', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly rejections = new Counter({
    name: 'tidemark_rejections_total',
    help: 'Requests refused before execution, by reason.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly responseCache = new Counter({
    name: 'tidemark_response_cache_lookups_total',
    help: 'Queries by response-cache result: hit (no subgraph called), not_modified (a GET revalidated: 304, nothing sent), miss, or bypass (no data version to key by).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly subgraphCache = new Counter({
    name: 'tidemark_subgraph_cache_lookups_total',
    help: 'Fetches of query plans by subgraph and kept-answer result (subgraphCache.ts): hit (the subgraph was not called), miss, or bypass (no data version to key by).',
    labelNames: ['subgraph', 'result'] as const,
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({
    name: 'tidemark_rate_limited_total',
    help: 'Requests refused by a rate limit, by budget.',
    labelNames: ['budget'] as const,
    registers: [this.registry],
  });
  readonly rawSubtrees = new Counter({
    name: 'tidemark_raw_subtrees_total',
    help: 'Plain subtrees of subgraph answers kept unparsed (rawSubtrees.ts), by outcome: passed to the client as the subgraph sent them, or parsed after all (the client asked for a different selection, or the query plan merged into one).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
    collect() {
      this.reset();
      this.inc({ outcome: 'passed' }, rawSubtreeCounts.passed);
      this.inc({ outcome: 'parsed' }, rawSubtreeCounts.parsed);
    },
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'tidemark_gateway_' });
  }
}
