import { Arg, Ctx, Mutation, Resolver } from 'type-graphql';
import { badInput } from '../../../core/errors.ts';
import { requireRole } from '../../../core/signedContext.ts';
import type { OltpContext } from '../context.ts';
import { ingestObservations } from '../domain/ingest/ingestService.ts';
import { Attribute, type AttributeType } from '../types/attribute.ts';
import { Entity } from '../types/entity.ts';
import { AttributeInput, EntityInput, IngestResult, ObservationInput } from '../types/ingest.ts';

export const MAX_ROWS_PER_MUTATION = 50_000;

@Resolver()
export class MutationResolver {
  @Mutation(() => Attribute, {
    description: 'Adds or updates an attribute (admin). Its type cannot change once it has values.',
  })
  async defineAttribute(
    @Arg('input', () => AttributeInput) input: AttributeInput,
    @Ctx() ctx: OltpContext,
  ): Promise<Attribute> {
    requireRole(ctx.identity, 'admin');
    const record = await ctx.registryWrites.defineAttribute(input);
    return { ...record, type: record.type as AttributeType };
  }

  @Mutation(() => [Entity], { description: 'Creates or updates entities by id (ingest role).' })
  async upsertEntities(
    @Arg('input', () => [EntityInput]) input: EntityInput[],
    @Ctx() ctx: OltpContext,
  ): Promise<Entity[]> {
    requireRole(ctx.identity, 'ingest');
    return ctx.registryWrites.upsertEntities(input);
  }

  @Mutation(() => IngestResult, {
    description:
      'Stores observations (ingest role). Bad rows are reported by index and code; with atomic: true a batch with any bad row stores nothing. A retry with the same idempotencyKey stores nothing twice.',
  })
  async ingest(
    @Arg('observations', () => [ObservationInput]) observations: ObservationInput[],
    @Ctx() ctx: OltpContext,
    @Arg('idempotencyKey', () => String, { nullable: true }) idempotencyKey?: string | null,
    @Arg('atomic', () => Boolean, { defaultValue: false }) atomic = false,
  ): Promise<IngestResult> {
    requireRole(ctx.identity, 'ingest');
    if (observations.length > MAX_ROWS_PER_MUTATION) {
      throw badInput(
        `at most ${MAX_ROWS_PER_MUTATION} observations per mutation; use POST /v1/ingest for more`,
        'observations',
      );
    }
    if (
      idempotencyKey !== undefined &&
      idempotencyKey !== null &&
      (idempotencyKey.length === 0 || idempotencyKey.length > 200)
    ) {
      throw badInput('idempotencyKey must have 1 to 200 characters', 'idempotencyKey');
    }
    return ingestObservations(
      ctx.pool,
      ctx.identity.tenantId,
      [observations.map((raw, index) => ({ index, raw: { ...raw } }))],
      { idempotencyKey, atomic, limits: ctx.ingestLimits },
    );
  }
}
