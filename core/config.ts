// Loads and validates configuration once at start-up. Modules receive a Config;
// only this file reads process.env.
import path from 'node:path';
import { z } from 'zod';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const port = z.coerce.number().int().min(0).max(65535);

export const configSchema = z.object({
  TIDEMARK_ENV: z.enum(['development', 'production', 'test']).default('development'),
  TIDEMARK_HOME: z.string().default('.tidemark'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HOST: z.string().default('127.0.0.1'),
  GATEWAY_PORT: port.default(4000),
  OLTP_PORT: port.default(4001),
  OLAP_PORT: port.default(4002),
  OLTP_URL: z.url().optional(),
  OLAP_URL: z.url().optional(),
  DATABASE_URL: z.string().optional(),
  APP_DATABASE_URL: z.string().optional(),
  APP_DB_PASSWORD: z.string().default('tidemark_app'),
  EMBEDDED_PG_PORT: port.default(54329),
  LAKE_DIR: z.string().optional(),
  TRINO_URL: z.url().optional(),
  TRINO_USER: z.string().default('tidemark'),
  TRINO_CATALOG: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/)
    .default('iceberg'),
  TRINO_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/)
    .default('tidemark'),
  TRINO_HOT_CATALOG: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/)
    .default('postgresql'),
  ENGINE_TIMEOUT_MS: z.coerce.number().int().positive().default(8_000),
  JWT_SECRET: z.string().min(32).default('tidemark-dev-secret-change-me-in-production!!'),
  JWT_ISSUER: z.string().default('tidemark'),
  JWKS_URL: z.url().optional(),
  JWT_AUDIENCE: z.string().default('tidemark'),
  CONTEXT_SECRET: z.string().min(32).default('tidemark-dev-context-secret-change-me!!'),
  CONTEXT_TTL_SECONDS: z.coerce.number().int().positive().default(30),
  SEED_DEMO: bool.default(true),
  TIER_INTERVAL_SECONDS: z.coerce.number().int().min(0).default(3600),
  MAX_SERIES_POINTS: z.coerce.number().int().positive().default(50_000),
  RESPONSE_CACHE_MB: z.coerce.number().min(0).default(64),
  RESPONSE_CACHE_TTL_SECONDS: z.coerce.number().int().positive().default(300),
  SUBGRAPH_CACHE_MB: z.coerce.number().min(0).default(32),
  GRAPHQL_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(5 * 1024 * 1024),
  INGEST_MAX_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(1024 * 1024 * 1024),
  INGEST_MAX_FUTURE_SECONDS: z.coerce.number().int().min(0).default(86_400),
  MAX_QUERY_DEPTH: z.coerce.number().int().positive().default(12),
  MAX_QUERY_ALIASES: z.coerce.number().int().positive().default(30),
  MAX_QUERY_TOKENS: z.coerce.number().int().positive().default(5000),
  MAX_QUERY_DIRECTIVES: z.coerce.number().int().positive().default(20),
  MAX_QUERY_POINTS: z.coerce.number().int().positive().default(500_000),
  INTROSPECTION: bool.optional(),
  RATE_LIMIT_QUERY_PER_SECOND: z.coerce.number().positive().default(100),
  RATE_LIMIT_QUERY_BURST: z.coerce.number().int().positive().optional(),
  RATE_LIMIT_INGEST_PER_SECOND: z.coerce.number().positive().default(20),
  RATE_LIMIT_INGEST_BURST: z.coerce.number().int().positive().optional(),
  REDIS_URL: z.string().optional(),
  SAFELIST_FILE: z.string().optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  SUBGRAPH_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  COMPILE_QUERIES_AFTER: z.coerce.number().int().min(0).default(2),
  APOLLO_KEY: z.string().optional(),
  APOLLO_GRAPH_REF: z.string().optional(),
  APOLLO_USAGE_REPORTING_URL: z.url().optional(),
  INGEST_MIN_TIMESTAMP: z.iso.datetime({ offset: true }).default('2000-01-01T00:00:00Z'),
});

type RawConfig = z.infer<typeof configSchema>;

export interface Config extends RawConfig {
  readonly home: string;
  readonly lakeDir: string;
  readonly oltpUrl: string;
  readonly olapUrl: string;
  /** True when no DATABASE_URL is given and tidemark runs its own PostgreSQL. */
  readonly isEmbeddedPostgres: boolean;
  /** Introspection and the Sandbox landing page: INTROSPECTION, else on outside production. */
  readonly isIntrospectionOn: boolean;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const DEV_SECRETS = new Set([
  configSchema.shape.JWT_SECRET.parse(undefined),
  configSchema.shape.CONTEXT_SECRET.parse(undefined),
]);

/** Validates env into a Config, reporting one line per bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const known = Object.fromEntries(
    Object.keys(configSchema.shape).map((k) => [k, env[k] === '' ? undefined : env[k]]),
  );
  const parsed = configSchema.safeParse(known);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const raw = parsed.data;
  const problems: string[] = [];
  if (raw.TIDEMARK_ENV === 'production') {
    for (const k of ['JWT_SECRET', 'CONTEXT_SECRET'] as const) {
      if (DEV_SECRETS.has(raw[k]))
        problems.push(`${k}: the development default must not be used in production`);
    }
  }
  if (raw.APOLLO_KEY && !raw.APOLLO_GRAPH_REF)
    problems.push('APOLLO_GRAPH_REF: usage reporting with APOLLO_KEY needs a graph ref');
  if (problems.length > 0) throw new ConfigError(problems);
  const home = path.resolve(cwd, raw.TIDEMARK_HOME);
  return {
    ...raw,
    home,
    lakeDir: path.resolve(cwd, raw.LAKE_DIR ?? path.join(home, 'lake')),
    oltpUrl: raw.OLTP_URL ?? `http://${raw.HOST}:${raw.OLTP_PORT}/graphql`,
    olapUrl: raw.OLAP_URL ?? `http://${raw.HOST}:${raw.OLAP_PORT}/graphql`,
    isEmbeddedPostgres: raw.DATABASE_URL === undefined,
    isIntrospectionOn: raw.INTROSPECTION ?? raw.TIDEMARK_ENV !== 'production',
  };
}

/** The names every module may rely on; docs and docker-compose are checked against it. */
export const CONFIG_VARIABLES = Object.keys(configSchema.shape);
