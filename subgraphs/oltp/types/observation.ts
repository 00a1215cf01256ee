import { Field, ObjectType } from 'type-graphql';
import { GraphQLISODateTime } from 'type-graphql';
import { ObservationValueScalar } from './observationValue.ts';

@ObjectType({ description: 'One raw observation from the hot tier.' })
export class Observation {
  @Field(() => String)
  attribute!: string;

  @Field(() => GraphQLISODateTime, { description: 'When it was observed (UTC).' })
  ts!: Date;

  @Field(() => ObservationValueScalar)
  value!: number | string | boolean;
}
