// Range aggregates: an entity's summary, a tenant's top-N entities and its breakdown by
// entity kind. All come from the tier router's exact per-entity totals over [from, to).
import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Ctx, FieldResolver, Float, Info, Int, Resolver, Root } from 'type-graphql';
import { DateTimeISO } from '../../../core/dateTime.ts';
import { mergePartials, summarize, type Partial } from '../../../core/aggregates.ts';
import { badInput } from '../../../core/errors.ts';
import type { OlapContext } from '../context.ts';
import type { EntityTotal } from '../domain/tierRouter.ts';
import {
  type Aggregates,
  Anomalies,
  Attribute,
  Distribution,
  BreakdownBy,
  BreakdownGroup,
  RankedEntity,
  SortOrder,
  Summary,
  Tenant,
  TopBy,
  ValueCounts,
} from '../types/aggregates.ts';
import { Entity, type Tier } from '../types/series.ts';
import { PERCENTILE_FIELDS, selectsAny } from './selection.ts';

const MAX_TOP = 1000;

/** Aggregates of a partial; an empty one (no values) has count 0 and null statistics. */
export function aggregatesOf(partial: Partial | null): Aggregates {
  if (!partial || partial.count === 0) {
    const none = { avg: null, min: null, max: null, stddev: null, p50: null, p90: null, p99: null };
    return { count: 0, sum: 0, ...none };
  }
  const { count, sum, avg, min, max, stddev, p50, p90, p99 } = summarize(partial);
  return { count, sum, avg, min, max, stddev, p50, p90, p99 };
}

const rankValue = (a: Aggregates, by: TopBy): number | null =>
  by === TopBy.COUNT
    ? a.count
    : by === TopBy.SUM
      ? a.sum
      : by === TopBy.AVG
        ? a.avg
        : by === TopBy.MIN
          ? a.min
          : a.max;

/**
 * Per-entity totals of the caller's tenant over [from, to); none for another tenant's
 * reference (a crafted `_entities` call), so nothing crosses tenants.
 */
async function tenantTotals(
  ctx: OlapContext,
  tenant: Tenant,
  attribute: string,
  from: Date,
  to: Date,
  info: GraphQLResolveInfo,
): Promise<EntityTotal[]> {
  if (tenant.id !== ctx.identity.tenantId) return [];
  const percentiles = selectsAny(info, PERCENTILE_FIELDS);
  const { totals } = await ctx.router.totals(
    ctx.identity.tenantId,
    'all',
    { attribute, fromMs: from.getTime(), toMs: to.getTime(), percentiles },
    ctx.signal,
  );
  return [...totals.values()];
}

/**
 * Each entity's most frequent value of a string or boolean attribute over [from, to),
 * merged across tiers like `values` (ties: the smallest value); undefined without one.
 */
async function modeValues(
  ctx: OlapContext,
  totals: EntityTotal[],
  attribute: string,
  from: Date,
  to: Date,
): Promise<(t: EntityTotal) => string | undefined> {
  if (totals.length === 0) return () => undefined;
  const { counts } = await ctx.router.valueCounts(
    ctx.identity.tenantId,
    totals.map((t) => t.id),
    { attribute, fromMs: from.getTime(), toMs: to.getTime() },
    ctx.signal,
  );
  const mode = new Map<string, string>();
  totals.forEach((t, i) => {
    let best: [string, number] | null = null;
    for (const [value, n] of counts[i] ?? []) {
      if (!best || n > best[1] || (n === best[1] && value < best[0])) best = [value, n];
    }
    if (best) mode.set(t.id, best[0]);
  });
  return (t) => mode.get(t.id);
}

@Resolver(() => Entity)
export class EntitySummaryResolver {
  @FieldResolver(() => Summary, {
    nullable: true,
    description:
      'Aggregates over [from, to) across hot and cold tiers. Null for an entity the tenant does not have.',
  })
  async summary(
    @Root() entity: Entity,
    @Arg('attribute', () => String) attribute: string,
    @Arg('from', () => DateTimeISO, { description: 'Inclusive start (UTC instant).' })
    from: Date,
    @Arg('to', () => DateTimeISO, { description: 'Exclusive end (UTC instant).' }) to: Date,
    @Ctx() ctx: OlapContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<Summary | null> {
    const percentiles = selectsAny(info, PERCENTILE_FIELDS);
    const result = await ctx
      .totalsLoader({ attribute, fromMs: from.getTime(), toMs: to.getTime(), percentiles })
      .load(entity.id);
    if (!result) return null;
    return { attribute, tiers: result.tiers as Tier[], ...aggregatesOf(result.partial) };
  }
}

@Resolver(() => Entity)
export class EntityValuesResolver {
  @FieldResolver(() => ValueCounts, {
    nullable: true,
    description:
      'Counts per value of a string or boolean attribute over [from, to), across hot and cold ' +
      'tiers. Null for an entity the tenant does not have.',
  })
  async values(
    @Root() entity: Entity,
    @Arg('attribute', () => String) attribute: string,
    @Arg('from', () => DateTimeISO) from: Date,
    @Arg('to', () => DateTimeISO) to: Date,
    @Arg('limit', () => Int, { defaultValue: 10 }) limit: number,
    @Ctx() ctx: OlapContext,
  ): Promise<ValueCounts | null> {
    if (limit < 1 || limit > MAX_TOP) throw badInput(`limit must be 1..${MAX_TOP}`, 'limit');
    const result = await ctx
      .valueCountsLoader({ attribute, fromMs: from.getTime(), toMs: to.getTime() })
      .load(entity.id);
    if (!result) return null;
    const total = [...result.counts.values()].reduce((n, c) => n + c, 0);
    const top = [...result.counts.entries()]
      .sort(([va, a], [vb, b]) => b - a || (va < vb ? -1 : va > vb ? 1 : 0))
      .slice(0, limit)
      .map(([value, count]) => ({ value, count, share: count / total }));
    return {
      attribute,
      total,
      distinct: result.counts.size,
      top,
      trueShare:
        result.type === 'boolean' && total > 0 ? (result.counts.get('true') ?? 0) / total : null,
      tiers: result.tiers as Tier[],
    };
  }
}

@Resolver(() => Entity)
export class EntityAnomaliesResolver {
  @FieldResolver(() => Anomalies, {
    nullable: true,
    description:
      'Each recent local hour’s mean scored (z-score) against every value of the same local ' +
      'hour of the week over the lookback window before it. Null for an entity the tenant does not have.',
  })
  async anomalies(
    @Root() entity: Entity,
    @Arg('attribute', () => String) attribute: string,
    @Arg('at', () => DateTimeISO, {
      nullable: true,
      description: 'End of the recent window (exclusive); now when omitted.',
    })
    at: Date | null,
    @Arg('recentHours', () => Int, { defaultValue: 24 }) recentHours: number,
    @Arg('lookbackDays', () => Int, { defaultValue: 28 }) lookbackDays: number,
    @Arg('threshold', () => Float, { defaultValue: 3 }) threshold: number,
    @Ctx() ctx: OlapContext,
  ): Promise<Anomalies | null> {
    if (!at) ctx.uncacheable = true; // "now" moves on without any write
    const result = await ctx
      .anomaliesLoader({
        attribute,
        atMs: (at ?? new Date()).getTime(),
        recentHours,
        lookbackDays,
        threshold,
      })
      .load(entity.id);
    return result ? { ...result, tiers: result.tiers as Tier[] } : null;
  }
}

@Resolver(() => Tenant)
export class TenantAggregatesResolver {
  @FieldResolver(() => [RankedEntity], {
    description:
      'The tenant’s entities ranked by an aggregate of one numeric attribute over [from, to); ' +
      'entities without values there are left out.',
  })
  async top(
    @Root() tenant: Tenant,
    @Arg('attribute', () => String) attribute: string,
    @Arg('from', () => DateTimeISO) from: Date,
    @Arg('to', () => DateTimeISO) to: Date,
    @Arg('by', () => TopBy, { defaultValue: TopBy.AVG }) by: TopBy,
    @Arg('limit', () => Int, { defaultValue: 10 }) limit: number,
    @Arg('order', () => SortOrder, { defaultValue: SortOrder.DESC }) order: SortOrder,
    @Ctx() ctx: OlapContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<RankedEntity[]> {
    if (limit < 1 || limit > MAX_TOP) throw badInput(`limit must be 1..${MAX_TOP}`, 'limit');
    const totals = await tenantTotals(ctx, tenant, attribute, from, to, info);
    const sign = order === SortOrder.DESC ? -1 : 1;
    return totals
      .map((t) => ({ id: t.id, aggregates: aggregatesOf(t.partial) }))
      .filter((t) => t.aggregates.count > 0)
      .map((t) => ({ ...t, value: rankValue(t.aggregates, by)! }))
      .sort((a, b) => sign * (a.value - b.value) || a.id.localeCompare(b.id))
      .slice(0, limit)
      .map((t, i) => ({ rank: i + 1, entity: { id: t.id }, value: t.value, ...t.aggregates }));
  }

  @FieldResolver(() => [BreakdownGroup], {
    description:
      'Aggregates of one numeric attribute over [from, to) per group of the tenant’s entities, ' +
      'largest count first.',
  })
  async breakdown(
    @Root() tenant: Tenant,
    @Arg('attribute', () => String) attribute: string,
    @Arg('from', () => DateTimeISO) from: Date,
    @Arg('to', () => DateTimeISO) to: Date,
    @Arg('groupBy', () => BreakdownBy, { defaultValue: BreakdownBy.ENTITY_KIND })
    groupBy: BreakdownBy,
    @Arg('groupAttribute', () => String, {
      nullable: true,
      description: 'With groupBy: ATTRIBUTE_VALUE, the string or boolean attribute to group by.',
    })
    groupAttribute: string | null,
    @Ctx() ctx: OlapContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<BreakdownGroup[]> {
    if ((groupBy === BreakdownBy.ATTRIBUTE_VALUE) !== (groupAttribute != null)) {
      throw badInput(
        'groupAttribute goes with groupBy: ATTRIBUTE_VALUE, and only with it',
        'groupAttribute',
      );
    }
    const totals = await tenantTotals(ctx, tenant, attribute, from, to, info);
    const keyOf =
      groupAttribute != null
        ? await modeValues(ctx, totals, groupAttribute, from, to)
        : (t: EntityTotal) => t.kind;
    const groups = new Map<string, { entities: number; partial: Partial | null }>();
    for (const t of totals) {
      const key = keyOf(t);
      if (key === undefined) continue;
      const g = groups.get(key) ?? { entities: 0, partial: null };
      g.entities += 1;
      if (t.partial) g.partial = g.partial ? mergePartials(g.partial, t.partial) : t.partial;
      groups.set(key, g);
    }
    return [...groups.entries()]
      .map(([key, g]) => ({ key, entities: g.entities, ...aggregatesOf(g.partial) }))
      .sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
  }
}

@Resolver(() => Attribute)
export class AttributeDistributionResolver {
  @FieldResolver(() => Distribution, {
    description:
      'A histogram of this numeric attribute over [from, to), all entities, every tier; exact counts.',
  })
  async distribution(
    @Root() attribute: Attribute,
    @Arg('from', () => DateTimeISO, { description: 'Inclusive start (UTC instant).' })
    from: Date,
    @Arg('to', () => DateTimeISO, { description: 'Exclusive end (UTC instant).' }) to: Date,
    @Arg('bins', () => Int, {
      defaultValue: 20,
      description: 'Number of equal-width bins, 1..1000.',
    })
    bins: number,
    @Ctx() ctx: OlapContext,
  ): Promise<Distribution> {
    const result = await ctx.router.distribution(
      ctx.identity.tenantId,
      { attribute: attribute.name, fromMs: from.getTime(), toMs: to.getTime() },
      bins,
      ctx.signal,
    );
    return { attribute: attribute.name, ...result, tiers: result.tiers as Tier[] };
  }
}
