// One audited GraphQL operation: what the gateway records and the OLTP subgraph stores.
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface AuditRecord {
  tenantId: string;
  at: string; // ISO instant the operation started
  requestId: string;
  subject: string;
  operationName: string | null;
  documentHash: string;
  variablesHash: string;
  durationMs: number;
  outcome: 'ok' | 'error';
  subgraphs: string[];
}

export const AUDIT_SIGNATURE_HEADER = 'x-tidemark-audit-signature';

/** The gateway signs each audit batch; the subgraph stores only batches it signed. */
export function signAuditBatch(body: string, secret: string): string {
  return createHmac('sha256', secret).update(`audit:${body}`).digest('base64url');
}

export function isAuditBatchSigned(
  body: string,
  signature: string | undefined,
  secret: string,
): boolean {
  if (!signature) return false;
  const expected = Buffer.from(signAuditBatch(body, secret));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
