import type { GraphQLSchema } from 'graphql';
import type { OltpContext } from './context.ts';
import { buildFederatedSchema } from '../common/buildFederatedSchema.ts';
import { AuditResolver } from './resolvers/auditResolver.ts';
import { EntityResolver } from './resolvers/entityResolver.ts';
import { MutationResolver } from './resolvers/mutationResolver.ts';
import { QueryResolver } from './resolvers/queryResolver.ts';
import { Tenant } from './types/tenant.ts';
import { Attribute } from './types/attribute.ts';

export function buildOltpSchema(): Promise<GraphQLSchema> {
  return buildFederatedSchema(
    {
      resolvers: [QueryResolver, EntityResolver, MutationResolver, AuditResolver],
      orphanedTypes: [Tenant, Attribute],
    },
    {
      // _entities re-applies the tenant scope: another tenant's ids resolve to null.
      Entity: {
        __resolveReference: (ref: { id: string }, ctx: OltpContext) => ctx.entityById.load(ref.id),
      },
      Tenant: {
        __resolveReference: async (ref: { id: string }, ctx: OltpContext) =>
          ref.id === ctx.identity.tenantId ? ctx.registry.tenant() : null,
      },
      Attribute: {
        __resolveReference: (ref: { name: string }, ctx: OltpContext) =>
          ctx.attributeByName.load(ref.name),
      },
    },
  );
}
