import { Directive, Field, ID, ObjectType } from 'type-graphql';

@Directive('@key(fields: "id")')
@ObjectType({ description: 'A thing observed: a device, an account, a service.' })
export class Entity {
  @Field(() => ID, { description: 'Tenant-scoped id, e.g. pump-7.' })
  id!: string;

  @Field(() => String)
  kind!: string;

  @Field(() => String)
  name!: string;

  /** Internal surrogate key; never exposed. */
  key!: number;
}

@ObjectType()
export class PageInfo {
  @Field(() => String, { nullable: true })
  endCursor!: string | null;

  @Field(() => Boolean)
  hasNextPage!: boolean;
}

@ObjectType()
export class EntityConnection {
  @Field(() => [Entity])
  nodes!: Entity[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}
