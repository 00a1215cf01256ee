// Operator actions on the registry: add tenants, define attributes, upsert entities.
// The same rules the GraphQL write path enforces apply here.
import type pg from 'pg';
import { isValidTimeZone } from '../core/buckets.ts';
import { badInput } from '../core/errors.ts';
import { withTenant } from './database.ts';

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
      `INSERT INTO tenants (id, name, time_zone, hot_days, warm_days)
       VALUES ($1, $2, $3, coalesce($4, 7), coalesce($5, 30))`,
      [
        tenant.id,
        tenant.name ?? tenant.id,
        tenant.timeZone,
        tenant.hotDays ?? null,
        tenant.warmDays ?? null,
      ],
    ),
  );
}

export interface AttributeDefinition {
  name: string;
  type: 'number' | 'string' | 'boolean';
  unit?: string | null;
  description?: string | null;
}

export async function defineAttributes(
  pool: pg.Pool,
  tenantId: string,
  attributes: AttributeDefinition[],
): Promise<Map<string, number>> {
  return withTenant(pool, tenantId, async (c) => {
    const keys = new Map<string, number>();
    for (const a of attributes) {
      const { rows } = await c.query<{ attribute_key: number }>(
        `INSERT INTO attributes (tenant_id, name, type, unit, description) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tenant_id, name) DO UPDATE SET unit = EXCLUDED.unit, description = EXCLUDED.description
         WHERE attributes.type = EXCLUDED.type
         RETURNING attribute_key`,
        [tenantId, a.name, a.type, a.unit ?? null, a.description ?? null],
      );
      if (!rows[0])
        throw badInput(`attribute "${a.name}" already exists with another type`, 'type');
      keys.set(a.name, rows[0].attribute_key);
    }
    return keys;
  });
}

export interface EntityDefinition {
  id: string;
  kind: string;
  name?: string;
}

export async function upsertEntities(
  pool: pg.Pool,
  tenantId: string,
  entities: EntityDefinition[],
): Promise<Map<string, number>> {
  return withTenant(pool, tenantId, async (c) => {
    const { rows } = await c.query<{ id: string; entity_key: number }>(
      `INSERT INTO entities (tenant_id, id, kind, name)
       SELECT $1, id, kind, coalesce(name, id) FROM unnest($2::text[], $3::text[], $4::text[]) AS e(id, kind, name)
       ON CONFLICT (tenant_id, id) DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name
       RETURNING id, entity_key`,
      [
        tenantId,
        entities.map((e) => e.id),
        entities.map((e) => e.kind),
        entities.map((e) => e.name ?? null),
      ],
    );
    return new Map(rows.map((r) => [r.id, r.entity_key]));
  });
}
