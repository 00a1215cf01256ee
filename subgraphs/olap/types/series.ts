import { Directive, Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { DateTimeISO } from '../../../core/dateTime.ts';
import { Bucket } from '../../../core/buckets.ts';
import { SKETCH_RELATIVE_ERROR } from '../../../core/sketch.ts';
import { Fill } from '../domain/fill.ts';

registerEnumType(Bucket, {
  name: 'Bucket',
  description: 'Bucket width. HOUR and coarser align to the tenant’s local clock (DST-correct).',
});

registerEnumType(Fill, {
  name: 'Fill',
  description: 'What a series does with buckets that have no rows.',
  valuesConfig: {
    NONE: { description: 'Leave them out (the default).' },
    NULL: { description: 'Include them: count 0, sum 0, null statistics.' },
    ZERO: { description: 'Include them with every aggregate 0 (stddev null).' },
    PREVIOUS: { description: 'Include them repeating the previous bucket’s statistics, count 0.' },
  },
});

/** The percentile fields' contract, in the schema where clients read it. */
export const PERCENTILE_DOC = (what: string): string =>
  `${what} of the values: within ${SKETCH_RELATIVE_ERROR * 100}% of the exact value at rank ` +
  '⌈q·n⌉ (percentile_disc), from sketches that merge across tiers; |values| below 1e-9 read ' +
  'as 0. Computed only when selected; null without values.';

export enum Tier {
  HOT = 'HOT',
  WARM = 'WARM',
  COLD = 'COLD',
}
registerEnumType(Tier, {
  name: 'Tier',
  description: 'Where rows were read from.',
  valuesConfig: {
    HOT: { description: 'Raw rows in PostgreSQL (the hot window, and late rows of older days).' },
    WARM: {
      description:
        'Rollups in PostgreSQL, per hour (or half or quarter hour in zones that need it), kept for the warm window.',
    },
    COLD: {
      description: 'Columnar files in the lake (Parquet through DuckDB, or Iceberg through Trino).',
    },
  },
});

// simpleResolvers: graphql-js reads each field straight off the object, with no
// type-graphql wrapper (a closure call and an object per field per point, 45,000 per
// 9,000-point answer); tidemark has no middleware or auth checker on these fields.
@ObjectType({ description: 'Aggregates of one bucket.', simpleResolvers: true })
export class SeriesPoint {
  @Field(() => DateTimeISO, { description: 'Bucket start as a UTC instant.' })
  start!: Date;

  @Field(() => String, { description: 'Bucket start in the tenant’s time zone, with offset.' })
  localStart!: string;

  @Field(() => Int)
  count!: number;

  @Field(() => Float)
  sum!: number;

  @Field(() => Float, { nullable: true, description: 'Null only in a NULL-filled bucket.' })
  avg!: number | null;

  @Field(() => Float, { nullable: true, description: 'Null only in a NULL-filled bucket.' })
  min!: number | null;

  @Field(() => Float, { nullable: true, description: 'Null only in a NULL-filled bucket.' })
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

  @Field(() => Boolean, { description: 'True for a bucket without rows that `fill` added.' })
  filled!: boolean;
}

/**
 * The buckets of `points` as one list per aggregate. A 9,000-point dashboard selects
 * 45,000 leaf fields as objects; as columns it is 5 lists, which the subgraph, the
 * gateway and the client each walk several times faster (see bench/RESULTS.md).
 * Only the lists a client selects are built.
 */
@ObjectType({
  description:
    'The buckets of `points`, one list per aggregate: element i of every list is bucket i. ' +
    'The same values as `points`, cheaper to produce, send and read for long series.',
})
export class SeriesColumns {
  constructor(private readonly points: readonly SeriesPoint[]) {}

  @Field(() => [DateTimeISO], { description: 'Bucket starts as UTC instants.' })
  get start(): Date[] {
    return this.points.map((p) => p.start);
  }

  @Field(() => [String], { description: 'Bucket starts in the tenant’s time zone, with offset.' })
  get localStart(): string[] {
    return this.points.map((p) => p.localStart);
  }

  @Field(() => [Int])
  get count(): number[] {
    return this.points.map((p) => p.count);
  }

  @Field(() => [Float])
  get sum(): number[] {
    return this.points.map((p) => p.sum);
  }

  @Field(() => [Float], { nullable: 'items', description: 'Null only in a NULL-filled bucket.' })
  get avg(): (number | null)[] {
    return this.points.map((p) => p.avg);
  }

  @Field(() => [Float], { nullable: 'items', description: 'Null only in a NULL-filled bucket.' })
  get min(): (number | null)[] {
    return this.points.map((p) => p.min);
  }

  @Field(() => [Float], { nullable: 'items', description: 'Null only in a NULL-filled bucket.' })
  get max(): (number | null)[] {
    return this.points.map((p) => p.max);
  }

  @Field(() => [Float], {
    nullable: 'items',
    description: 'Sample standard deviations; null below two values.',
  })
  get stddev(): (number | null)[] {
    return this.points.map((p) => p.stddev);
  }

  @Field(() => [Float], { nullable: 'items', description: PERCENTILE_DOC('Medians') })
  get p50(): (number | null)[] {
    return this.points.map((p) => p.p50);
  }

  @Field(() => [Float], { nullable: 'items', description: PERCENTILE_DOC('90th percentiles') })
  get p90(): (number | null)[] {
    return this.points.map((p) => p.p90);
  }

  @Field(() => [Float], { nullable: 'items', description: PERCENTILE_DOC('99th percentiles') })
  get p99(): (number | null)[] {
    return this.points.map((p) => p.p99);
  }

  @Field(() => [Boolean], { description: 'True for buckets without rows that `fill` added.' })
  get filled(): boolean[] {
    return this.points.map((p) => p.filled);
  }
}

@ObjectType({ description: 'A time series of one numeric attribute of one entity.' })
export class Series {
  @Field(() => String)
  attribute!: string;

  @Field(() => Bucket)
  bucket!: Bucket;

  @Field(() => String, { description: 'The tenant time zone that buckets align to.' })
  timeZone!: string;

  @Field(() => [SeriesPoint], {
    description: 'Buckets with rows, oldest first (and empty ones too, as `fill` says).',
  })
  points!: SeriesPoint[];

  @Field(() => SeriesColumns, {
    description: 'The same buckets as `points`, as one list per aggregate.',
  })
  columns!: SeriesColumns;

  @Field(() => [Tier], { description: 'Tiers that served this series.' })
  tiers!: Tier[];
}

@Directive('@key(fields: "id")')
@ObjectType()
export class Entity {
  @Field(() => ID)
  id!: string;
}
