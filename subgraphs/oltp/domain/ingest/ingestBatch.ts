// Stores one batch of observations for one tenant: validate each row, stream the valid
// ones with COPY into a per-transaction staging table (COPY cannot target a table under
// row-level security), then move them into `observations` in one INSERT, where RLS
// checks every row and ON CONFLICT counts duplicates. The whole batch is one
// transaction: an idempotency key recorded in it makes retries store nothing twice,
// and a crash before commit stores nothing at all.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { encodeCopyFields } from '../../../../hot/copyObservations.ts';
import { withTenant } from '../../../../hot/database.ts';
import { MAX_REPORTED_REJECTIONS, type IngestSummary, type Rejection } from './rejections.ts';
import {
  isRejection,
  validateObservation,
  type AttributeInfo,
  type TimeBounds,
} from './validateObservation.ts';

export type RawRow = { index: number; raw: unknown } | { index: number; invalid: string };
/** Rows arrive in groups (a request body chunk, a mutation's list): no promise per row. */
export type RowSource = AsyncIterable<RawRow[]> | Iterable<RawRow[]>;

export interface IngestOptions {
  idempotencyKey?: string | null;
  atomic?: boolean;
  bounds: TimeBounds;
  /** Rows validated and streamed to PostgreSQL per COPY. */
  chunkSize?: number;
  /** Staged rows moved into `observations` per INSERT. */
  insertEvery?: number;
}

const FROZEN_DAY = 'TM001';
const UNIQUE_VIOLATION = '23505';
const FROZEN_RETRIES = 60;

/** Thrown inside the transaction so that it rolls back; carries the answer out. */
class AtomicBatchRejected extends Error {
  constructor(readonly summary: IngestSummary) {
    super('atomic batch rejected');
  }
}

export class IngestBatch {
  constructor(
    private readonly pool: pg.Pool,
    private readonly tenantId: string,
  ) {}

  async run(rows: RowSource, options: IngestOptions): Promise<IngestSummary> {
    try {
      return await withTenant(this.pool, this.tenantId, async (client) => {
        if (options.idempotencyKey) {
          const replay = await this.claimKey(client, options.idempotencyKey);
          if (replay) return { ...replay, replayed: true };
        }
        const { summary, inserted } = await this.stageAndInsert(client, rows, options);
        if (options.atomic && summary.rejectedCount > 0) {
          throw new AtomicBatchRejected({ ...summary, accepted: 0, duplicates: 0, stored: false });
        }
        const result: IngestSummary = {
          ...summary,
          accepted: inserted,
          duplicates: summary.accepted - inserted,
        };
        if (options.idempotencyKey) {
          await client.query(
            `UPDATE ingest_batches SET summary = $3 WHERE tenant_id = $1 AND idempotency_key = $2`,
            [this.tenantId, options.idempotencyKey, JSON.stringify(result)],
          );
        }
        return result;
      });
    } catch (err) {
      // An atomic batch with a bad row rolls back (withTenant does) and still answers.
      if (err instanceof AtomicBatchRejected) return err.summary;
      throw err;
    }
  }

  /**
   * Claims the key in this transaction. A concurrent batch with the same key makes
   * this wait until it commits (then its summary is replayed) or rolls back.
   */
  private async claimKey(client: pg.PoolClient, key: string): Promise<IngestSummary | null> {
    const claimed = await client.query(
      `INSERT INTO ingest_batches (tenant_id, idempotency_key) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
      [this.tenantId, key],
    );
    if (claimed.rowCount === 1) return null;
    const { rows } = await client.query<{ summary: IngestSummary }>(
      `SELECT summary FROM ingest_batches WHERE tenant_id = $1 AND idempotency_key = $2`,
      [this.tenantId, key],
    );
    return rows[0]!.summary;
  }

  /**
   * Two loops overlap so both cores work: a producer parses and validates chunks
   * (entity lookups queue on the same connection), while the consumer streams
   * the previous chunk into PostgreSQL and moves it into `observations`.
   */
  private async stageAndInsert(
    client: pg.PoolClient,
    rows: RowSource,
    options: IngestOptions,
  ): Promise<{ summary: IngestSummary; inserted: number }> {
    // One staging table per connection, emptied at the end of every transaction (rows
    // of a rolled-back one go with it): creating and dropping it per batch cost ~3 ms
    // and left dead catalog rows behind every batch. Columns spelled out: `LIKE
    // observations` would hold a lock on the partitioned table for the whole batch and
    // stall a tiering pass waiting to drop a partition.
    await client.query(
      `CREATE TEMP TABLE IF NOT EXISTS staged_observations (
         tenant_id text, attribute_key integer, entity_key bigint, ts timestamptz,
         num double precision, str text, bool boolean) ON COMMIT DELETE ROWS`,
    );
    const { rows: attributeRows } = await client.query<{
      name: string;
      attribute_key: number;
      type: AttributeInfo['type'];
    }>(`SELECT name, attribute_key, type FROM attributes WHERE tenant_id = $1`, [this.tenantId]);
    const attributes = new Map(
      attributeRows.map((a) => [a.name, { key: a.attribute_key, type: a.type }]),
    );
    const entities = new Map<string, number>();
    const usedAttributes = new Set<number>();
    const rejected: Rejection[] = [];
    let rejectedCount = 0;
    let accepted = 0;
    let inserted = 0;
    const chunkSize = options.chunkSize ?? 10_000;
    const insertEvery = options.insertEvery ?? 100000;
    const tenantId = this.tenantId;

    const resolveEntities = async (chunk: RawRow[]): Promise<void> => {
      const missing = new Set<string>();
      for (const r of chunk) {
        const id = 'raw' in r ? (r.raw as { entity?: unknown } | null)?.entity : undefined;
        if (typeof id === 'string' && !entities.has(id)) missing.add(id);
      }
      if (missing.size === 0) return;
      // On the batch's own connection (queued behind any COPY in flight): a second
      // connection per batch could exhaust the pool under concurrent uploads.
      const found = await client.query<{ id: string; entity_key: number }>(
        `SELECT id, entity_key FROM entities WHERE tenant_id = $1 AND id = ANY($2::text[])`,
        [tenantId, [...missing]],
      );
      for (const e of found.rows) entities.set(e.id, e.entity_key);
    };

    const noteRejection = (r: Rejection): void => {
      rejectedCount += 1;
      if (rejected.length < MAX_REPORTED_REJECTIONS) rejected.push(r);
    };

    const lookups = { attributes, entities };
    const encodeChunk = (chunk: RawRow[]): string => {
      let text = '';
      for (const r of chunk) {
        if ('invalid' in r) {
          noteRejection({ index: r.index, code: 'INVALID_ROW', message: r.invalid });
          continue;
        }
        const result = validateObservation(r.index, r.raw, lookups, options.bounds);
        if (isRejection(result)) {
          noteRejection(result);
          continue;
        }
        usedAttributes.add(result.attributeKey);
        accepted += 1;
        text += encodeCopyFields(
          tenantId,
          result.attributeKey,
          result.entityKey,
          result.tsText,
          result.value,
        );
      }
      return text;
    };

    // Rows are streamed into staging in small COPYs (PostgreSQL stays busy while the
    // next chunk is parsed) and moved into `observations` in large INSERTs (fewer
    // savepoints and plans).
    let stagedRows = 0;
    const moveStaged = async (more: boolean): Promise<void> => {
      if (stagedRows === 0) return;
      inserted += await this.insertStaged(client);
      // The last move leaves its rows for the commit (or rollback) to clear.
      if (more) await client.query('TRUNCATE staged_observations');
      stagedRows = 0;
    };
    const consume = async (text: string, rowCount: number): Promise<void> => {
      await pipeline(
        Readable.from([text]),
        client.query(
          copyFrom(
            `COPY staged_observations (tenant_id, attribute_key, entity_key, ts, num, str, bool) FROM STDIN`,
          ),
        ),
      );
      stagedRows += rowCount;
      if (stagedRows >= insertEvery) await moveStaged(true);
    };

    // The producer runs up to maxQueued rows ahead of PostgreSQL, so that parsing the
    // next rows overlaps with a long INSERT; memory stays bounded by that window.
    const maxQueued = insertEvery;
    let tail: Promise<void> = Promise.resolve();
    const queued: { done: Promise<void>; rows: number }[] = [];
    let queuedRows = 0;
    const flush = async (chunk: RawRow[]): Promise<void> => {
      await resolveEntities(chunk);
      const before = accepted;
      const text = encodeChunk(chunk);
      const rowCount = accepted - before;
      if (!text) return;
      tail = tail.then(() => consume(text, rowCount));
      const done = tail;
      done.catch(() => undefined); // surfaced by the awaits below
      queued.push({ done, rows: rowCount });
      queuedRows += rowCount;
      // Let socket I/O (the COPY stream, the request body) run between chunks.
      await new Promise<void>((resolve) => setImmediate(resolve));
      while (queuedRows > maxQueued) {
        const oldest = queued.shift()!;
        await oldest.done;
        queuedRows -= oldest.rows;
      }
    };
    let chunk: RawRow[] = [];
    for await (const group of rows) {
      for (const r of group) chunk.push(r);
      if (chunk.length >= chunkSize) {
        await flush(chunk);
        chunk = [];
      }
    }
    if (chunk.length > 0) await flush(chunk);
    await tail;
    await moveStaged(false);

    if (usedAttributes.size > 0) {
      await client.query(
        `UPDATE attributes SET has_values = true WHERE tenant_id = $1 AND attribute_key = ANY($2::int[]) AND NOT has_values`,
        [tenantId, [...usedAttributes]],
      );
    }
    rejected.sort((a, b) => a.index - b.index);
    return {
      summary: { accepted, duplicates: 0, rejectedCount, rejected, stored: true, replayed: false },
      inserted,
    };
  }

  /**
   * Moves staged rows in. A plain INSERT is tried first (much cheaper than speculative
   * insertion); a unique violation reruns it with ON CONFLICT DO NOTHING to count
   * duplicates. Retries while a day the rows fall into is frozen for tiering.
   */
  private async insertStaged(client: pg.PoolClient): Promise<number> {
    let onConflict = '';
    for (let attempt = 0; ; attempt++) {
      await client.query('SAVEPOINT move_staged');
      try {
        const { rowCount } = await client.query(
          `INSERT INTO observations SELECT * FROM staged_observations ${onConflict}`,
        );
        await client.query('RELEASE SAVEPOINT move_staged');
        return rowCount ?? 0;
      } catch (err) {
        await client.query('ROLLBACK TO SAVEPOINT move_staged');
        const code = (err as { code?: string }).code;
        if (code === UNIQUE_VIOLATION && !onConflict) {
          onConflict = 'ON CONFLICT DO NOTHING';
          continue;
        }
        if (code !== FROZEN_DAY || attempt >= FROZEN_RETRIES) throw err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }
}
