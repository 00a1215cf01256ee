import type { GraphQLSchema } from 'graphql';
import { buildFederatedSchema } from '../common/buildFederatedSchema.ts';
import { SeriesResolver } from './resolvers/seriesResolver.ts';
import { TierStatusResolver } from './resolvers/tierStatusResolver.ts';
import { Entity } from './types/series.ts';

export function buildOlapSchema(): Promise<GraphQLSchema> {
  return buildFederatedSchema(
    { resolvers: [SeriesResolver, TierStatusResolver], orphanedTypes: [Entity] },
    {
      // Series of an id the tenant does not have resolve to null in the router.
      Entity: { __resolveReference: (ref: { id: string }) => ({ id: ref.id }) },
    },
  );
}
