// The `tidemark` ops CLI as a user runs it: a child process with environment config.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { verifyBearer } from '../../gateway/auth/jwt.ts';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.ts';

const run = promisify(execFile);

async function tidemark(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['bin/tidemark.mjs', ...args], {
      env: { ...process.env, LOG_LEVEL: 'silent', ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('tidemark CLI', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db?.drop());

  it('prints usage and exits 2 on an unknown command or a bad flag', async () => {
    for (const args of [
      ['frobnicate'],
      ['tier', '--bogus'],
      ['token'],
      ['token', '--tenant', 'a', '--role', 'god'],
      [],
    ]) {
      const r = await tidemark(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain('usage: tidemark <command>');
    }
  });

  it('prints a token the gateway accepts', async () => {
    const r = await tidemark(['token', '--tenant', 'acme', '--role', 'ingest', '--ttl', '2h']);
    expect(r.code).toBe(0);
    const verified = await verifyBearer(
      {
        secret: 'tidemark-dev-secret-change-me-in-production!!',
        issuer: 'tidemark',
        audience: 'tidemark',
      },
      `Bearer ${r.stdout.trim()}`,
    );
    expect(verified).toEqual({ tenantId: 'acme', subject: 'dev@acme', roles: ['ingest'] });
  });

  it('adds a tenant, and refuses a time zone that is not IANA with a clear message', async () => {
    const ok = await tidemark(
      ['tenant', 'add', 'cli-co', '--time-zone', 'Asia/Kathmandu', '--hot-days', '3'],
      { DATABASE_URL: db.url },
    );
    expect(ok.stdout).toContain('tenant cli-co added');
    const { rows } = await db.dbs.operator.query(
      'SELECT time_zone, hot_days FROM tenants WHERE id = $1',
      ['cli-co'],
    );
    expect(rows).toEqual([{ time_zone: 'Asia/Kathmandu', hot_days: 3 }]);
    const bad = await tidemark(['tenant', 'add', 'bad-co', '--time-zone', 'Mars/Olympus'], {
      DATABASE_URL: db.url,
    });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('"Mars/Olympus" is not an IANA time zone');
  });

  it('refuses to serve from an unmigrated database, naming the fix', async () => {
    const name = `${db.name}_empty`;
    const admin = new pg.Client({ connectionString: inject('adminUrl') });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    try {
      const url = db.url.replace(`/${db.name}`, `/${name}`);
      const r = await tidemark(['serve', 'oltp'], { DATABASE_URL: url, OLTP_PORT: '0' });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/the database is not migrated .*run `npx tidemark migrate` first/);
      const migrated = await tidemark(['migrate'], { DATABASE_URL: url });
      expect(migrated.stdout).toContain('applied: 1764000000000_initial');
    } finally {
      await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
      await admin.end();
    }
  });

  it('dry-runs a tiering pass without moving anything', async () => {
    const r = await tidemark(['tier', '--dry-run'], { DATABASE_URL: db.url });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/would move 0 rows/);
  });
});
