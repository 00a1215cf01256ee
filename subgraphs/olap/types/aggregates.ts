import { Directive, Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { DateTimeISO } from '../../../core/dateTime.ts';
import { Entity, PERCENTILE_DOC, Tier } from './series.ts';

export enum TopBy {
  AVG = 'AVG',
  SUM = 'SUM',
  MIN = 'MIN',
  MAX = 'MAX',
  COUNT = 'COUNT',
}
registerEnumType(TopBy, { name: 'TopBy', description: 'The aggregate that ranks entities.' });

export enum SortOrder {
  DESC = 'DESC',
  ASC = 'ASC',
}
registerEnumType(SortOrder, { name: 'SortOrder' });

export enum BreakdownBy {
  ENTITY_KIND = 'ENTITY_KIND',
  ATTRIBUTE_VALUE = 'ATTRIBUTE_VALUE',
}
registerEnumType(BreakdownBy, {
  name: 'BreakdownBy',
  description: 'What a breakdown groups entities by.',
  valuesConfig: {
    ENTITY_KIND: { description: 'The entity’s kind.' },
    ATTRIBUTE_VALUE: {
      description:
        'The value a string or boolean attribute (`groupAttribute`) held most often for the ' +
        'entity over the same range, across every tier (ties: the smallest value). Entities ' +
        'without such a value there are left out.',
    },
  },
});

@ObjectType({
  description:
    'Aggregates of one numeric attribute over [from, to), across every tier, merged exactly. ' +
    'avg, min and max are null when there are no values.',
})
export class Aggregates {
  @Field(() => Int)
  count!: number;

  @Field(() => Float)
  sum!: number;

  @Field(() => Float, { nullable: true })
  avg!: number | null;

  @Field(() => Float, { nullable: true })
  min!: number | null;

  @Field(() => Float, { nullable: true })
  max!: number | null;

  @Field(() => Float, {
    nullable: true,
    description: 'Sample standard deviation; null below two values.',
  })
  stddev!: number | null;

  @Field(() => Float, { nullable: true, description: PERCENTILE_DOC('Median') })
  p50!: number | null;

  @Field(() => Float, { nullable: true, description: PERCENTILE_DOC('90th percentile') })
  p90!: number | null;

  @Field(() => Float, { nullable: true, description: PERCENTILE_DOC('99th percentile') })
  p99!: number | null;
}

@ObjectType({ description: 'One entity’s aggregates over a range.' })
export class Summary extends Aggregates {
  @Field(() => String)
  attribute!: string;

  @Field(() => [Tier], { description: 'Tiers that served this summary.' })
  tiers!: Tier[];
}

@ObjectType({ description: 'An entity and the aggregates that ranked it.' })
export class RankedEntity extends Aggregates {
  @Field(() => Int, { description: '1 for the first entity.' })
  rank!: number;

  @Field(() => Entity)
  entity!: Entity;

  @Field(() => Float, { description: 'The ranking aggregate’s value.' })
  value!: number;
}

@ObjectType({ description: 'Aggregates of one group of entities.' })
export class BreakdownGroup extends Aggregates {
  @Field(() => String, {
    description: 'The group’s key: the entity kind, or the grouping attribute’s value.',
  })
  key!: string;

  @Field(() => Int, { description: 'Entities in the group (with or without values).' })
  entities!: number;
}

@Directive('@key(fields: "id")')
@ObjectType()
export class Tenant {
  @Field(() => ID)
  id!: string;
}

@ObjectType({ description: 'A recent local hour scored against its hour-of-week baseline.' })
export class AnomalyPoint {
  @Field(() => DateTimeISO, { description: 'Start of the local hour (UTC instant).' })
  start!: Date;

  @Field(() => String, { description: 'Start in the tenant’s time zone, with offset.' })
  localStart!: string;

  @Field(() => Int)
  count!: number;

  @Field(() => Float)
  avg!: number;

  @Field(() => Int, {
    description: 'Values in the same local hour of the week over the lookback window.',
  })
  baselineCount!: number;

  @Field(() => Float, { nullable: true })
  baselineAvg!: number | null;

  @Field(() => Float, { nullable: true, description: 'Sample standard deviation of the baseline.' })
  baselineStddev!: number | null;

  @Field(() => Float, {
    nullable: true,
    description: '(avg − baselineAvg) / baselineStddev; null without a baseline spread.',
  })
  zScore!: number | null;

  @Field(() => Boolean, { description: '|zScore| ≥ threshold.' })
  anomalous!: boolean;
}

@ObjectType({
  description:
    'Recent hourly means (usually hot rows) against the same local hour of the week in history ' +
    '(usually cold rows): the fresh-versus-historical comparison in one answer.',
})
export class Anomalies {
  @Field(() => String)
  attribute!: string;

  @Field(() => String, { description: 'The tenant time zone that hours and weeks align to.' })
  timeZone!: string;

  @Field(() => [AnomalyPoint], { description: 'Recent local hours with values, oldest first.' })
  points!: AnomalyPoint[];

  @Field(() => [Tier], { description: 'Tiers that served the recent window and the baseline.' })
  tiers!: Tier[];
}

@ObjectType({ description: 'How often one value occurs.' })
export class ValueCount {
  @Field(() => String, { description: 'The value; `true` or `false` for a boolean attribute.' })
  value!: string;

  @Field(() => Int)
  count!: number;

  @Field(() => Float, { description: 'count / total.' })
  share!: number;
}

@ObjectType({
  description: 'Counts per value of a string or boolean attribute over [from, to), across tiers.',
})
export class ValueCounts {
  @Field(() => String)
  attribute!: string;

  @Field(() => Int, { description: 'Rows with a value in the range.' })
  total!: number;

  @Field(() => Int, { description: 'Distinct values in the range.' })
  distinct!: number;

  @Field(() => [ValueCount], { description: 'The most frequent values, ties by value.' })
  top!: ValueCount[];

  @Field(() => Float, {
    nullable: true,
    description: 'Share of `true` for a boolean attribute; null otherwise or without rows.',
  })
  trueShare!: number | null;

  @Field(() => [Tier])
  tiers!: Tier[];
}

// Described in the OLTP subgraph, which owns it.
@Directive('@key(fields: "name")')
@ObjectType()
export class Attribute {
  @Field(() => String)
  name!: string;
}

@ObjectType({
  description: 'One bin of a histogram: values in [lower, upper) (the last: [lower, upper]).',
})
export class HistogramBin {
  @Field(() => Float)
  lower!: number;

  @Field(() => Float)
  upper!: number;

  @Field(() => Float)
  count!: number;
}

@ObjectType({
  description:
    'How a numeric attribute’s values spread over [from, to), across all of the tenant’s entities and every tier: equal-width bins from min to max.',
})
export class Distribution {
  @Field(() => String)
  attribute!: string;

  @Field(() => Float, { description: 'Values counted in the bins.' })
  count!: number;

  @Field(() => Float, { nullable: true, description: 'Null without values.' })
  min!: number | null;

  @Field(() => Float, { nullable: true, description: 'Null without values.' })
  max!: number | null;

  @Field(() => [HistogramBin], {
    description: 'Lowest first; one bin when every value is the same, none without values.',
  })
  bins!: HistogramBin[];

  @Field(() => [Tier], { description: 'Tiers that served it.' })
  tiers!: Tier[];
}
