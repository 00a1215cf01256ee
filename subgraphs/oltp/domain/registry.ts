// Tenants, entities and attributes in PostgreSQL. Every query runs tenant-scoped
// (RLS) and also names the tenant; batch lookups take many keys in one statement.
import type pg from 'pg';
import { withTenant } from '../../../hot/database.ts';

import type { AttributeRecord, EntityRecord } from '../../../hot/registryWrites.ts';

export type { AttributeRecord, AttributeType, EntityRecord } from '../../../hot/registryWrites.ts';

export interface TenantRecord {
  id: string;
  name: string;
  timeZone: string;
  hotDays: number;
  warmDays: number;
}

export interface EntityPage {
  entities: EntityRecord[];
  hasNextPage: boolean;
}

export class Registry {
  constructor(
    private readonly pool: pg.Pool,
    readonly tenantId: string,
  ) {}

  private run<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return withTenant(this.pool, this.tenantId, fn, { readOnly: true });
  }

  async tenant(): Promise<TenantRecord | null> {
    const { rows } = await this.run((c) =>
      c.query<TenantRecord>(
        `SELECT id, name, time_zone AS "timeZone", hot_days AS "hotDays", warm_days AS "warmDays"
           FROM tenants WHERE id = $1`,
        [this.tenantId],
      ),
    );
    return rows[0] ?? null;
  }

  async entitiesById(ids: readonly string[]): Promise<Map<string, EntityRecord>> {
    const { rows } = await this.run((c) =>
      c.query<EntityRecord>(
        `SELECT id, entity_key AS key, kind, name FROM entities
          WHERE tenant_id = $1 AND id = ANY($2::text[])`,
        [this.tenantId, ids],
      ),
    );
    return new Map(rows.map((r) => [r.id, r]));
  }

  /** Keyset pagination over (id); `after` is the last id of the previous page. */
  async entitiesPage(
    kind: string | null,
    first: number,
    after: string | null,
  ): Promise<EntityPage> {
    const { rows } = await this.run((c) =>
      c.query<EntityRecord>(
        `SELECT id, entity_key AS key, kind, name FROM entities
          WHERE tenant_id = $1 AND ($2::text IS NULL OR kind = $2) AND ($3::text IS NULL OR id > $3)
          ORDER BY id LIMIT $4`,
        [this.tenantId, kind, after, first + 1],
      ),
    );
    return { entities: rows.slice(0, first), hasNextPage: rows.length > first };
  }

  async attributes(names?: readonly string[]): Promise<AttributeRecord[]> {
    const { rows } = await this.run((c) =>
      c.query<AttributeRecord>(
        `SELECT name, attribute_key AS key, type, unit, description FROM attributes
          WHERE tenant_id = $1 AND ($2::text[] IS NULL OR name = ANY($2::text[]))
          ORDER BY name`,
        [this.tenantId, names ?? null],
      ),
    );
    return rows;
  }
}
