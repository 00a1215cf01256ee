// `tidemark start` (everything in one process, embedded default) and
// `tidemark serve <service>` (one service, as containers run it).
import type { Config } from '../core/config.ts';
import type { RunningServer } from '../core/httpServer.ts';
import type { Logger } from '../core/logger.ts';
import { seedDemo } from '../embedded/demoSeed.ts';
import { issueToken } from '../gateway/auth/jwt.ts';
import { startGateway } from '../gateway/server.ts';
import { startOlapSubgraph } from '../subgraphs/olap/server.ts';
import { startOltpSubgraph } from '../subgraphs/oltp/server.ts';
import { runUpkeep, scheduleUpkeep } from '../tiering/scheduler.ts';
import { openSystem, type System } from './system.ts';

export type Service = 'oltp' | 'olap' | 'gateway' | 'tiering';
export const SERVICES: Service[] = ['oltp', 'olap', 'gateway', 'tiering'];

export async function startAll(
  config: Config,
  log: Logger,
  options: { only?: Service } = {},
): Promise<void> {
  const servers: RunningServer[] = [];
  let system: System | null = null;
  let stopUpkeep: (() => Promise<void>) | null = null;
  const wants = (s: Service): boolean => !options.only || options.only === s;

  const shutdown = async (signal: string): Promise<void> => {
    log.info({ signal }, 'shutting down');
    for (const s of servers.reverse())
      await s.close().catch((err: unknown) => log.error({ err }, 'close failed'));
    await stopUpkeep?.();
    await system?.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));

  if (wants('oltp') || wants('olap') || wants('tiering')) {
    system = await openSystem(config, log, config.isEmbeddedPostgres ? 'apply' : 'require');
    if (!options.only || options.only === 'tiering') {
      if (config.SEED_DEMO && !options.only) {
        const rows = await seedDemo(system.dbs.operator);
        if (rows > 0) log.info({ rows }, 'demo data seeded');
      }
      const pass = await runUpkeep(system.tierDeps);
      if (pass.status === 'done' && pass.days.length > 0) {
        log.info(
          { days: pass.days.length, rows: pass.days.reduce((n, d) => n + d.rows, 0) },
          'tiered to cold',
        );
      }
      stopUpkeep = scheduleUpkeep(system.tierDeps, config.TIER_INTERVAL_SECONDS, log, {
        keepAlive: options.only === 'tiering',
      });
    }
  }
  if (wants('oltp'))
    servers.push(await startOltpSubgraph(config, system!.dbs, log.child({ service: 'oltp' })));
  if (wants('olap'))
    servers.push(
      await startOlapSubgraph(config, system!.dbs, system!.engine, log.child({ service: 'olap' })),
    );
  if (wants('gateway'))
    servers.push(await startGateway({ config, log: log.child({ service: 'gateway' }) }));

  if (!options.only && system) await printBanner(config, system, servers);
}

async function printBanner(
  config: Config,
  system: System,
  servers: RunningServer[],
): Promise<void> {
  const [oltp, olap, gateway] = servers;
  const { rows } = await system.dbs.operator.query<{ id: string; time_zone: string }>(
    'SELECT id, time_zone FROM tenants ORDER BY id',
  );
  const settings = {
    secret: config.JWT_SECRET,
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
  };
  const lines = [
    '',
    'tidemark is running',
    `  gateway   ${gateway!.url}/graphql   (Apollo Sandbox: open it in a browser)`,
    `  oltp      ${oltp!.url}/graphql   (signed gateway context required)`,
    `  olap      ${olap!.url}/graphql   (signed gateway context required)`,
    `  postgres  ${system.embedded ? 'embedded, ' + system.embedded.dataDir : 'DATABASE_URL'}`,
    `  cold      DuckDB over ${config.lakeDir}`,
    '',
    'dev tokens (send as  Authorization: Bearer <token>):',
  ];
  for (const t of rows) {
    const token = await issueToken(
      settings,
      { tenantId: t.id, subject: `dev@${t.id}`, roles: ['admin'] },
      '30d',
    );
    lines.push(`  ${t.id} (${t.time_zone}, admin):`, `    ${token}`);
  }
  console.log(lines.join('\n'));
}
