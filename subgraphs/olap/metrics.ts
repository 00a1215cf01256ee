// Prometheus metrics of the OLAP subgraph (prom-client), served on its /metrics: how
// often the cold-partials cache answers, and how the cold engine's reads go.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class OlapMetrics {
  readonly registry = new Registry();
  readonly coldCacheLookups = new Counter({
    name: 'tidemark_cold_cache_lookups_total',
    help: 'Cold-partials cache lookups, by result (hit: no cold engine query).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly warmCacheLookups = new Counter({
    name: 'tidemark_warm_cache_lookups_total',
    help: 'Warm-partials cache lookups of whole past days, by result (hit: no rollups read for that day).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly coldReads = new Histogram({
    name: 'tidemark_cold_read_duration_seconds',
    help: 'Cold engine reads by engine and outcome (ok, timeout, abandoned, failed).',
    labelNames: ['engine', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'tidemark_olap_' });
  }
}
