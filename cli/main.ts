// `tidemark` — the ops CLI. One entry point for running, migrating, seeding, tenants,
// dev tokens and tiering. Unknown commands and bad flags print usage and exit 2.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, loadConfig, type Config } from '../core/config.ts';
import { createLogger, type Logger } from '../core/logger.ts';
import { ROLES, type Role } from '../core/signedContext.ts';
import { issueToken, jwtSettings } from '../gateway/auth/jwt.ts';
import { addTenant } from '../hot/admin.ts';
import { migrate, UnmigratedDatabaseError } from '../hot/migrate.ts';
import { seedDemo } from '../embedded/demoSeed.ts';
import { runTierPass } from '../tiering/tierPass.ts';
import { openSystem, operatorUrl } from './system.ts';
import { SERVICES, startAll, type Service } from './start.ts';

export const USAGE = `usage: tidemark <command> [options]

commands:
  start                         run everything: PostgreSQL (embedded unless DATABASE_URL),
                                OLTP :4001, OLAP :4002, gateway :4000, tiering schedule
  serve <oltp|olap|gateway|tiering>
                                run one service (for containers)
  migrate                       apply database migrations
  seed                          load the demo tenants and data (if no tenant exists)
  tenant add <id> --time-zone <IANA> [--name <name>] [--hot-days <n>]
  token --tenant <id> [--role viewer|ingest|admin] [--ttl <30d|12h|...>] [--subject <s>]
                                print a JWT the gateway accepts
  tier [--dry-run]              run one tiering pass now
  help                          this text

configuration comes from environment variables; see README.md.`;

export class UsageError extends Error {}

interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

function parse(args: string[], options: ParseArgsConfig['options'], positionals = 0): Parsed {
  let parsed: Parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: positionals > 0, strict: true });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  if (parsed.positionals.length > positionals) {
    throw new UsageError(`unexpected argument: ${parsed.positionals[positionals]}`);
  }
  return parsed;
}

function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer`);
  return n;
}

async function withOperatorDatabase<T>(
  config: Config,
  log: Logger,
  fn: (url: string) => Promise<T>,
): Promise<T> {
  const { url, embedded } = await operatorUrl(config, log);
  try {
    return await fn(url);
  } finally {
    await embedded?.stop();
  }
}

export async function run(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL, 'tidemark');
  switch (command) {
    case 'start': {
      parse(rest, {});
      await startAll(config, log);
      return -1; // keeps running
    }
    case 'serve': {
      const { positionals } = parse(rest, {}, 1);
      const service = positionals[0];
      if (!SERVICES.includes(service as Service)) {
        throw new UsageError(`serve needs one of: ${SERVICES.join(', ')}`);
      }
      await startAll(config, log, { only: service as Service });
      return -1;
    }
    case 'migrate': {
      parse(rest, {});
      const applied = await withOperatorDatabase(config, log, (url) =>
        migrate(url, config.APP_DB_PASSWORD),
      );
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
      return 0;
    }
    case 'seed': {
      parse(rest, {});
      const system = await openSystem(config, log, config.isEmbeddedPostgres ? 'apply' : 'require');
      try {
        const rows = await seedDemo(system.dbs.operator);
        console.log(rows ? `seeded ${rows} observations` : 'tenants exist already; nothing seeded');
      } finally {
        await system.close();
      }
      return 0;
    }
    case 'tenant': {
      const { values, positionals } = parse(
        rest,
        {
          'time-zone': { type: 'string' },
          name: { type: 'string' },
          'hot-days': { type: 'string' },
        },
        2,
      );
      if (positionals[0] !== 'add' || !positionals[1])
        throw new UsageError('usage: tenant add <id> --time-zone <IANA>');
      if (!values['time-zone']) throw new UsageError('tenant add needs --time-zone <IANA zone>');
      const hotDays = positiveInt(values['hot-days'] as string | undefined, '--hot-days');
      const system = await openSystem(config, log, config.isEmbeddedPostgres ? 'apply' : 'require');
      try {
        await addTenant(system.dbs.operator, {
          id: positionals[1],
          timeZone: values['time-zone'] as string,
          name: values.name as string | undefined,
          hotDays,
        });
        console.log(`tenant ${positionals[1]} added`);
      } finally {
        await system.close();
      }
      return 0;
    }
    case 'token': {
      const { values } = parse(rest, {
        tenant: { type: 'string' },
        role: { type: 'string', default: 'viewer' },
        ttl: { type: 'string', default: '30d' },
        subject: { type: 'string' },
      });
      if (!values.tenant) throw new UsageError('token needs --tenant <id>');
      const role = values.role as string;
      if (!ROLES.includes(role as Role))
        throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
      const ttl = values.ttl as string;
      if (!/^\d+[smhdw]$/.test(ttl)) throw new UsageError('--ttl must look like 30d, 12h, 15m');
      const token = await issueToken(
        jwtSettings(config),
        {
          tenantId: values.tenant as string,
          subject: (values.subject as string) ?? `dev@${values.tenant}`,
          roles: [role as Role],
        },
        ttl,
      );
      console.log(token);
      return 0;
    }
    case 'tier': {
      const { values } = parse(rest, { 'dry-run': { type: 'boolean', default: false } });
      const system = await openSystem(config, log, config.isEmbeddedPostgres ? 'apply' : 'require');
      try {
        const result = await runTierPass(system.tierDeps, { dryRun: values['dry-run'] as boolean });
        if (result.status === 'locked') {
          console.error('another tiering pass is running; try again when it has finished');
          return 3;
        }
        const rows = result.days.reduce((n, d) => n + d.rows, 0);
        const verb = result.dryRun ? 'would move' : 'moved';
        console.log(
          `${verb} ${rows} rows in ${result.days.length} day(s) older than ${result.cutoffDay ?? '(no tenants)'}`,
        );
        for (const d of result.days) console.log(`  ${d.day} ${d.source.padEnd(9)} ${d.rows} rows`);
        return 0;
      } finally {
        await system.close();
      }
    }
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return 0;
    default:
      throw new UsageError(command ? `unknown command: ${command}` : 'no command given');
  }
}

export async function main(argv: string[]): Promise<void> {
  try {
    const code = await run(argv);
    if (code >= 0) process.exit(code);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`tidemark: ${err.message}\n\n${USAGE}`);
      process.exit(2);
    }
    if (err instanceof ConfigError || err instanceof UnmigratedDatabaseError) {
      console.error(`tidemark: ${err.message}`);
      process.exit(1);
    }
    if (err instanceof Error && 'extensions' in err) {
      console.error(`tidemark: ${err.message}`);
      process.exit(1);
    }
    console.error('tidemark: failed:', err);
    process.exit(1);
  }
}
