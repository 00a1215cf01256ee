import type { GraphQLSchema } from 'graphql';
import { buildFederatedSchema } from '../common/buildFederatedSchema.ts';
import {
  AttributeDistributionResolver,
  EntityAnomaliesResolver,
  EntitySummaryResolver,
  EntityValuesResolver,
  TenantAggregatesResolver,
} from './resolvers/aggregatesResolver.ts';
import { SeriesResolver } from './resolvers/seriesResolver.ts';
import { TierStatusResolver } from './resolvers/tierStatusResolver.ts';
import { Attribute, Tenant } from './types/aggregates.ts';
import { Entity } from './types/series.ts';

export function buildOlapSchema(): Promise<GraphQLSchema> {
  return buildFederatedSchema(
    {
      resolvers: [
        SeriesResolver,
        EntitySummaryResolver,
        EntityAnomaliesResolver,
        EntityValuesResolver,
        TenantAggregatesResolver,
        AttributeDistributionResolver,
        TierStatusResolver,
      ],
      orphanedTypes: [Entity, Tenant, Attribute],
    },
    {
      // Aggregates of an id the tenant does not have resolve to null in the router; a
      // tenant other than the caller's resolves to empty lists in the resolvers.
      Entity: { __resolveReference: (ref: { id: string }) => ({ id: ref.id }) },
      Tenant: { __resolveReference: (ref: { id: string }) => ({ id: ref.id }) },
      // Attribute names are per tenant; the router looks the name up in the caller's.
      Attribute: { __resolveReference: (ref: { name: string }) => ({ name: ref.name }) },
    },
  );
}
