import type { GraphQLSchema } from 'graphql';
import { buildFederatedSchema } from '../common/buildFederatedSchema.ts';
import {
  EntityAnomaliesResolver,
  EntitySummaryResolver,
  EntityValuesResolver,
  TenantAggregatesResolver,
} from './resolvers/aggregatesResolver.ts';
import { SeriesResolver } from './resolvers/seriesResolver.ts';
import { TierStatusResolver } from './resolvers/tierStatusResolver.ts';
import { Tenant } from './types/aggregates.ts';
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
        TierStatusResolver,
      ],
      orphanedTypes: [Entity, Tenant],
    },
    {
      // Aggregates of an id the tenant does not have resolve to null in the router; a
      // tenant other than the caller's resolves to empty lists in the resolvers.
      Entity: { __resolveReference: (ref: { id: string }) => ({ id: ref.id }) },
      Tenant: { __resolveReference: (ref: { id: string }) => ({ id: ref.id }) },
    },
  );
}
