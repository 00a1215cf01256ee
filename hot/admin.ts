// Operator actions on the registry: add tenants, define attributes, upsert entities.
// The same rules (registryWrites.ts) as the GraphQL write path apply here.
import type pg from 'pg';
import { isValidTimeZone, rollupSlotSeconds } from '../core/buckets.ts';
import { badInput } from '../core/errors.ts';
import { withTenant } from './database.ts';
import {
  defineAttribute,
  upsertEntities as upsertEntityRows,
  type AttributeInput,
  type EntityInput,
} from './registryWrites.ts';

export interface NewTenant {
  id: string;
  name?: string;
  timeZone: string;
  hotDays?: number;
  warmDays?: number;
}

export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export async function addTenant(pool: pg.Pool, tenant: NewTenant): Promise<void> {
  if (!TENANT_ID_PATTERN.test(tenant.id)) {
    throw badInput(`tenant id "${tenant.id}" must match ${TENANT_ID_PATTERN}`, 'id');
  }
  if (!isValidTimeZone(tenant.timeZone)) {
    throw badInput(`"${tenant.timeZone}" is not an IANA time zone`, 'timeZone');
  }
  const { rowCount } = await pool.query(`SELECT 1 FROM pg_timezone_names WHERE name = $1`, [
    tenant.timeZone,
  ]);
  if (!rowCount)
    throw badInput(`PostgreSQL does not know the time zone "${tenant.timeZone}"`, 'timeZone');
  await withTenant(pool, tenant.id, (c) =>
    c.query(
      `INSERT INTO tenants (id, name, time_zone, hot_days, warm_days, rollup_slot_seconds)
       VALUES ($1, $2, $3, coalesce($4, 7), coalesce($5, 30), $6)`,
      [
        tenant.id,
        tenant.name ?? tenant.id,
        tenant.timeZone,
        tenant.hotDays ?? null,
        tenant.warmDays ?? null,
        rollupSlotSeconds(tenant.timeZone),
      ],
    ),
  );
}

/** Defines (or updates) attributes; returns their keys by name. */
export async function defineAttributes(
  pool: pg.Pool,
  tenantId: string,
  attributes: AttributeInput[],
): Promise<Map<string, number>> {
  const keys = new Map<string, number>();
  for (const a of attributes) keys.set(a.name, (await defineAttribute(pool, tenantId, a)).key);
  return keys;
}

/** Upserts entities; returns their keys by id. */
export async function upsertEntities(
  pool: pg.Pool,
  tenantId: string,
  entities: EntityInput[],
): Promise<Map<string, number>> {
  return new Map((await upsertEntityRows(pool, tenantId, entities)).map((e) => [e.id, e.key]));
}
