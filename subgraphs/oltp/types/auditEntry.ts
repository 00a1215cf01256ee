import { Field, Int, ObjectType } from 'type-graphql';
import { DateTimeISO } from '../../../core/dateTime.ts';

@ObjectType({ description: 'One GraphQL operation as the gateway saw it.' })
export class AuditEntry {
  @Field(() => DateTimeISO)
  at!: Date;

  @Field(() => String)
  requestId!: string;

  @Field(() => String, { description: 'Token subject.' })
  subject!: string;

  @Field(() => String, { nullable: true })
  operationName!: string | null;

  @Field(() => String, { description: 'SHA-256 of the query document.' })
  documentHash!: string;

  @Field(() => String, { description: 'SHA-256 of the variables (values are not kept).' })
  variablesHash!: string;

  @Field(() => Int)
  durationMs!: number;

  @Field(() => String, { description: 'ok, or error when the response carried errors.' })
  outcome!: string;

  @Field(() => [String], { description: 'Subgraphs the gateway called for it.' })
  subgraphs!: string[];
}
