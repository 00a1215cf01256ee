import { Arg, Ctx, Int, Query, Resolver } from 'type-graphql';
import { DateTimeISO } from '../../../core/dateTime.ts';
import { badInput } from '../../../core/errors.ts';
import { requireRole } from '../../../core/signedContext.ts';
import type { OltpContext } from '../context.ts';
import { AuditEntry } from '../types/auditEntry.ts';

@Resolver()
export class AuditResolver {
  @Query(() => [AuditEntry], {
    description: 'Audited operations of the caller’s tenant, newest first (admin).',
  })
  async auditLog(
    @Ctx() ctx: OltpContext,
    @Arg('first', () => Int, { defaultValue: 50 }) first = 50,
    @Arg('before', () => DateTimeISO, {
      nullable: true,
      description: 'Only entries before this instant.',
    })
    before?: Date | null,
  ): Promise<AuditEntry[]> {
    requireRole(ctx.identity, 'admin');
    ctx.uncacheable = true; // every audited request adds entries, without a change notice
    if (first < 1 || first > 1000) throw badInput('first must be between 1 and 1000', 'first');
    return ctx.readAuditLog(first, before ?? null);
  }
}
