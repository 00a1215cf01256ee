// Automatic persisted queries, and the safelist mode that runs only registered operations.
import { createHash } from 'node:crypto';
import { writeFile, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../core/httpServer.ts';
import { createTenantDataset } from '../support/fixtures.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.ts';

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const LISTED = 'query Listed { tenant { id } }';

describe('persisted queries', () => {
  let db: TestDatabase;
  let stack: Stack;
  let token: string;
  let safelisted: RunningServer;

  beforeAll(async () => {
    db = await createTestDatabase();
    stack = await startStack(db);
    await createTenantDataset(db.dbs.operator, {
      tenantId: 'pq',
      timeZone: 'UTC',
      entities: 1,
      days: 2,
      rowsPerDay: 2,
      nowMs: Date.now(),
      seed: 1,
    });
    token = await stack.token('pq');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tm-safelist-'));
    const manifest = path.join(dir, 'persisted-query-manifest.json');
    await writeFile(
      manifest,
      JSON.stringify({
        format: 'apollo-persisted-query-manifest',
        version: 1,
        operations: [{ id: sha256(LISTED), name: 'Listed', type: 'query', body: LISTED }],
      }),
    );
    safelisted = await stack.extraGateway({ SAFELIST_FILE: manifest });
  });
  afterAll(async () => {
    await safelisted?.close();
    await stack?.close();
    await db?.drop();
  });

  const send = async (
    url: string,
    body: object,
  ): Promise<{ data?: unknown; errors?: { extensions: { code: string } }[] }> => {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    return (await res.json()) as never;
  };
  const apq = (query: string) => ({ persistedQuery: { version: 1, sha256Hash: sha256(query) } });

  it('runs a query by its hash once the gateway has seen it (APQ)', async () => {
    const query = 'query Apq { tenant { id timeZone } }';
    const unknown = await send(stack.gateway.url, { extensions: apq(query) });
    expect(unknown.errors?.[0]?.extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    const registered = await send(stack.gateway.url, { query, extensions: apq(query) });
    expect(registered.data).toEqual({ tenant: { id: 'pq', timeZone: 'UTC' } });
    const byHash = await send(stack.gateway.url, { extensions: apq(query) });
    expect(byHash.data).toEqual({ tenant: { id: 'pq', timeZone: 'UTC' } });
  });

  it('in safelist mode runs listed operations, by hash or text, and nothing else', async () => {
    expect((await send(safelisted.url, { extensions: apq(LISTED) })).data).toEqual({
      tenant: { id: 'pq' },
    });
    expect((await send(safelisted.url, { query: LISTED })).data).toEqual({ tenant: { id: 'pq' } });
    const other = await send(safelisted.url, { query: '{ tenant { id timeZone } }' });
    expect(other.data ?? null).toBeNull();
    expect(other.errors?.[0]?.extensions.code).toBe('PERSISTED_QUERY_NOT_IN_LIST');
    const unlisted = 'query Sneaky { tenant { name } }';
    await send(safelisted.url, { query: unlisted, extensions: apq(unlisted) });
    const retried = await send(safelisted.url, { extensions: apq(unlisted) });
    expect(retried.data ?? null).toBeNull();
  });
});
