import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Ctx, FieldResolver, Info, Resolver, Root } from 'type-graphql';
import { DateTimeISO } from '../../../core/dateTime.ts';
import { Bucket } from '../../../core/buckets.ts';
import type { OlapContext } from '../context.ts';
import { Fill, fillPoints } from '../domain/fill.ts';
import { Entity, Series, SeriesColumns, type Tier } from '../types/series.ts';
import { PERCENTILE_FIELDS, selectsAny } from './selection.ts';

@Resolver(() => Entity)
export class SeriesResolver {
  @FieldResolver(() => Series, {
    nullable: true,
    description:
      'Aggregates per bucket over [from, to), across hot and cold tiers. Null for an entity the tenant does not have.',
  })
  async series(
    @Root() entity: Entity,
    @Arg('attribute', () => String) attribute: string,
    @Arg('from', () => DateTimeISO, { description: 'Inclusive start (UTC instant).' })
    from: Date,
    @Arg('to', () => DateTimeISO, { description: 'Exclusive end (UTC instant).' }) to: Date,
    @Arg('bucket', () => Bucket) bucket: Bucket,
    @Arg('fill', () => Fill, { defaultValue: Fill.NONE }) fill: Fill,
    @Ctx() ctx: OlapContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<Series | null> {
    const range = { fromMs: from.getTime(), toMs: to.getTime() };
    const percentiles =
      selectsAny(info, PERCENTILE_FIELDS, ['points']) ||
      selectsAny(info, PERCENTILE_FIELDS, ['columns']);
    const result = await ctx
      .seriesLoader({ attribute, ...range, bucket, percentiles })
      .load(entity.id);
    if (!result) return null;
    const points = fillPoints(result.points, { ...range, bucket, timeZone: result.timeZone }, fill);
    return {
      ...result,
      points,
      columns: new SeriesColumns(points),
      tiers: result.tiers as Tier[],
    };
  }
}
