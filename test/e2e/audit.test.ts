// Every operation is audited, asynchronously, per tenant, and nothing is lost on a
// graceful shutdown; a slow audit store never slows a response.
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_SIGNATURE_HEADER } from '../../core/auditRecord.ts';
import { createTenantDataset } from '../support/fixtures.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.ts';

const NOW = Date.parse('2026-11-20T12:00:00Z');
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const AUDIT_QUERY =
  '{ auditLog(first: 100) { requestId subject operationName documentHash outcome subgraphs durationMs } }';

interface Entry {
  requestId: string;
  subject: string;
  operationName: string | null;
  documentHash: string;
  outcome: string;
  subgraphs: string[];
}

describe('audit log', () => {
  let db: TestDatabase;
  let stack: Stack;

  beforeAll(async () => {
    db = await createTestDatabase();
    stack = await startStack(db);
    for (const [i, tenantId] of ['aud', 'other'].entries()) {
      await createTenantDataset(db.dbs.operator, {
        tenantId,
        timeZone: 'UTC',
        entities: 1,
        days: 3,
        rowsPerDay: 4,
        nowMs: NOW,
        seed: i,
      });
    }
  });
  afterAll(async () => {
    await stack?.close();
    await db?.drop();
  });

  async function entries(tenantId: string, count: number): Promise<Entry[]> {
    const admin = await stack.token(tenantId, 'admin');
    for (let i = 0; i < 50; i++) {
      const res = await stack.query<{ auditLog: Entry[] }>(admin, AUDIT_QUERY);
      const list = res.body.data?.auditLog ?? [];
      if (list.length >= count) return list;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error('audit entries did not arrive');
  }

  it('records tenant, subject, operation, hashes, outcome and subgraphs of every operation', async () => {
    const token = await stack.token('aud');
    const mixed =
      'query Dashboard { entity(id: "e-000") { name series(attribute: "value", from: "2026-11-18T00:00:00Z", to: "2026-11-20T00:00:00Z", bucket: DAY) { points { count } } } }';
    const failing = 'query Broken { entity(id: "e-000") { latest(attribute: "nope") { value } } }';
    await stack.query(token, mixed);
    await stack.query(token, failing);
    const list = await entries('aud', 2);
    const dashboard = list.find((e) => e.operationName === 'Dashboard')!;
    expect(dashboard).toMatchObject({
      subject: 'test@aud',
      documentHash: sha256(mixed),
      outcome: 'ok',
      subgraphs: ['olap', 'oltp'],
    });
    expect(list.find((e) => e.operationName === 'Broken')).toMatchObject({
      outcome: 'error',
      subgraphs: ['oltp'],
    });
  });

  it('shows each tenant only its own entries, and only to admins', async () => {
    await stack.query(await stack.token('other'), 'query OtherOnly { tenant { id } }');
    const other = await entries('other', 1);
    expect(other.some((e) => e.operationName === 'OtherOnly')).toBe(true);
    expect(other.every((e) => e.subject === 'test@other')).toBe(true);
    const mine = await entries('aud', 2);
    expect(mine.some((e) => e.operationName === 'OtherOnly')).toBe(false);
    const viewer = await stack.query(await stack.token('aud', 'viewer'), AUDIT_QUERY);
    expect(viewer.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('refuses audit batches the gateway did not sign', async () => {
    const forged = JSON.stringify([
      {
        tenantId: 'aud',
        at: new Date().toISOString(),
        requestId: 'forged',
        subject: 'mallory',
        operationName: null,
        documentHash: 'x',
        variablesHash: 'y',
        durationMs: 1,
        outcome: 'ok',
        subgraphs: [],
      },
    ]);
    const res = await fetch(`${stack.oltp.url}/internal/audit`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [AUDIT_SIGNATURE_HEADER]: 'bogus' },
      body: forged,
    });
    expect(res.status).toBe(401);
  });

  it('flushes every queued record on graceful shutdown', async () => {
    const gateway = await stack.extraGateway();
    const token = await stack.token('aud');
    for (let i = 0; i < 5; i++)
      await stack.query(token, `query Burst${i} { tenant { id } }`, {}, `${gateway.url}/graphql`);
    await gateway.close(); // before the sink's first timed flush
    const { rows } = await db.dbs.operator.query(
      `SELECT operation_name FROM audit_log WHERE operation_name LIKE 'Burst%'`,
    );
    expect(rows).toHaveLength(5);
  });

  it('answers at full speed while the audit store hangs', async () => {
    const hung = http.createServer(() => undefined);
    await new Promise<void>((r) => hung.listen(0, '127.0.0.1', () => r()));
    const gateway = await stack.extraGateway(
      {},
      { auditUrl: `http://127.0.0.1:${(hung.address() as AddressInfo).port}/internal/audit` },
    );
    try {
      const token = await stack.token('aud');
      const started = Date.now();
      for (let i = 0; i < 20; i++) {
        const res = await stack.query(token, '{ tenant { id } }', {}, `${gateway.url}/graphql`);
        expect(res.status).toBe(200);
      }
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      hung.closeAllConnections();
      hung.close();
      await gateway.close();
    }
  });
});
