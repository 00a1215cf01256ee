// Seeded random observations for a test tenant, written both to tidemark's hot
// tier and to a plain reference table that holds every row forever: the reference
// that differential tests compare tidemark's answers with.
import type pg from 'pg';
import { addTenant, defineAttributes, upsertEntities } from '../../hot/admin.ts';
import { copyObservations, type ObservationRow } from '../../hot/copyObservations.ts';
import { PartitionManager, addUtcDays, utcDay } from '../../hot/partitions.ts';

export { mulberry32 as seededRandom } from '../../core/prng.ts';
import { mulberry32 as seededRandom } from '../../core/prng.ts';

export interface TenantSpec {
  tenantId: string;
  timeZone: string;
  hotDays?: number;
  entities: number;
  days: number;
  rowsPerDay: number;
  nowMs: number;
  seed: number;
  /** Rows per entity and day of the string attribute `label` and the boolean `on` each. */
  categoricalPerDay?: number;
}

export interface Dataset {
  tenantId: string;
  timeZone: string;
  /** The number attribute `value`. */
  attributeKey: number;
  /** Every attribute: `value` (number), `label` (string), `on` (boolean). */
  attributes: Map<string, number>;
  entityIds: string[];
  entityKeys: Map<string, number>;
  rows: ObservationRow[];
}

export async function ensureReferenceTable(pool: pg.Pool): Promise<void> {
  await pool.query(`CREATE TABLE IF NOT EXISTS reference_observations (
    tenant_id text NOT NULL, entity_id text NOT NULL, attribute text NOT NULL,
    ts timestamptz NOT NULL, num double precision, str text, bool boolean)`);
}

/** Inserts rows into tidemark (operator pool) and the reference table alike. */
export async function insertRows(
  pool: pg.Pool,
  dataset: Dataset,
  rows: ObservationRow[],
): Promise<void> {
  const byKey = new Map([...dataset.entityKeys].map(([id, key]) => [key, id]));
  const attributeName = new Map([...dataset.attributes].map(([name, key]) => [key, name]));
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await copyObservations(client, rows);
    await client.query(
      // As ingest does (ingestBatch.ts): only a first value writes the registry row, so
      // inserted rows move their days' versions, not every day's.
      `UPDATE attributes SET has_values = true WHERE tenant_id = $1 AND attribute_key = ANY($2::int[]) AND NOT has_values`,
      [dataset.tenantId, [...new Set(rows.map((r) => r.attributeKey))]],
    );
    await client.query(
      `INSERT INTO reference_observations
       SELECT $1, e, a, t, n, s, b
         FROM unnest($2::text[], $3::text[], $4::timestamptz[], $5::float8[], $6::text[], $7::bool[])
           AS r(e, a, t, n, s, b)`,
      [
        dataset.tenantId,
        rows.map((r) => byKey.get(r.entityKey)),
        rows.map((r) => attributeName.get(r.attributeKey)),
        rows.map((r) => new Date(r.tsMs)),
        rows.map((r) => (typeof r.value === 'number' ? r.value : null)),
        rows.map((r) => (typeof r.value === 'string' ? r.value : null)),
        rows.map((r) => (typeof r.value === 'boolean' ? r.value : null)),
      ],
    );
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  } finally {
    client.release();
  }
  dataset.rows.push(...rows);
}

const LABELS = ['running', 'idle', 'fault', 'maintenance', 'standby'];

/** Random `label` (skewed towards the first labels) and `on` rows, per entity and day. */
export function randomCategoricalRows(
  dataset: Dataset,
  spec: Pick<TenantSpec, 'days' | 'nowMs' | 'seed'> & { perDay: number },
): ObservationRow[] {
  const next = seededRandom(spec.seed * 31 + 7);
  const rows: ObservationRow[] = [];
  const start = spec.nowMs - spec.days * 86_400_000;
  for (const [name, attributeKey] of [
    ['label', dataset.attributes.get('label')!],
    ['on', dataset.attributes.get('on')!],
  ] as const) {
    for (const entityKey of dataset.entityKeys.values()) {
      const seen = new Set<number>();
      for (let i = 0; i < spec.days * spec.perDay; i++) {
        const tsMs = start + Math.floor((next() * (spec.nowMs - start)) / 1000) * 1000;
        if (seen.has(tsMs)) continue;
        seen.add(tsMs);
        const value =
          name === 'label' ? LABELS[Math.floor(next() * next() * LABELS.length)]! : next() < 0.7;
        rows.push({ tenantId: dataset.tenantId, attributeKey, entityKey, tsMs, value });
      }
    }
  }
  return rows;
}

/** Random numeric rows at distinct instants per entity over `days` days before `nowMs`. */
export function randomRows(
  dataset: Dataset,
  spec: Pick<TenantSpec, 'days' | 'rowsPerDay' | 'nowMs' | 'seed'>,
): ObservationRow[] {
  const next = seededRandom(spec.seed);
  const rows: ObservationRow[] = [];
  const start = spec.nowMs - spec.days * 86_400_000;
  for (const key of dataset.entityKeys.values()) {
    const seen = new Set<number>();
    const total = spec.days * spec.rowsPerDay;
    for (let i = 0; i < total; i++) {
      const tsMs = start + Math.floor((next() * (spec.nowMs - start)) / 1000) * 1000;
      if (seen.has(tsMs)) continue;
      seen.add(tsMs);
      rows.push({
        tenantId: dataset.tenantId,
        attributeKey: dataset.attributeKey,
        entityKey: key,
        tsMs,
        value: Math.round((next() * 200 - 50) * 1000) / 1000,
      });
    }
  }
  return rows;
}

/** A dataset for each tenant id, one after another, from `spec(tenantId, index)`. */
export async function createTenantDatasets(
  pool: pg.Pool,
  tenantIds: readonly string[],
  spec: (tenantId: string, index: number) => TenantSpec,
): Promise<Map<string, Dataset>> {
  const datasets = new Map<string, Dataset>();
  for (const [i, tenantId] of tenantIds.entries())
    datasets.set(tenantId, await createTenantDataset(pool, spec(tenantId, i)));
  return datasets;
}

export async function createTenantDataset(pool: pg.Pool, spec: TenantSpec): Promise<Dataset> {
  await ensureReferenceTable(pool);
  await addTenant(pool, { id: spec.tenantId, timeZone: spec.timeZone, hotDays: spec.hotDays });
  const attributes = await defineAttributes(pool, spec.tenantId, [
    { name: 'value', type: 'number', unit: 'u' },
    { name: 'label', type: 'string' },
    { name: 'on', type: 'boolean' },
  ]);
  const entityIds = Array.from(
    { length: spec.entities },
    (_, i) => `e-${String(i).padStart(3, '0')}`,
  );
  const entityKeys = await upsertEntities(
    pool,
    spec.tenantId,
    entityIds.map((id, i) => ({ id, kind: i % 2 ? 'meter' : 'pump' })),
  );
  const dataset: Dataset = {
    tenantId: spec.tenantId,
    timeZone: spec.timeZone,
    attributeKey: attributes.get('value')!,
    attributes,
    entityIds,
    entityKeys,
    rows: [],
  };
  await new PartitionManager(pool).ensure(
    addUtcDays(utcDay(spec.nowMs), -spec.days - 1),
    spec.nowMs,
  );
  await insertRows(pool, dataset, randomRows(dataset, spec));
  if (spec.categoricalPerDay) {
    await insertRows(
      pool,
      dataset,
      randomCategoricalRows(dataset, { ...spec, perDay: spec.categoricalPerDay }),
    );
  }
  return dataset;
}
