// The write path's entry point for both the GraphQL mutation and the bulk endpoint.
import type pg from 'pg';
import { IngestBatch, type RowSource } from './ingestBatch.ts';
import type { IngestSummary } from './rejections.ts';
import type { TimeBounds } from './validateObservation.ts';

export interface IngestLimits {
  maxFutureSeconds: number;
  minTimestampMs: number;
}

export function timeBounds(limits: IngestLimits, nowMs = Date.now()): TimeBounds {
  return { minMs: limits.minTimestampMs, maxMs: nowMs + limits.maxFutureSeconds * 1000 };
}

export async function ingestObservations(
  pool: pg.Pool,
  tenantId: string,
  rows: RowSource,
  options: { idempotencyKey?: string | null; atomic?: boolean; limits: IngestLimits },
): Promise<IngestSummary> {
  return new IngestBatch(pool, tenantId).run(rows, {
    idempotencyKey: options.idempotencyKey,
    atomic: options.atomic,
    bounds: timeBounds(options.limits),
  });
}
