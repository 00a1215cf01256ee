import { Directive, Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { GraphQLISODateTime } from 'type-graphql';
import { Bucket } from '../../../core/buckets.ts';

registerEnumType(Bucket, {
  name: 'Bucket',
  description: 'Bucket width. HOUR and coarser align to the tenant’s local clock (DST-correct).',
});

export enum Tier {
  HOT = 'HOT',
  COLD = 'COLD',
}
registerEnumType(Tier, { name: 'Tier', description: 'Where rows were read from.' });

@ObjectType({ description: 'Aggregates of one bucket.' })
export class SeriesPoint {
  @Field(() => GraphQLISODateTime, { description: 'Bucket start as a UTC instant.' })
  start!: Date;

  @Field(() => String, { description: 'Bucket start in the tenant’s time zone, with offset.' })
  localStart!: string;

  @Field(() => Int)
  count!: number;

  @Field(() => Float)
  sum!: number;

  @Field(() => Float)
  avg!: number;

  @Field(() => Float)
  min!: number;

  @Field(() => Float)
  max!: number;

  @Field(() => Float, {
    nullable: true,
    description: 'Sample standard deviation; null below two values.',
  })
  stddev!: number | null;
}

@ObjectType({ description: 'A time series of one numeric attribute of one entity.' })
export class Series {
  @Field(() => String)
  attribute!: string;

  @Field(() => Bucket)
  bucket!: Bucket;

  @Field(() => String, { description: 'The tenant time zone that buckets align to.' })
  timeZone!: string;

  @Field(() => [SeriesPoint], { description: 'Buckets with rows, oldest first.' })
  points!: SeriesPoint[];

  @Field(() => [Tier], { description: 'Tiers that served this series.' })
  tiers!: Tier[];
}

@Directive('@key(fields: "id")')
@ObjectType()
export class Entity {
  @Field(() => ID)
  id!: string;
}
