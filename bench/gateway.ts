// bench:gateway — a dashboard query through the gateway at 50 concurrent connections,
// alternating two tenants, on loopback, bounded in time (autocannon). Every response is
// checked: no error, and no row of the other tenant.
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { loadConfig } from '../core/config.ts';
import { issueToken, jwtSettings } from '../gateway/auth/jwt.ts';
import { addTenant, defineAttributes, upsertEntities } from '../hot/admin.ts';
import { copyObservations, type ObservationRow } from '../hot/copyObservations.ts';
import { PartitionManager, addUtcDays, utcDay } from '../hot/partitions.ts';
import {
  commit,
  freePort,
  machine,
  openBenchDatabase,
  serveChild,
  serviceEnv,
  stopChildren,
  table,
  writeSection,
} from './support.ts';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const TENANTS = ['north', 'south'];
const ENTITIES = 20;
const DAYS = 30;
const NOW = Date.now();

const DASHBOARD = `query Dashboard($from: DateTimeISO!, $to: DateTimeISO!) {
  tenant { id }
  entities(first: 10) { nodes { id name latest(attribute: "pressure") { value }
    series(attribute: "pressure", from: $from, to: $to, bucket: DAY) { points { start avg max } } } }
}`;

async function main(): Promise<void> {
  const db = await openBenchDatabase('tidemark_bench_gateway');
  const lake = await mkdtemp(path.join(os.tmpdir(), 'tm-bench-gw-'));
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  const children: ChildProcess[] = [];
  try {
    const firstDay = addUtcDays(utcDay(NOW), -DAYS);
    await new PartitionManager(pool).ensure(firstDay, NOW);
    for (const tenantId of TENANTS) {
      await addTenant(pool, {
        id: tenantId,
        timeZone: tenantId === 'north' ? 'Europe/Oslo' : 'Australia/Sydney',
      });
      const attribute = (
        await defineAttributes(pool, tenantId, [{ name: 'pressure', type: 'number' }])
      ).get('pressure')!;
      const keys = await upsertEntities(
        pool,
        tenantId,
        Array.from({ length: ENTITIES }, (_, i) => ({ id: `${tenantId}-${i}`, kind: 'pump' })),
      );
      const rows: ObservationRow[] = [];
      for (const key of keys.values()) {
        for (let t = Date.parse(`${firstDay}T00:00:00Z`); t < NOW; t += 600_000) {
          rows.push({
            tenantId,
            attributeKey: attribute,
            entityKey: key,
            tsMs: t,
            value: Math.round(Math.random() * 1000) / 100,
          });
        }
      }
      const client = await pool.connect();
      await copyObservations(client, rows);
      client.release();
    }
    const { ports, env } = await serviceEnv(db.url, lake);
    // The tiering service runs one pass at start: days older than 7 go to Parquet.
    children.push(await serveChild('oltp', ports.oltp, env));
    children.push(await serveChild('olap', ports.olap, env));
    children.push(await serveChild('gateway', ports.gateway, env));
    // A second gateway without the response cache: every request computes its answer.
    const uncachedPort = await freePort();
    children.push(
      await serveChild('gateway', uncachedPort, {
        ...env,
        GATEWAY_PORT: String(uncachedPort),
        RESPONSE_CACHE_MB: '0',
      }),
    );
    const { execFileSync } = await import('node:child_process');
    execFileSync(process.execPath, ['bin/tidemark.mjs', 'tier'], {
      env: { ...process.env, ...env, LOG_LEVEL: 'warn' },
    });

    const config = loadConfig({});
    const tokens = await Promise.all(
      TENANTS.map((t) =>
        issueToken(jwtSettings(config), { tenantId: t, subject: 'bench', roles: ['viewer'] }, '1h'),
      ),
    );
    const variables = { from: `${firstDay}T00:00:00Z`, to: new Date(NOW).toISOString() };
    const load = async (port: number) => {
      let errors = 0;
      let crossTenant = 0;
      let checked = 0;
      const check = (tenantId: string) => (status: number, body: string) => {
        checked += 1;
        const parsed = JSON.parse(body) as {
          errors?: unknown;
          data?: { tenant: { id: string }; entities: { nodes: { id: string }[] } };
        };
        if (status !== 200 || parsed.errors || !parsed.data) {
          errors += 1;
          return;
        }
        if (parsed.data.tenant.id !== tenantId) crossTenant += 1;
        crossTenant += parsed.data.entities.nodes.filter(
          (n) => !n.id.startsWith(`${tenantId}-`),
        ).length;
      };
      const result = await autocannon({
        url: `http://127.0.0.1:${port}`,
        connections: CONNECTIONS,
        duration: SECONDS,
        requests: TENANTS.map((tenantId, i) => ({
          method: 'POST' as const,
          path: '/graphql',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[i]}` },
          body: JSON.stringify({ query: DASHBOARD, variables }),
          onResponse: check(tenantId),
        })),
      });
      const failed = errors + result.errors + result.non2xx;
      return {
        failures: failed + crossTenant,
        cells: [
          Math.round(result.requests.average),
          result.latency.p50,
          result.latency.p97_5,
          result.latency.p99,
          checked,
          failed,
          crossTenant,
        ],
      };
    };
    const uncached = await load(uncachedPort);
    const cached = await load(ports.gateway);
    const report = [
      `${new Date().toISOString().slice(0, 10)} · commit ${commit()} · ${machine()} · ${db.server}`,
      '',
      `Dashboard query (tenant, 10 entities with latest value and a ${DAYS}-day DAY series spanning Parquet and PostgreSQL) through the gateway; gateway, OLTP, OLAP and PostgreSQL as separate processes on the same 2 cores as autocannon; ${CONNECTIONS} connections for ${SECONDS} s, alternating two tenants. Once through a gateway whose response cache is off (every answer computed: cold partials cached, hot and warm tiers read), then through one with it on (nothing written meanwhile, so after each tenant's first answer every request is a hit).`,
      '',
      table(
        [
          'response cache',
          'requests/s (mean)',
          'p50 ms',
          'p95 ms (≈p97.5)',
          'p99 ms',
          'responses checked',
          'errors',
          'cross-tenant rows',
        ],
        [
          ['off', ...uncached.cells],
          ['on', ...cached.cells],
        ],
      ),
      '',
      'autocannon reports p97.5, not p95; it is shown as the upper bound of p95.',
    ].join('\n');
    console.log(report);
    await writeSection('Gateway under load (`npm run bench:gateway`)', report);
    if (uncached.failures + cached.failures > 0) process.exitCode = 1;
  } finally {
    // Services first, so no connection of theirs sees the database go away.
    await stopChildren(children);
    await pool.end();
    await rm(lake, { recursive: true, force: true });
    await db.close();
  }
}

await main();
