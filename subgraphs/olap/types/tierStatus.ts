import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import { DateTimeISO } from '../../../core/dateTime.ts';

@ObjectType({ description: 'What one tier holds for this tenant.' })
export class TierUsage {
  @Field(() => Int, { description: 'UTC days with rows in this tier.' })
  days!: number;

  @Field(() => String, { nullable: true, description: 'First UTC day (YYYY-MM-DD).' })
  firstDay!: string | null;

  @Field(() => String, { nullable: true, description: 'Last UTC day (YYYY-MM-DD).' })
  lastDay!: string | null;

  @Field(() => Float)
  rows!: number;

  @Field(() => Float, { description: 'Bytes on disk (hot: estimated share of the partitions).' })
  bytes!: number;
}

@ObjectType({ description: 'One tiering pass.' })
export class TierPass {
  @Field(() => ID)
  id!: number;

  @Field(() => DateTimeISO)
  startedAt!: Date;

  @Field(() => DateTimeISO, { nullable: true })
  finishedAt!: Date | null;

  @Field(() => String, { description: 'running, succeeded or failed.' })
  outcome!: string;

  @Field(() => Float, { nullable: true })
  durationMs!: number | null;

  @Field(() => Int)
  daysMoved!: number;

  @Field(() => String, { nullable: true })
  error!: string | null;
}

@ObjectType({ description: 'Where the tier boundary stands and what each tier holds.' })
export class TierStatus {
  @Field(() => DateTimeISO, {
    nullable: true,
    description: 'Days before this instant have left PostgreSQL; null before the first pass.',
  })
  watermark!: Date | null;

  @Field(() => TierUsage)
  hot!: TierUsage;

  @Field(() => TierUsage, {
    description:
      'Rollups of the warm window: rows are the observations they stand for (held in hot or cold too).',
  })
  warm!: TierUsage;

  @Field(() => TierUsage)
  cold!: TierUsage;

  @Field(() => TierPass, { nullable: true })
  lastPass!: TierPass | null;
}
