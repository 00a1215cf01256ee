// Registry changes (API and operator alike): attributes are rows (never DDL) whose type is
// frozen once they have values; entities are upserted in one statement.
import type pg from 'pg';
import { badInput } from '../core/errors.ts';
import { withTenant } from './database.ts';

export type AttributeType = 'number' | 'string' | 'boolean';

export interface AttributeRecord {
  name: string;
  key: number;
  type: AttributeType;
  unit: string | null;
  description: string | null;
}

export interface EntityRecord {
  id: string;
  key: number;
  kind: string;
  name: string;
}

export interface AttributeInput {
  name: string;
  type: AttributeType;
  unit?: string | null;
  description?: string | null;
}

const ATTRIBUTE_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,99}$/;

export async function defineAttribute(
  pool: pg.Pool,
  tenantId: string,
  input: AttributeInput,
): Promise<AttributeRecord> {
  if (!ATTRIBUTE_NAME.test(input.name)) {
    throw badInput(
      `attribute name "${input.name}" must start with a letter and use letters, digits, _ . - (at most 100)`,
      'name',
    );
  }
  return withTenant(pool, tenantId, async (c) => {
    const { rows: existing } = await c.query<{ type: AttributeType; has_values: boolean }>(
      `SELECT type, has_values FROM attributes WHERE tenant_id = $1 AND name = $2 FOR UPDATE`,
      [tenantId, input.name],
    );
    const current = existing[0];
    if (current && current.type !== input.type && current.has_values) {
      throw badInput(
        `attribute "${input.name}" already has ${current.type} values; its type cannot change to ${input.type}. Define a new attribute instead.`,
        'type',
      );
    }
    const { rows } = await c.query<AttributeRecord>(
      `INSERT INTO attributes (tenant_id, name, type, unit, description) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (tenant_id, name) DO UPDATE
         SET type = EXCLUDED.type, unit = EXCLUDED.unit, description = EXCLUDED.description
       RETURNING name, attribute_key AS key, type, unit, description`,
      [tenantId, input.name, input.type, input.unit ?? null, input.description ?? null],
    );
    return rows[0]!;
  });
}

export interface EntityInput {
  id: string;
  kind: string;
  name?: string | null;
}

export const MAX_ENTITIES_PER_CALL = 10_000;

export async function upsertEntities(
  pool: pg.Pool,
  tenantId: string,
  input: EntityInput[],
): Promise<EntityRecord[]> {
  if (input.length === 0) return [];
  if (input.length > MAX_ENTITIES_PER_CALL)
    throw badInput(`at most ${MAX_ENTITIES_PER_CALL} entities per call`, 'input');
  input.forEach((e, i) => {
    if (e.id.length === 0 || e.id.length > 200)
      throw badInput(`input[${i}].id must have 1 to 200 characters`, `input[${i}].id`);
    if (e.kind.length === 0 || e.kind.length > 100)
      throw badInput(`input[${i}].kind must have 1 to 100 characters`, `input[${i}].kind`);
  });
  const ids = new Set<string>();
  for (const [i, e] of input.entries()) {
    if (ids.has(e.id)) throw badInput(`input[${i}].id "${e.id}" appears twice`, `input[${i}].id`);
    ids.add(e.id);
  }
  return withTenant(pool, tenantId, async (c) => {
    const { rows } = await c.query<EntityRecord>(
      `INSERT INTO entities (tenant_id, id, kind, name)
       SELECT $1, id, kind, coalesce(name, id) FROM unnest($2::text[], $3::text[], $4::text[]) AS e(id, kind, name)
       ON CONFLICT (tenant_id, id) DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name
       RETURNING id, entity_key AS key, kind, name`,
      [
        tenantId,
        input.map((e) => e.id),
        input.map((e) => e.kind),
        input.map((e) => e.name ?? null),
      ],
    );
    return rows;
  });
}
