import { Ctx, Query, Resolver } from 'type-graphql';
import { requireRole } from '../../../core/signedContext.ts';
import type { OlapContext } from '../context.ts';
import { TierStatus } from '../types/tierStatus.ts';

@Resolver()
export class TierStatusResolver {
  @Query(() => TierStatus, { description: 'Tiering state for the caller’s tenant (admin).' })
  async tierStatus(@Ctx() ctx: OlapContext): Promise<TierStatus> {
    requireRole(ctx.identity, 'admin');
    ctx.uncacheable = true; // pass durations and sizes change without a tenant's write
    return ctx.tierStatus();
  }
}
