import { Arg, Ctx, ID, Int, Query, Resolver } from 'type-graphql';
import { badInput, ErrorCode, TidemarkError } from '../../../core/errors.ts';
import type { OltpContext } from '../context.ts';
import { Attribute, type AttributeType } from '../types/attribute.ts';
import { Entity, EntityConnection } from '../types/entity.ts';
import { Tenant } from '../types/tenant.ts';

const MAX_PAGE = 500;
const encodeCursor = (id: string): string => Buffer.from(id, 'utf8').toString('base64url');
const decodeCursor = (cursor: string): string => Buffer.from(cursor, 'base64url').toString('utf8');

@Resolver()
export class QueryResolver {
  @Query(() => Tenant, { description: "The caller's own tenant." })
  async tenant(@Ctx() ctx: OltpContext): Promise<Tenant> {
    const tenant = await ctx.registry.tenant();
    if (!tenant)
      throw new TidemarkError(
        ErrorCode.NOT_FOUND,
        `tenant ${ctx.identity.tenantId} does not exist`,
      );
    return tenant;
  }

  @Query(() => Entity, { nullable: true, description: 'One entity by its id, or null.' })
  async entity(@Arg('id', () => ID) id: string, @Ctx() ctx: OltpContext): Promise<Entity | null> {
    return ctx.entityById.load(id);
  }

  @Query(() => EntityConnection, { description: 'Entities in id order, optionally of one kind.' })
  async entities(
    @Ctx() ctx: OltpContext,
    @Arg('kind', () => String, { nullable: true }) kind?: string | null,
    @Arg('first', () => Int, { defaultValue: 50 }) first = 50,
    @Arg('after', () => String, { nullable: true, description: 'endCursor of the previous page' })
    after?: string | null,
  ): Promise<EntityConnection> {
    if (first < 1 || first > MAX_PAGE)
      throw badInput(`first must be between 1 and ${MAX_PAGE}`, 'first');
    const page = await ctx.registry.entitiesPage(
      kind ?? null,
      first,
      after ? decodeCursor(after) : null,
    );
    for (const e of page.entities) ctx.entityById.prime(e.id, e);
    const last = page.entities.at(-1);
    return {
      nodes: page.entities,
      pageInfo: { endCursor: last ? encodeCursor(last.id) : null, hasNextPage: page.hasNextPage },
    };
  }

  @Query(() => [Attribute], { description: 'The attribute registry of the tenant.' })
  async attributes(@Ctx() ctx: OltpContext): Promise<Attribute[]> {
    const list = await ctx.registry.attributes();
    return list.map((a) => ({ ...a, type: a.type as AttributeType }));
  }

  @Query(() => Attribute, {
    nullable: true,
    description: 'One attribute by name; null if unknown.',
  })
  async attribute(
    @Arg('name', () => String) name: string,
    @Ctx() ctx: OltpContext,
  ): Promise<Attribute | null> {
    const a = (await ctx.registry.attributes()).find((x) => x.name === name);
    return a ? { ...a, type: a.type as AttributeType } : null;
  }
}
