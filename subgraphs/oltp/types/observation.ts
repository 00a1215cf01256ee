import { Field, ObjectType } from 'type-graphql';
import { DateTimeISO } from '../../../core/dateTime.ts';
import { ObservationValueScalar } from './observationValue.ts';

@ObjectType({ description: 'One raw observation from the hot tier.' })
export class Observation {
  @Field(() => String)
  attribute!: string;

  @Field(() => DateTimeISO, { description: 'When it was observed (UTC).' })
  ts!: Date;

  @Field(() => ObservationValueScalar)
  value!: number | string | boolean;
}
