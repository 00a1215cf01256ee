import { Field, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { RejectionCode } from '../domain/ingest/rejections.ts';
import { AttributeType } from './attribute.ts';
import { ObservationValueScalar } from './observationValue.ts';

registerEnumType(RejectionCode, {
  name: 'RejectionCode',
  description: 'Why an observation was not stored.',
});

@InputType({ description: 'An attribute definition: adding one is a row, never DDL.' })
export class AttributeInput {
  @Field(() => String)
  name!: string;

  @Field(() => AttributeType)
  type!: AttributeType;

  @Field(() => String, { nullable: true })
  unit?: string | null;

  @Field(() => String, { nullable: true })
  description?: string | null;
}

@InputType()
export class EntityInput {
  @Field(() => String, { description: 'Tenant-scoped id, e.g. pump-7.' })
  id!: string;

  @Field(() => String)
  kind!: string;

  @Field(() => String, { nullable: true, description: 'Display name; defaults to the id.' })
  name?: string | null;
}

@InputType({
  description: 'One observation. Checked row by row; a bad row is reported, not fatal.',
})
export class ObservationInput {
  @Field(() => String, { description: 'Entity id.' })
  entity!: string;

  @Field(() => String, { description: 'Attribute name.' })
  attribute!: string;

  @Field(() => String, { description: 'ISO-8601 instant with a zone, e.g. 2026-11-20T10:00:00Z.' })
  ts!: string;

  @Field(() => ObservationValueScalar)
  value!: number | string | boolean;
}

@ObjectType()
export class RejectedRow {
  @Field(() => Int, { description: 'Position of the row in the batch, from 0.' })
  index!: number;

  @Field(() => RejectionCode)
  code!: RejectionCode;

  @Field(() => String)
  message!: string;
}

@ObjectType({ description: 'What happened to a batch.' })
export class IngestResult {
  @Field(() => Int, { description: 'Rows stored by this batch.' })
  accepted!: number;

  @Field(() => Int, { description: 'Valid rows already stored (same entity, attribute and ts).' })
  duplicates!: number;

  @Field(() => Int)
  rejectedCount!: number;

  @Field(() => [RejectedRow], { description: 'The first 1000 rejected rows, in input order.' })
  rejected!: RejectedRow[];

  @Field(() => Boolean, {
    description: 'False when an atomic batch had rejections and nothing was stored.',
  })
  stored!: boolean;

  @Field(() => Boolean, {
    description: 'True when this replays an earlier batch with the same idempotency key.',
  })
  replayed!: boolean;
}
