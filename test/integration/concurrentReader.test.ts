// Readers that run while a tiering pass moves rows see each row exactly once: every
// answer's total count equals the reference, at every step of the pass.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.ts';
import type { ColdEngine } from '../../cold/engine.ts';
import { ENGINE_UNDER_TEST, openTestEngine, type TestEngine } from '../support/coldEngine.ts';
import { runTierPass } from '../../tiering/tierPass.ts';
import { TierRouter } from '../../subgraphs/olap/domain/tierRouter.ts';
import { createTenantDataset, insertRows, type Dataset } from '../support/fixtures.ts';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.ts';

const NOW = Date.parse('2026-11-20T12:00:00Z');
const DAY = 86_400_000;

describe(`a reader during a tiering pass (${ENGINE_UNDER_TEST})`, () => {
  let db: TestDatabase;
  let lake: string;
  let engine: ColdEngine;
  let opened: TestEngine;
  let dataset: Dataset;

  beforeAll(async () => {
    db = await createTestDatabase();
    lake = await mkdtemp(path.join(os.tmpdir(), 'tm-reader-'));
    opened = await openTestEngine(db, lake);
    engine = opened.engine;
    dataset = await createTenantDataset(db.dbs.operator, {
      tenantId: 'rd',
      timeZone: 'America/New_York',
      entities: 3,
      days: 25,
      rowsPerDay: 30,
      nowMs: NOW,
      seed: 77,
    });
    // Late rows waiting in the default partition move during the pass too.
    await insertRows(db.dbs.operator, dataset, [
      {
        tenantId: 'rd',
        attributeKey: dataset.attributeKey,
        entityKey: dataset.entityKeys.get('e-000')!,
        tsMs: NOW - 40 * DAY,
        value: 5,
      },
    ]);
  });
  afterAll(async () => {
    await opened.dispose();
    await db.drop();
    await rm(lake, { recursive: true, force: true });
  });

  it('never sees a row twice or misses one', async () => {
    const router = new TierRouter(db.dbs.app, engine, {
      maxPoints: 1_000_000,
      engineTimeoutMs: 30_000,
    });
    const args = {
      attribute: 'value',
      fromMs: NOW - 60 * DAY,
      toMs: NOW + DAY,
      bucket: 'MONTH' as const,
    };
    const total = dataset.rows.length;
    const read = async (): Promise<number> => {
      const series = await router.series('rd', dataset.entityIds, args);
      return series.reduce((n, s) => n + s!.points.reduce((m, p) => m + p.count, 0), 0);
    };
    expect(await read()).toBe(total);

    let done = false;
    const seen: number[] = [];
    const readers = Array.from({ length: 3 }, async () => {
      while (!done) seen.push(await read());
    });
    const pass = runTierPass(
      { pool: db.dbs.operator, engine, workDir: `${lake}-work`, log: createLogger('silent') },
      { nowMs: NOW, onStep: () => new Promise((r) => setTimeout(r, 15)) },
    ).finally(() => {
      done = true;
    });
    const result = await pass;
    await Promise.all(readers);
    expect(result.status === 'done' && result.days.length).toBeGreaterThan(15);
    expect(seen.length).toBeGreaterThan(20);
    expect(seen.filter((n) => n !== total)).toEqual([]);
    expect(await read()).toBe(total);
  });
});
