// The audit log in PostgreSQL: batches from the gateway, stored per tenant under
// row-level security, and read back by a tenant's admins.
import type pg from 'pg';
import type { AuditRecord } from '../../../core/auditRecord.ts';
import { withTenant } from '../../../hot/database.ts';

export async function storeAuditBatch(pool: pg.Pool, records: AuditRecord[]): Promise<void> {
  const byTenant = new Map<string, AuditRecord[]>();
  for (const r of records) byTenant.set(r.tenantId, [...(byTenant.get(r.tenantId) ?? []), r]);
  for (const [tenantId, rows] of byTenant) {
    await withTenant(pool, tenantId, (c) =>
      c.query(
        `INSERT INTO audit_log (tenant_id, at, request_id, subject, operation_name, document_hash,
                                variables_hash, duration_ms, outcome, subgraphs)
         SELECT $1, at, request_id, subject, operation_name, document_hash, variables_hash, duration_ms, outcome,
                string_to_array(subgraphs, ',')
           FROM unnest($2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[], $9::text[], $10::text[])
             AS r(at, request_id, subject, operation_name, document_hash, variables_hash, duration_ms, outcome, subgraphs)
         ON CONFLICT DO NOTHING`,
        [
          tenantId,
          rows.map((r) => r.at),
          rows.map((r) => r.requestId),
          rows.map((r) => r.subject),
          rows.map((r) => r.operationName),
          rows.map((r) => r.documentHash),
          rows.map((r) => r.variablesHash),
          rows.map((r) => r.durationMs),
          rows.map((r) => r.outcome),
          rows.map((r) => r.subgraphs.join(',')),
        ],
      ),
    );
  }
}

export interface AuditEntryRecord extends Omit<AuditRecord, 'at' | 'tenantId'> {
  at: Date;
}

export async function readAuditLog(
  pool: pg.Pool,
  tenantId: string,
  first: number,
  before: Date | null,
): Promise<AuditEntryRecord[]> {
  const { rows } = await withTenant(
    pool,
    tenantId,
    (c) =>
      c.query<AuditEntryRecord>(
        `SELECT at, request_id AS "requestId", subject, operation_name AS "operationName",
                document_hash AS "documentHash", variables_hash AS "variablesHash",
                duration_ms AS "durationMs", outcome, subgraphs
           FROM audit_log WHERE tenant_id = $1 AND ($2::timestamptz IS NULL OR at < $2)
          ORDER BY at DESC, request_id LIMIT $3`,
        [tenantId, before, first],
      ),
    { readOnly: true },
  );
  return rows;
}
