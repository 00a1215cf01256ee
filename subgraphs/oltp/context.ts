// Per-request state of the OLTP subgraph: the caller's identity and DataLoaders, so
// that a page of N entities costs a constant number of SQL statements.
import DataLoader from 'dataloader';
import type pg from 'pg';
import type { RequestScoped } from '../../core/errorPlugin.ts';
import type { Logger } from '../../core/logger.ts';
import type { RequestIdentity } from '../../core/signedContext.ts';
import {
  defineAttribute,
  upsertEntities,
  type AttributeInput,
  type EntityInput,
} from '../../hot/registryWrites.ts';
import { readAuditLog, type AuditEntryRecord } from './domain/auditLog.ts';
import type { IngestLimits } from './domain/ingest/ingestService.ts';
import { recentObservations, type ObservationRecord } from './domain/recentObservations.ts';
import { Registry, type AttributeRecord, type EntityRecord } from './domain/registry.ts';

export interface OltpContext extends RequestScoped {
  identity: RequestIdentity;
  pool: pg.Pool;
  registry: Registry;
  entityById: DataLoader<string, EntityRecord | null>;
  attributeByName: DataLoader<string, AttributeRecord | null>;
  recentLoader(attribute: AttributeRecord, last: number): DataLoader<number, ObservationRecord[]>;
  registryWrites: {
    defineAttribute(input: AttributeInput): Promise<AttributeRecord>;
    upsertEntities(input: EntityInput[]): Promise<EntityRecord[]>;
  };
  ingestLimits: IngestLimits;
  readAuditLog(first: number, before: Date | null): Promise<AuditEntryRecord[]>;
}

export function createOltpContext(
  pool: pg.Pool,
  identity: RequestIdentity,
  log: Logger,
  ingestLimits: IngestLimits,
): OltpContext {
  const registry = new Registry(pool, identity.tenantId);
  const recentLoaders = new Map<string, DataLoader<number, ObservationRecord[]>>();
  return {
    identity,
    requestId: identity.requestId,
    log,
    pool,
    registry,
    ingestLimits,
    readAuditLog: (first, before) => readAuditLog(pool, identity.tenantId, first, before),
    registryWrites: {
      defineAttribute: (input) => defineAttribute(pool, identity.tenantId, input),
      upsertEntities: (input) => upsertEntities(pool, identity.tenantId, input),
    },
    entityById: new DataLoader(async (ids) => {
      const found = await registry.entitiesById(ids);
      return ids.map((id) => found.get(id) ?? null);
    }),
    attributeByName: new DataLoader(async (names) => {
      const found = new Map((await registry.attributes(names)).map((a) => [a.name, a]));
      return names.map((n) => found.get(n) ?? null);
    }),
    recentLoader(attribute, last) {
      const key = `${attribute.key}|${last}`;
      let loader = recentLoaders.get(key);
      if (!loader) {
        loader = new DataLoader(async (entityKeys) => {
          const found = await recentObservations(
            pool,
            identity.tenantId,
            attribute,
            entityKeys,
            last,
          );
          return entityKeys.map((k) => found.get(k) ?? []);
        });
        recentLoaders.set(key, loader);
      }
      return loader;
    },
  };
}
