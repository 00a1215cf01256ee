import { Directive, Field, ID, Int, ObjectType } from 'type-graphql';

@Directive('@key(fields: "id")')
@ObjectType({ description: 'A customer of the platform; all data belongs to exactly one tenant.' })
export class Tenant {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String, {
    description: 'IANA time zone; DAY/WEEK/MONTH buckets align to its midnight.',
  })
  timeZone!: string;

  @Field(() => Int, { description: 'Days of raw rows kept in PostgreSQL before tiering.' })
  hotDays!: number;

  @Field(() => Int, { description: 'Days of hourly rollups kept in the warm tier.' })
  warmDays!: number;
}
