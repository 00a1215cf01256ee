import { Arg, Ctx, FieldResolver, Int, Resolver, Root } from 'type-graphql';
import { badInput } from '../../../core/errors.ts';
import type { OltpContext } from '../context.ts';
import type { AttributeRecord } from '../domain/registry.ts';
import { Entity } from '../types/entity.ts';
import { Observation } from '../types/observation.ts';

const MAX_RECENT = 1000;

async function requireAttribute(ctx: OltpContext, name: string): Promise<AttributeRecord> {
  const attribute = await ctx.attributeByName.load(name);
  if (!attribute) throw badInput(`unknown attribute "${name}"`, 'attribute');
  return attribute;
}

@Resolver(() => Entity)
export class EntityResolver {
  @FieldResolver(() => Observation, { nullable: true, description: 'The newest hot observation.' })
  async latest(
    @Root() entity: Entity,
    @Arg('attribute', () => String) attributeName: string,
    @Ctx() ctx: OltpContext,
  ): Promise<Observation | null> {
    const attribute = await requireAttribute(ctx, attributeName);
    const [newest] = await ctx.recentLoader(attribute, 1).load(entity.key);
    return newest ? { ...newest, attribute: attribute.name } : null;
  }

  @FieldResolver(() => [Observation], { description: 'The newest hot observations, newest first.' })
  async recent(
    @Root() entity: Entity,
    @Arg('attribute', () => String) attributeName: string,
    @Ctx() ctx: OltpContext,
    @Arg('last', () => Int, { defaultValue: 20 }) last = 20,
  ): Promise<Observation[]> {
    if (last < 1 || last > MAX_RECENT)
      throw badInput(`last must be between 1 and ${MAX_RECENT}`, 'last');
    const attribute = await requireAttribute(ctx, attributeName);
    const rows = await ctx.recentLoader(attribute, last).load(entity.key);
    return rows.map((r) => ({ ...r, attribute: attribute.name }));
  }
}
