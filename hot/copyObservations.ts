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
  /** The instant as validated ISO-8601 text, passed to PostgreSQL as is when given. */
  tsText?: string;
  value: number | string | boolean;
}

const escapeText = (s: string): string =>
  s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');

/** One COPY text line: tenant, attribute, entity, ts, then num/str/bool (one set). */
export function encodeCopyFields(
  tenantId: string,
  attributeKey: number,
  entityKey: number,
  ts: string,
  value: number | string | boolean,
): string {
  switch (typeof value) {
    case 'number':
      return `${tenantId}\t${attributeKey}\t${entityKey}\t${ts}\t${value}\t\\N\t\\N\n`;
    case 'string':
      return `${tenantId}\t${attributeKey}\t${entityKey}\t${ts}\t\\N\t${escapeText(value)}\t\\N\n`;
    default:
      return `${tenantId}\t${attributeKey}\t${entityKey}\t${ts}\t\\N\t\\N\t${value ? 't' : 'f'}\n`;
  }
}

export function encodeCopyLine(r: ObservationRow): string {
  return encodeCopyFields(
    r.tenantId,
    r.attributeKey,
    r.entityKey,
    r.tsText ?? new Date(r.tsMs).toISOString(),
    r.value,
  );
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
