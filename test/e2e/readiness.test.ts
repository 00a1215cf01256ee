// /health says a process is alive; /ready says its dependencies answer.
import { mkdir, rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack.ts';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.ts';

describe('health and readiness', () => {
  let db: TestDatabase;
  let stack: Stack;

  beforeAll(async () => {
    db = await createTestDatabase();
    stack = await startStack(db);
  });
  afterAll(async () => {
    await stack?.close();
    await db?.drop();
  });

  it('answers /health and /ready on every server', async () => {
    for (const server of [stack.gateway, stack.oltp, stack.olap]) {
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
      expect((await fetch(`${server.url}/ready`)).status).toBe(200);
    }
  });

  it('reports OLAP not ready, with the reason, while its lake is gone', async () => {
    const lake = stack.config.lakeDir;
    await rm(lake, { recursive: true, force: true });
    try {
      const res = await fetch(`${stack.olap.url}/ready`);
      expect(res.status).toBe(503);
      expect(((await res.json()) as { reason: string }).reason).toMatch(/ENOENT/);
      expect((await fetch(`${stack.olap.url}/health`)).status).toBe(200);
    } finally {
      await mkdir(lake, { recursive: true });
    }
    expect((await fetch(`${stack.olap.url}/ready`)).status).toBe(200);
  });
});
