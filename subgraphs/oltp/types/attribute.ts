import { Directive, Field, ObjectType, registerEnumType } from 'type-graphql';

export enum AttributeType {
  NUMBER = 'number',
  STRING = 'string',
  BOOLEAN = 'boolean',
}
registerEnumType(AttributeType, { name: 'AttributeType' });

@Directive('@key(fields: "name")')
@ObjectType({
  description: 'A typed measurement name in the tenant registry (e.g. pressure, in bar).',
})
export class Attribute {
  @Field(() => String)
  name!: string;

  @Field(() => AttributeType)
  type!: AttributeType;

  @Field(() => String, { nullable: true })
  unit!: string | null;

  @Field(() => String, { nullable: true })
  description!: string | null;
}
