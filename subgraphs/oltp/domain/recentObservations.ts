// Recent raw observations from the hot partitions: the latest value and the last N
// values per (entity, attribute), for many entities in one statement.
import type pg from 'pg';
import { withTenant } from '../../../hot/database.ts';
import type { AttributeRecord } from './registry.ts';

export interface ObservationRecord {
  entityKey: number;
  ts: Date;
  value: number | string | boolean;
}

type Row = {
  entity_key: number;
  ts: Date;
  num: number | null;
  str: string | null;
  bool: boolean | null;
};
const toRecord = (r: Row): ObservationRecord => ({
  entityKey: r.entity_key,
  ts: r.ts,
  value: (r.num ?? r.str ?? r.bool) as number | string | boolean,
});

export async function recentObservations(
  pool: pg.Pool,
  tenantId: string,
  attribute: AttributeRecord,
  entityKeys: readonly number[],
  last: number,
): Promise<Map<number, ObservationRecord[]>> {
  const { rows } = await withTenant(
    pool,
    tenantId,
    (c) =>
      c.query<Row>(
        `SELECT e.entity_key, o.ts, o.num, o.str, o.bool
           FROM unnest($3::bigint[]) AS e(entity_key)
           CROSS JOIN LATERAL (
             SELECT ts, num, str, bool FROM observations
              WHERE tenant_id = $1 AND attribute_key = $2 AND entity_key = e.entity_key
              ORDER BY ts DESC LIMIT $4) o`,
        [tenantId, attribute.key, entityKeys, last],
      ),
    { readOnly: true },
  );
  const result = new Map<number, ObservationRecord[]>();
  for (const row of rows) {
    const list = result.get(row.entity_key) ?? [];
    list.push(toRecord(row));
    result.set(row.entity_key, list);
  }
  return result;
}
