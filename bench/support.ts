// What every benchmark shares: a database of its own, the machine's description,
// child-process services and the results file.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { ensureHotCatalog, TrinoEngine, type TrinoEngineOptions } from '../cold/trino.ts';
import { createLogger } from '../core/logger.ts';
import { SERVICE_NODE_FLAGS } from '../core/nodeFlags.ts';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../embedded/postgres.ts';
import { migrate } from '../hot/migrate.ts';

export const RESULTS = path.resolve('bench/RESULTS.md');

export interface BenchDatabase {
  url: string;
  server: string;
  close(): Promise<void>;
}

export interface BenchServer {
  server: string;
  /** Drops and creates a migrated database; returns its URL. */
  createDatabase(name: string): Promise<string>;
  close(): Promise<void>;
}

/** BENCH_DATABASE_URL (a server; fresh databases are created on it) or an embedded server. */
export async function openBenchServer(): Promise<BenchServer> {
  let admin = process.env.BENCH_DATABASE_URL;
  let embedded: EmbeddedDatabase | null = null;
  if (!admin) {
    embedded = await startEmbeddedPostgres({
      home: path.resolve('.tidemark'),
      name: 'bench-pg',
      port: 54339,
      database: 'postgres',
      log: createLogger('warn'),
    });
    admin = embedded.url;
  }
  const adminUrl = admin;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  const { rows } = await client.query<{ v: string }>(
    'SELECT current_setting($$server_version$$) AS v',
  );
  await client.end();
  return {
    server: `PostgreSQL ${rows[0]!.v} (${embedded ? 'embedded, default settings' : 'BENCH_DATABASE_URL'})`,
    async createDatabase(name) {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await c.query(`CREATE DATABASE ${name}`);
      } finally {
        await c.end();
      }
      const u = new URL(adminUrl);
      u.pathname = `/${name}`;
      await migrate(u.toString(), 'tidemark_app');
      return u.toString();
    },
    close: async () => {
      await embedded?.stop();
    },
  };
}

/** One fresh, migrated database on the bench server. */
export async function openBenchDatabase(name: string): Promise<BenchDatabase> {
  const server = await openBenchServer();
  return { url: await server.createDatabase(name), server: server.server, close: server.close };
}

export function machine(): string {
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `${os.cpus().length} cores (${cpu}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

export function commit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * Trino engine options for one bench database: its Iceberg table emptied from earlier
 * runs and a fresh Trino catalog over the database, for tiering to read through.
 */
export async function freshTrinoTarget(
  trinoUrl: string,
  name: string,
  databaseUrl: string,
): Promise<TrinoEngineOptions> {
  const options = {
    url: trinoUrl,
    user: 'tidemark',
    catalog: 'iceberg',
    schema: name,
    hotCatalog: `hot_${name}`,
  };
  const trino = TrinoEngine.connect(options);
  await trino.rows(`DROP TABLE IF EXISTS iceberg.${options.schema}.observations`);
  await trino.rows(`DROP CATALOG IF EXISTS ${options.hotCatalog}`);
  await ensureHotCatalog(trino, options.hotCatalog, databaseUrl);
  return options;
}

/** Free ports for the three services and the environment that wires them together. */
export async function serviceEnv(
  databaseUrl: string,
  lakeDir: string,
): Promise<{
  ports: { oltp: number; olap: number; gateway: number };
  env: Record<string, string>;
}> {
  const ports = { oltp: await freePort(), olap: await freePort(), gateway: await freePort() };
  return {
    ports,
    env: {
      DATABASE_URL: databaseUrl,
      LAKE_DIR: lakeDir,
      OLTP_PORT: String(ports.oltp),
      OLAP_PORT: String(ports.olap),
      GATEWAY_PORT: String(ports.gateway),
      OLTP_URL: `http://127.0.0.1:${ports.oltp}/graphql`,
      OLAP_URL: `http://127.0.0.1:${ports.olap}/graphql`,
      RATE_LIMIT_QUERY_PER_SECOND: '100000',
      TIER_INTERVAL_SECONDS: '0',
    },
  };
}

/** Runs `tidemark serve <service>` as a child and waits until it answers /health. */
export async function serveChild(
  service: string,
  port: number,
  env: Record<string, string>,
): Promise<ChildProcess> {
  // BENCH_CPU_PROF=<dir> writes V8 CPU profiles of each service's threads into <dir>/<service>
  // (NODE_OPTIONS refuses --cpu-prof).
  const prof = process.env.BENCH_CPU_PROF;
  const flags = prof ? ['--cpu-prof', `--cpu-prof-dir=${path.join(prof, service)}`] : [];
  // As `npm start` and the Dockerfile run them (core/nodeFlags.ts).
  const node = [...SERVICE_NODE_FLAGS, ...flags];
  const child = spawn(process.execPath, [...node, 'bin/tidemark.mjs', 'serve', service], {
    env: { ...process.env, LOG_LEVEL: 'warn', TIDEMARK_ENV: 'test', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let i = 0; i < 150; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return child;
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill();
  throw new Error(`${service} did not start`);
}

/**
 * A bare node:http server in a child process that answers every request with `bytes`
 * (application/json): the floor for sending an answer of that size to the bench client.
 */
export async function serveBytesChild(
  bytes: Buffer,
): Promise<{ url: string; child: ChildProcess }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tidemark-bytes-'));
  const file = path.join(dir, 'answer.json');
  await writeFile(file, bytes);
  const port = await freePort();
  const script = `
    const body = require('node:fs').readFileSync(process.env.FILE);
    require('node:http').createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(body));
    }).listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('ready'));`;
  const child = spawn(process.execPath, ['-e', script], {
    env: { ...process.env, FILE: file, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the bytes server exited (${code})`)));
  });
  await rm(dir, { recursive: true, force: true });
  return { url: `http://127.0.0.1:${port}/`, child };
}

/**
 * Stops services last-started first, each after the previous has exited: the gateway
 * flushes its audit batches to the OLTP subgraph while that is still up.
 */
export async function stopChildren(children: ChildProcess[]): Promise<void> {
  for (const c of [...children].reverse()) {
    await new Promise<void>((resolve) =>
      c.exitCode !== null ? resolve() : (c.once('exit', () => resolve()), c.kill()),
    );
  }
}

/** Replaces (or adds) one section of bench/RESULTS.md, keeping the others. */
export async function writeSection(title: string, body: string): Promise<void> {
  let text = '';
  try {
    text = await readFile(RESULTS, 'utf8');
  } catch {
    text =
      '# Benchmark results\n\nWritten by `npm run bench`; each section is replaced by its benchmark’s latest run.\n';
  }
  const heading = `## ${title}`;
  const start = text.indexOf(heading);
  if (start >= 0) {
    const next = text.indexOf('\n## ', start + heading.length);
    text = text.slice(0, start) + text.slice(next >= 0 ? next + 1 : text.length);
  }
  text = text.trimEnd() + `\n\n${heading}\n\n${body.trim()}\n`;
  await writeFile(RESULTS, text);
}

export const appendLine = (line: string): Promise<void> => appendFile(RESULTS, `${line}\n`);

export function table(header: string[], rows: (string | number)[][]): string {
  const lines = [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`];
  for (const r of rows) lines.push(`| ${r.join(' | ')} |`);
  return lines.join('\n');
}
