// kill -9 of the OLTP process in the middle of a bulk upload: nothing an earlier
// completed upload reported as accepted is lost, nothing of the interrupted upload
// is half-stored, and its retry with the same key completes it exactly once.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.ts';
import { createLogger } from '../../core/logger.ts';
import type { RunningServer } from '../../core/httpServer.ts';
import { issueToken, jwtSettings } from '../../gateway/auth/jwt.ts';
import { startGateway } from '../../gateway/server.ts';
import { addTenant, defineAttributes, upsertEntities } from '../../hot/admin.ts';
import { PartitionManager, addUtcDays, utcDay } from '../../hot/partitions.ts';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.ts';

const NOW = Date.now();

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function line(i: number, batch: string): string {
  return JSON.stringify({
    entity: batch,
    attribute: 'v',
    ts: new Date(NOW - 86_400_000 + i * 1000).toISOString(),
    value: i,
  });
}

describe('a kill -9 of the OLTP process during a bulk upload', () => {
  let db: TestDatabase;
  let gateway: RunningServer;
  let oltp: ChildProcess | null = null;
  let port: number;
  let token: string;

  async function startOltp(): Promise<void> {
    oltp = spawn(process.execPath, ['bin/tidemark.mjs', 'serve', 'oltp'], {
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        OLTP_PORT: String(port),
        LOG_LEVEL: 'silent',
        TIDEMARK_ENV: 'test',
      },
      stdio: 'ignore',
    });
    for (let i = 0; i < 100; i++) {
      const ok = await fetch(`http://127.0.0.1:${port}/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error('OLTP child did not become ready');
  }

  const upload = (body: RequestInit['body'], key: string): Promise<Response> =>
    fetch(`${gateway.url}/v1/ingest`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'idempotency-key': key,
        'content-type': 'application/x-ndjson',
      },
      body,
      duplex: 'half',
    } as RequestInit);

  const countOf = async (entity: string): Promise<number> =>
    (
      await db.dbs.operator.query<{ n: number }>(
        `SELECT count(*) AS n FROM observations o JOIN entities e ON e.tenant_id = o.tenant_id AND e.entity_key = o.entity_key WHERE e.id = $1`,
        [entity],
      )
    ).rows[0]!.n;

  beforeAll(async () => {
    db = await createTestDatabase();
    await new PartitionManager(db.dbs.operator).ensure(addUtcDays(utcDay(NOW), -2), NOW);
    await addTenant(db.dbs.operator, { id: 'k', timeZone: 'UTC' });
    await defineAttributes(db.dbs.operator, 'k', [{ name: 'v', type: 'number' }]);
    await upsertEntities(db.dbs.operator, 'k', [
      { id: 'first', kind: 'x' },
      { id: 'second', kind: 'x' },
    ]);
    port = await freePort();
    await startOltp();
    const config = loadConfig({ TIDEMARK_ENV: 'test', LOG_LEVEL: 'silent', DATABASE_URL: db.url });
    gateway = await startGateway({
      config,
      log: createLogger('silent'),
      port: 0,
      subgraphUrls: {
        oltp: `http://127.0.0.1:${port}/graphql`,
        olap: 'http://127.0.0.1:9/graphql',
      },
    });
    token = await issueToken(jwtSettings(config), {
      tenantId: 'k',
      subject: 't',
      roles: ['ingest'],
    });
  });
  afterAll(async () => {
    oltp?.kill('SIGKILL');
    await gateway?.close();
    await db?.drop();
  });

  it('keeps every accepted row, stores none of the interrupted upload, and its retry completes once', async () => {
    const first = await (
      await upload(Array.from({ length: 5000 }, (_, i) => line(i, 'first')).join('\n'), 'first')
    ).json();
    expect(first).toMatchObject({ accepted: 5000 });

    const SECOND = 40_000;
    let sent = 0;
    const slow = Readable.from(
      (async function* () {
        for (let i = 0; i < SECOND; i += 1000) {
          yield Array.from({ length: 1000 }, (_, j) => line(i + j, 'second')).join('\n') + '\n';
          sent += 1000;
          await new Promise((r) => setTimeout(r, 50));
        }
      })(),
    );
    const pending = upload(Readable.toWeb(slow) as ReadableStream, 'second');
    while (sent < 10_000) await new Promise((r) => setTimeout(r, 20));
    oltp!.kill('SIGKILL');
    const interrupted = await pending;
    expect(interrupted.status).toBe(503);
    expect(
      ((await interrupted.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!
        .extensions.code,
    ).toBe('TIER_UNAVAILABLE');

    await startOltp();
    expect(await countOf('first')).toBe(5000);
    expect(await countOf('second')).toBe(0);

    const body = Array.from({ length: SECOND }, (_, i) => line(i, 'second')).join('\n');
    const retry = await (await upload(body, 'second')).json();
    expect(retry).toMatchObject({ accepted: SECOND, duplicates: 0, replayed: false });
    const again = await (await upload(body, 'second')).json();
    expect(again).toMatchObject({ accepted: SECOND, replayed: true });
    expect(await countOf('second')).toBe(SECOND);
    expect(await countOf('first')).toBe(5000);
  });
});
