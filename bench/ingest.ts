// bench:ingest — one table, one machine, one run: raw COPY (psql \copy, the limit),
// single-row INSERT autocommit (the seed's pattern), tidemark's bulk NDJSON endpoint
// through the gateway, and the GraphQL ingest mutation in batches of 5,000.
// Each method starts from an empty observations table. Services run as separate
// processes, as they would in production.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { finished, pipeline } from 'node:stream/promises';
import pg from 'pg';
import { loadConfig } from '../core/config.ts';
import { CONTEXT_HEADER, signContext } from '../core/signedContext.ts';
import { issueToken, jwtSettings } from '../gateway/auth/jwt.ts';
import { addTenant, defineAttributes, upsertEntities } from '../hot/admin.ts';
import { PartitionManager, addUtcDays, utcDay } from '../hot/partitions.ts';
import {
  commit,
  freePort,
  machine,
  openBenchDatabase,
  serveChild,
  stopChildren,
  table,
  writeSection,
} from './support.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const INSERT_ROWS = Number(process.env.BENCH_INSERT_ROWS ?? 10_000);
const MUTATION_ROWS = Number(process.env.BENCH_MUTATION_ROWS ?? 200_000);
const BATCH = 5_000;
const ENTITIES = 1_000;
const NOW = Date.now();
const BASE = Date.parse(`${addUtcDays(utcDay(NOW), -2)}T00:00:00Z`);

const tsOf = (i: number): number => BASE + Math.floor(i / ENTITIES) * 1000;
const entityOf = (i: number): number => i % ENTITIES;
const valueOf = (i: number): number => Math.round(Math.sin(i) * 1e6) / 1000;

async function writeLines(file: string, n: number, line: (i: number) => string): Promise<void> {
  const out = createWriteStream(file);
  let chunk = '';
  for (let i = 0; i < n; i++) {
    chunk += line(i);
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      chunk = '';
    }
  }
  out.end(chunk);
  await finished(out);
}

/** The text of the answer to `req`, once `send` has written its body. */
async function answerText(req: http.ClientRequest, send: () => Promise<void>): Promise<string> {
  const response = new Promise<http.IncomingMessage>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
  });
  await send();
  const chunks: Buffer[] = [];
  for await (const chunk of await response) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

/** Streams a file as the body of a POST (plain Node streams, as a lean client would). */
async function upload(
  url: string,
  file: string,
  headers: Record<string, string>,
): Promise<{ accepted: number }> {
  const req = http.request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson', ...headers },
  });
  const text = await answerText(req, () => pipeline(createReadStream(file), req));
  return JSON.parse(text) as { accepted: number };
}

/** POSTs a JSON body and returns the answer's text (plain node:http, kept-alive). */
function postJson(
  url: string,
  body: string,
  headers: Record<string, string>,
  agent: http.Agent,
): Promise<string> {
  const req = http.request(url, {
    method: 'POST',
    agent,
    headers: { 'content-type': 'application/json', ...headers },
  });
  return answerText(req, async () => void req.end(body));
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function main(): Promise<void> {
  const db = await openBenchDatabase('tidemark_bench_ingest');
  const work = await mkdtemp(path.join(os.tmpdir(), 'tm-bench-'));
  const children: ChildProcess[] = [];
  const operator = new pg.Pool({ connectionString: db.url, max: 2 });
  try {
    await new PartitionManager(operator).ensure(addUtcDays(utcDay(NOW), -7), NOW);
    await addTenant(operator, { id: 'bench', timeZone: 'UTC' });
    const attributes = await defineAttributes(operator, 'bench', [{ name: 'v', type: 'number' }]);
    const ids = Array.from({ length: ENTITIES }, (_, i) => `dev-${i}`);
    const keys = await upsertEntities(
      operator,
      'bench',
      ids.map((id) => ({ id, kind: 'device' })),
    );
    const attributeKey = attributes.get('v')!;
    const entityKeys = ids.map((id) => keys.get(id)!);
    const count = async (): Promise<number> =>
      (await operator.query<{ n: number }>('SELECT count(*) AS n FROM observations')).rows[0]!.n;
    const reset = async (): Promise<void> => {
      await operator.query('TRUNCATE observations');
      await operator.query('VACUUM ANALYZE observations');
    };

    const csv = path.join(work, 'rows.csv');
    const ndjson = path.join(work, 'rows.ndjson');
    await writeLines(
      csv,
      ROWS,
      (i) =>
        `bench,${attributeKey},${entityKeys[entityOf(i)]},${new Date(tsOf(i)).toISOString()},${valueOf(i)}\n`,
    );
    await writeLines(
      ndjson,
      ROWS,
      (i) =>
        `{"entity":"${ids[entityOf(i)]}","attribute":"v","ts":"${new Date(tsOf(i)).toISOString()}","value":${valueOf(i)}}\n`,
    );

    const results: { method: string; rows: number; seconds: number }[] = [];
    const record = async (
      method: string,
      rows: number,
      fn: () => Promise<unknown>,
    ): Promise<void> => {
      await reset();
      const seconds = await timed(fn);
      const stored = await count();
      if (stored !== rows) throw new Error(`${method}: stored ${stored} rows, expected ${rows}`);
      results.push({ method, rows, seconds });
      console.error(
        `${method}: ${rows} rows in ${seconds.toFixed(2)} s = ${Math.round(rows / seconds)} rows/s`,
      );
    };

    // 1. The limit: psql's \copy of the same rows into the same table.
    await record('raw COPY (psql \\copy)', ROWS, async () => {
      execFileSync('psql', [
        db.url,
        '-q',
        '-c',
        `\\copy observations (tenant_id, attribute_key, entity_key, ts, num) FROM '${csv}' CSV`,
      ]);
    });

    // 2. The seed's pattern: one INSERT per row, autocommit, as the application role.
    await record('single-row INSERT, autocommit', INSERT_ROWS, async () => {
      const app = new pg.Client({
        connectionString: db.url.replace(/\/\/[^@]+@/, '//tidemark_app:tidemark_app@'),
      });
      await app.connect();
      await app.query(`SET app.tenant_id = 'bench'`);
      for (let i = 0; i < INSERT_ROWS; i++) {
        await app.query(
          'INSERT INTO observations (tenant_id, attribute_key, entity_key, ts, num) VALUES ($1, $2, $3, $4, $5)',
          ['bench', attributeKey, entityKeys[entityOf(i)], new Date(tsOf(i)), valueOf(i)],
        );
      }
      await app.end();
    });

    // 3 and 4 go through real services: OLTP and gateway as separate processes.
    const [oltpPort, gatewayPort] = [await freePort(), await freePort()];
    const env = {
      DATABASE_URL: db.url,
      OLTP_PORT: String(oltpPort),
      GATEWAY_PORT: String(gatewayPort),
      OLTP_URL: `http://127.0.0.1:${oltpPort}/graphql`,
      OLAP_URL: 'http://127.0.0.1:9/graphql',
      GRAPHQL_MAX_BODY_BYTES: String(64 << 20),
    };
    children.push(await serveChild('oltp', oltpPort, env));
    children.push(await serveChild('gateway', gatewayPort, env));
    const config = loadConfig({});
    const token = await issueToken(jwtSettings(config), {
      tenantId: 'bench',
      subject: 'bench',
      roles: ['ingest'],
    });

    await record('tidemark bulk NDJSON via gateway', ROWS, async () => {
      const summary = await upload(`http://127.0.0.1:${gatewayPort}/v1/ingest`, ndjson, {
        authorization: `Bearer ${token}`,
      });
      if (summary.accepted !== ROWS)
        throw new Error(`bulk: ${JSON.stringify(summary).slice(0, 300)}`);
    });

    // Diagnostic: the same upload straight to the OLTP subgraph, to show the gateway's share.
    await record('tidemark bulk NDJSON, OLTP directly', ROWS, async () => {
      const summary = await upload(`http://127.0.0.1:${oltpPort}/v1/ingest`, ndjson, {
        [CONTEXT_HEADER]: signContext(
          { tenantId: 'bench', subject: 'bench', roles: ['ingest'], requestId: 'bench' },
          config.CONTEXT_SECRET,
          60,
        ),
      });
      if (summary.accepted !== ROWS)
        throw new Error(`bulk direct: ${JSON.stringify(summary).slice(0, 300)}`);
    });

    // The mutation, one request at a time and with two in flight (a collector that
    // sends its next batch before the previous answer is back). The request bodies are
    // built before the clock starts, as the files of the COPY and bulk rows are: the
    // run measures tidemark taking batches, not the bench making them.
    const query =
      'mutation($rows: [ObservationInput!]!) { ingest(observations: $rows) { accepted rejectedCount } }';
    const bodies: { body: string; rows: number }[] = [];
    for (let start = 0; start < MUTATION_ROWS; start += BATCH) {
      const rows = Array.from({ length: Math.min(BATCH, MUTATION_ROWS - start) }, (_, j) => {
        const i = start + j;
        return {
          entity: ids[entityOf(i)],
          attribute: 'v',
          ts: new Date(tsOf(i)).toISOString(),
          value: valueOf(i),
        };
      });
      bodies.push({ body: JSON.stringify({ query, variables: { rows } }), rows: rows.length });
    }
    const agent = new http.Agent({ keepAlive: true });
    const sendBatch = async (
      url: string,
      headers: Record<string, string>,
      batch: { body: string; rows: number },
    ): Promise<void> => {
      const answer = await postJson(url, batch.body, headers, agent);
      const body = JSON.parse(answer) as { data?: { ingest: { accepted: number } } };
      if (body.data?.ingest.accepted !== batch.rows)
        throw new Error(`mutation: ${answer.slice(0, 300)}`);
    };
    const viaGateway = {
      url: `http://127.0.0.1:${gatewayPort}/graphql`,
      headers: () => ({ authorization: `Bearer ${token}` }),
    };
    const direct = {
      url: `http://127.0.0.1:${oltpPort}/graphql`,
      headers: () => ({
        [CONTEXT_HEADER]: signContext(
          { tenantId: 'bench', subject: 'bench', roles: ['ingest'], requestId: 'bench' },
          config.CONTEXT_SECRET,
          60,
        ),
      }),
    };
    for (const [inFlight, target, label] of [
      [1, viaGateway, ''],
      [2, viaGateway, ', 2 in flight'],
      // Diagnostic, as for the bulk path: the gateway's share of one batch at a time.
      [1, direct, ', OLTP directly'],
    ] as const) {
      const method = `tidemark GraphQL ingest, batches of ${BATCH}${label}`;
      await record(method, MUTATION_ROWS, async () => {
        let next = 0;
        await Promise.all(
          Array.from({ length: inFlight }, async () => {
            while (next < bodies.length) {
              const batch = bodies[next++]!;
              await sendBatch(target.url, target.headers(), batch);
            }
          }),
        );
      });
    }
    agent.destroy();

    const copyRate = results[0]!.rows / results[0]!.seconds;
    const rows = results.map((r) => {
      const rate = r.rows / r.seconds;
      return [
        r.method,
        r.rows.toLocaleString('en-US'),
        r.seconds.toFixed(2),
        Math.round(rate).toLocaleString('en-US'),
        `${(rate / copyRate).toFixed(2)}×`,
      ];
    });
    const report = [
      `${new Date().toISOString().slice(0, 10)} · commit ${commit()} · ${machine()} · ${db.server}`,
      '',
      `Table: observations (daily partitions, primary key (tenant, attribute, entity, ts), RLS); ${ENTITIES} entities, one number attribute; each method starts from an empty table. Services run as separate processes (gateway, OLTP, PostgreSQL) on the same 2 cores as the client. Every method reads rows made before its clock starts: a CSV file (COPY), an NDJSON file (bulk), request bodies of 5,000 rows (mutation). The rows marked “directly” skip the gateway, to show its share.`,
      '',
      table(['method', 'rows', 'seconds', 'rows/s', 'vs raw COPY'], rows),
      '',
      'Targets (issue 3): bulk ≥ 150,000 rows/s and ≥ 0.6× raw COPY; mutation ≥ 40,000 rows/s.',
    ].join('\n');
    console.log(report);
    await writeSection('Ingest (`npm run bench:ingest`)', report);
  } finally {
    await stopChildren(children);
    await operator.end();
    await rm(work, { recursive: true, force: true });
    await db.close();
  }
}

await main();
