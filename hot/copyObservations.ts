// Bulk load of observations with COPY (text format), streamed: rows are encoded as
// they are pulled, never buffered whole.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

export interface ObservationRow {
  tenantId: string;
  attributeKey: number;
  entityKey: number;
  tsMs: number;
  value: number | string | boolean;
}

const escapeText = (s: string): string =>
  s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');

export function encodeCopyLine(r: ObservationRow): string {
  const ts = new Date(r.tsMs).toISOString();
  const num = typeof r.value === 'number' ? String(r.value) : '\\N';
  const str = typeof r.value === 'string' ? escapeText(r.value) : '\\N';
  const bool = typeof r.value === 'boolean' ? (r.value ? 't' : 'f') : '\\N';
  return `${r.tenantId}\t${r.attributeKey}\t${r.entityKey}\t${ts}\t${num}\t${str}\t${bool}\n`;
}

/** COPYs rows into `observations` on a client (inside the caller's transaction). */
export async function copyObservations(
  client: pg.PoolClient,
  rows: Iterable<ObservationRow> | AsyncIterable<ObservationRow>,
): Promise<void> {
  async function* lines(): AsyncGenerator<string> {
    let chunk = '';
    for await (const row of rows) {
      chunk += encodeCopyLine(row);
      if (chunk.length > 64 * 1024) {
        yield chunk;
        chunk = '';
      }
    }
    if (chunk) yield chunk;
  }
  await pipeline(
    Readable.from(lines()),
    client.query(
      copyFrom(
        `COPY observations (tenant_id, attribute_key, entity_key, ts, num, str, bool) FROM STDIN`,
      ),
    ),
  );
}
