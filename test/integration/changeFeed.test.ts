// The change feed that the OLAP response cache keys on: every committed write that can
// change an answer moves its tenant's version (and only that tenant's, unless it may
// touch every tenant), a rolled-back write moves nothing, a write is seen as soon as
// it has committed, and a feed that lost its session moves every version once back.
// Day versions (the OLAP warm cache's keys) move only for rows inserted into their day.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.ts';
import { addTenant, defineAttributes, upsertEntities } from '../../hot/admin.ts';
import { CHANGE_FEED_APP, ChangeFeed } from '../../hot/changeFeed.ts';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.ts';

describe('the change feed', () => {
  let db: TestDatabase;
  let feed: ChangeFeed;
  let ts = Date.parse('2026-11-20T12:00:00Z');

  beforeAll(async () => {
    db = await createTestDatabase();
    for (const id of ['a', 'b']) {
      await addTenant(db.dbs.operator, { id, timeZone: 'UTC' });
      await defineAttributes(db.dbs.operator, id, [{ name: 'v', type: 'number' }]);
      await upsertEntities(db.dbs.operator, id, [{ id: 'e1', kind: 'pump' }]);
    }
    // As in production: the application role listens.
    // Reconnects after 500 ms: long enough to observe it away, short for the test.
    feed = new ChangeFeed(db.dbs.appUrl, createLogger('silent'), 500);
    await feed.start();
    expect(feed.listening).toBe(true);
  });
  afterAll(async () => {
    await feed?.stop();
    await db?.drop();
  });

  const versions = async () => ({ a: await feed.version('a'), b: await feed.version('b') });
  const insertObservation = (tenant: string, sql = db.dbs.operator) =>
    sql.query(
      `INSERT INTO observations (tenant_id, attribute_key, entity_key, ts, num)
       SELECT $1, a.attribute_key, e.entity_key, $2, 1
         FROM attributes a JOIN entities e USING (tenant_id)
        WHERE a.tenant_id = $1 AND a.name = 'v' AND e.id = 'e1'`,
      [tenant, new Date((ts += 1000))],
    );

  it("moves only the writer's version for its rows, entities, attributes, tenant row and cold files", async () => {
    const writes: [string, () => Promise<unknown>][] = [
      ['observation insert', () => insertObservation('a')],
      ['entity upsert', () => upsertEntities(db.dbs.operator, 'a', [{ id: 'e1', kind: 'valve' }])],
      ['attribute', () => defineAttributes(db.dbs.operator, 'a', [{ name: 'w', type: 'string' }])],
      ['tenant row', () => db.dbs.operator.query(`UPDATE tenants SET name = 'A' WHERE id = 'a'`)],
      [
        'cold file',
        () =>
          db.dbs.operator.query(
            `INSERT INTO cold_files (tenant_id, day, path, row_count, checksum, min_ts, max_ts, bytes, pass_id)
             VALUES ('a', '2026-10-01', 'x.parquet', 1, 'c', now(), now(), 1, 1)`,
          ),
      ],
    ];
    for (const [name, write] of writes) {
      const before = await versions();
      await write();
      const after = await versions();
      expect(after.a, name).not.toBe(before.a);
      expect(after.b, name).toBe(before.b);
    }
  });

  it('moves every version for the watermark and for deleted observations', async () => {
    for (const sql of [
      `UPDATE tier_watermark SET updated_at = now()`,
      `DELETE FROM observations WHERE tenant_id = 'b' AND ts < '2000-01-01'`,
    ]) {
      const before = await versions();
      await db.dbs.operator.query(sql);
      const after = await versions();
      expect(after.a, sql).not.toBe(before.a);
      expect(after.b, sql).not.toBe(before.b);
    }
  });

  it("moves a day's version only for rows inserted into that UTC day, and every day for other writes", async () => {
    const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`);
    const snapshot = async () => {
      const v = (await feed.dayVersions('a'))!;
      expect(v).not.toBeNull();
      const one = (iso: string) => v.of(day(iso), day(iso) + 86_400_000);
      return {
        d1: one('2026-11-01'),
        d2: one('2026-11-02'),
        both: v.of(day('2026-11-01'), day('2026-11-03')),
      };
    };
    const insertAt = (tenant: string, iso: string) =>
      db.dbs.operator.query(
        `INSERT INTO observations (tenant_id, attribute_key, entity_key, ts, num)
         SELECT $1, a.attribute_key, e.entity_key, $2, 1
           FROM attributes a JOIN entities e USING (tenant_id)
          WHERE a.tenant_id = $1 AND a.name = 'v' AND e.id = 'e1'`,
        [tenant, new Date(iso)],
      );

    // The last millisecond of 1 November (UTC) is that day's, not the next one's.
    let before = await snapshot();
    await insertAt('a', '2026-11-01T23:59:59.999Z');
    let after = await snapshot();
    expect(after.d1).not.toBe(before.d1);
    expect(after.d2).toBe(before.d2);
    expect(after.both).not.toBe(before.both);

    before = after;
    await insertAt('a', '2026-11-02T00:00:00Z');
    await insertAt('b', '2026-11-01T12:00:00Z'); // another tenant's rows: not ours
    after = await snapshot();
    expect(after.d1).toBe(before.d1);
    expect(after.d2).not.toBe(before.d2);

    // Writes that may touch any day: the tenant's registry, and deletions (every tenant).
    for (const write of [
      () => upsertEntities(db.dbs.operator, 'a', [{ id: 'e2', kind: 'pump' }]),
      () =>
        db.dbs.operator.query(
          `DELETE FROM observations WHERE tenant_id = 'b' AND ts < '2000-01-01'`,
        ),
    ]) {
      before = await snapshot();
      await write();
      after = await snapshot();
      expect(after.d1).not.toBe(before.d1);
      expect(after.d2).not.toBe(before.d2);
    }
  });

  it('moves nothing for a write that rolls back', async () => {
    const before = await versions();
    const client = await db.dbs.operator.connect();
    try {
      await client.query('BEGIN');
      await insertObservation('a', client as never);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    expect(await versions()).toEqual(before);
  });

  it('counts a write as soon as its commit has returned (read-your-writes)', async () => {
    for (let i = 0; i < 25; i++) {
      const before = await feed.version('b');
      await insertObservation('b');
      expect(await feed.version('b')).not.toBe(before);
    }
  });

  it('hands out no version while its session is gone, and new ones for every tenant once back', async () => {
    const before = await versions();
    const { rowCount } = await db.dbs.operator.query(
      `SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE application_name = $1`,
      [CHANGE_FEED_APP],
    );
    expect(rowCount).toBe(1); // and the session is gone (the call waits for it)
    expect(await feed.version('a')).toBeNull();
    expect(feed.listening).toBe(false);
    // A write nobody hears: the feed cannot tell which tenant it touched.
    await insertObservation('a');
    await expect.poll(() => feed.listening, { timeout: 5000 }).toBe(true);
    const after = await versions();
    expect(after.a).not.toBeNull();
    expect(after.a).not.toBe(before.a);
    expect(after.b).not.toBe(before.b);
  });

  it('never hands out a version that another feed (another instance) could hand out', async () => {
    const other = new ChangeFeed(db.dbs.appUrl, createLogger('silent'), 50);
    await other.start();
    try {
      const ours = new Set<string | null>();
      const theirs = new Set<string | null>();
      for (let i = 0; i < 3; i++) {
        ours.add(await feed.version('a'));
        theirs.add(await other.version('a'));
        await insertObservation('a');
      }
      expect([...ours].filter((v) => theirs.has(v))).toEqual([]);
    } finally {
      await other.stop();
    }
  });
});
