// Demo data for a fresh embedded start: tenants in three kinds of time zone (DST,
// half-hour offset, half-hour DST), three kinds of entity, typed attributes and about
// 90 days of observations. Deterministic for a given `now`.
import type pg from 'pg';
import { mulberry32 } from '../core/prng.ts';
import { addTenant, defineAttributes, upsertEntities } from '../hot/admin.ts';
import type { AttributeInput } from '../hot/registryWrites.ts';
import { copyObservations, type ObservationRow } from '../hot/copyObservations.ts';
import { PartitionManager, DAY_MS, addUtcDays, utcDay } from '../hot/partitions.ts';

export const DEMO_TENANTS = [
  { id: 'acme', name: 'Acme Water (New York)', timeZone: 'America/New_York' },
  { id: 'indus', name: 'Indus Grid (Kolkata)', timeZone: 'Asia/Kolkata' },
  { id: 'lordhowe', name: 'Lord Howe Island Power', timeZone: 'Australia/Lord_Howe' },
] as const;

const ATTRIBUTES: AttributeInput[] = [
  { name: 'pressure', type: 'number', unit: 'bar', description: 'Line pressure' },
  { name: 'flow', type: 'number', unit: 'm3/h', description: 'Volume flow' },
  { name: 'status', type: 'string', description: 'Operating state' },
  { name: 'online', type: 'boolean', description: 'Reachable by telemetry' },
];

const ENTITIES = [
  { id: 'pump-1', kind: 'pump', name: 'North intake pump' },
  { id: 'pump-2', kind: 'pump', name: 'South intake pump' },
  { id: 'pump-3', kind: 'pump', name: 'Booster pump' },
  { id: 'meter-1', kind: 'meter', name: 'District meter A' },
  { id: 'meter-2', kind: 'meter', name: 'District meter B' },
  { id: 'telemetry', kind: 'service', name: 'Telemetry gateway' },
];

export const DEMO_DAYS = 90;
/** Numeric rows are seeded this often, from the first day up to now (exclusive). */
export const NUMERIC_STEP_MS = 30 * 60_000;
const STATE_STEP_MS = 3 * 3_600_000;
const STATES = ['running', 'idle', 'maintenance'];

function* demoRows(
  tenantId: string,
  seed: number,
  attributes: Map<string, number>,
  entities: Map<string, number>,
  fromMs: number,
  toMs: number,
): Generator<ObservationRow> {
  const next = mulberry32(seed);
  for (const [entityId, entityKey] of entities) {
    const base = 2 + (entityId.length % 3);
    for (let t = fromMs; t < toMs; t += NUMERIC_STEP_MS) {
      const daily = Math.sin(((t % DAY_MS) / DAY_MS) * 2 * Math.PI);
      const pressure = Math.round((base + daily * 0.4 + next() * 0.2) * 1000) / 1000;
      const flow = Math.round((40 + daily * 15 + next() * 5) * 100) / 100;
      yield {
        tenantId,
        attributeKey: attributes.get('pressure')!,
        entityKey,
        tsMs: t,
        value: pressure,
      };
      yield { tenantId, attributeKey: attributes.get('flow')!, entityKey, tsMs: t, value: flow };
      if (t % STATE_STEP_MS === 0) {
        const state = STATES[Math.floor(next() * STATES.length)]!;
        yield {
          tenantId,
          attributeKey: attributes.get('status')!,
          entityKey,
          tsMs: t,
          value: state,
        };
        yield {
          tenantId,
          attributeKey: attributes.get('online')!,
          entityKey,
          tsMs: t,
          value: next() > 0.05,
        };
      }
    }
  }
}

/** Seeds the demo unless any tenant exists. Returns the number of rows written. */
export async function seedDemo(pool: pg.Pool, nowMs = Date.now()): Promise<number> {
  const { rowCount } = await pool.query('SELECT 1 FROM tenants LIMIT 1');
  if (rowCount) return 0;
  const today = utcDay(nowMs);
  const firstDay = addUtcDays(today, -DEMO_DAYS);
  await new PartitionManager(pool).ensure(firstDay, nowMs);
  const fromMs = Date.parse(`${firstDay}T00:00:00Z`);
  const toMs = Math.floor(nowMs / NUMERIC_STEP_MS) * NUMERIC_STEP_MS;
  let written = 0;
  for (const [i, tenant] of DEMO_TENANTS.entries()) {
    await addTenant(pool, tenant);
    const attributes = await defineAttributes(pool, tenant.id, ATTRIBUTES);
    const entities = await upsertEntities(pool, tenant.id, ENTITIES);
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SET LOCAL app.tenant_id = ${client.escapeLiteral(tenant.id)}`);
      let count = 0;
      const rows = demoRows(tenant.id, 1000 + i, attributes, entities, fromMs, toMs);
      await copyObservations(
        client,
        (function* () {
          for (const r of rows) {
            count += 1;
            yield r;
          }
        })(),
      );
      await client.query(`UPDATE attributes SET has_values = true WHERE tenant_id = $1`, [
        tenant.id,
      ]);
      await client.query('COMMIT');
      written += count;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }
  return written;
}
