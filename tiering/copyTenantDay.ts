// Copying one tenant-day out of PostgreSQL into a new cold file and verifying it:
// the step of a tiering pass that must never let a wrong file be committed.
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import {
  OBSERVATION_EXTRACT_COLUMNS,
  type RowFingerprint,
  type WrittenFile,
} from '../cold/engine.ts';
import { dayMicrosSql, hotDayFingerprint } from '../hot/hotQueries.ts';
import { addUtcDays } from '../hot/partitions.ts';
import type { TierPassDeps } from './tierPass.ts';

export class VerificationError extends Error {
  constructor(day: string, tenantId: string, source: RowFingerprint, written: RowFingerprint) {
    super(
      `cold copy of ${tenantId}/${day} does not match its source: ` +
        `${written.rowCount} rows [${written.checksum}] vs ${source.rowCount} rows [${source.checksum}]`,
    );
    this.name = 'VerificationError';
  }
}

export interface CopiedFile extends WrittenFile {
  tenantId: string;
}

/**
 * Share of a day partition's heap that the working session extracts; the verifier
 * session extracts the rest after its fingerprint scan, so both finish together.
 */
const WORKER_SHARE = 0.6;

/**
 * Extracts one tenant's rows of a day from `source`, writes a cold file and verifies it
 * against the source fingerprint. `client` is in a REPEATABLE READ transaction;
 * `verifier` (a second session of the pass) joins its exported snapshot, fingerprints
 * the rows and then extracts the tail of the heap, so PostgreSQL works on both cores
 * while the extract streams. The halves split by heap block (a TID range scan each), a
 * split that is disjoint and complete whatever the rows are.
 */
export async function copyTenantDay(
  deps: TierPassDeps,
  client: pg.PoolClient,
  verifier: pg.PoolClient,
  args: { source: string; day: string; tenantId: string; passId: number; workDir: string },
): Promise<CopiedFile> {
  const { source: sourceTable, day, tenantId } = args;
  const dayStartMs = Date.parse(`${day}T00:00:00Z`);
  const dayEnd = `${addUtcDays(day, 1)}T00:00:00Z`;
  const where = `tenant_id = ${client.escapeLiteral(tenantId)} AND ts >= '${day}T00:00:00Z' AND ts < '${dayEnd}'`;
  const target = { tenantId, day, sourceTable, fileTag: `pass-${args.passId}-${sourceTable}` };
  const { rows } = await client.query<{ snapshot: string; blocks: number }>(
    `SELECT pg_export_snapshot() AS snapshot,
            pg_relation_size($1::regclass) / current_setting('block_size')::int AS blocks`,
    [sourceTable],
  );
  const { snapshot, blocks } = rows[0]!;
  const parts = extractParts(deps, args, blocks);
  const started = performance.now();
  const ms = { extract: 0, fingerprint: 0, write: 0 };
  const columns = OBSERVATION_EXTRACT_COLUMNS.map((c) =>
    c === 'day_us' ? dayMicrosSql(dayStartMs) : c,
  ).join(', ');
  const extract = (session: pg.PoolClient, part: ExtractPart): Promise<void> =>
    pipeline(
      session.query(
        copyTo(
          `COPY (SELECT ${columns} FROM ${sourceTable} WHERE ${where} AND ${part.blocks})
             TO STDOUT (FORMAT csv)`,
        ),
      ),
      createWriteStream(part.path),
    );

  const verified = inSnapshot(verifier, snapshot, async () => {
    const fingerprint = await hotDayFingerprint(verifier, sourceTable, where, dayStartMs);
    ms.fingerprint = performance.now() - started;
    if (parts[1]) await extract(verifier, parts[1]);
    return fingerprint;
  });
  const extracted = parts[0] ? Promise.all([extract(client, parts[0]), verified]) : undefined;
  const writing = (async (): Promise<WrittenFile> => {
    await extracted;
    ms.extract = performance.now() - started;
    const written = await deps.engine.writeTenantDay({
      ...target,
      extractPaths: parts.map((p) => p.path),
    });
    ms.write = performance.now() - started;
    return written;
  })();
  // The source cannot change meanwhile either way: a day partition is frozen and the
  // default partition is locked against writers.
  const [source, copy] = await Promise.allSettled([verified, writing]);
  await Promise.all(parts.map((p) => rm(p.path, { force: true })));
  if (copy.status === 'rejected') throw copy.reason;
  const written = copy.value;
  if (source.status === 'rejected') {
    await deps.engine.deleteFile(written.path);
    throw source.reason;
  }
  const expected = source.value;
  if (written.rowCount !== expected.rowCount || written.checksum !== expected.checksum) {
    await deps.engine.deleteFile(written.path);
    throw new VerificationError(day, tenantId, expected, written);
  }
  // Milliseconds since the copy began at which each part had finished.
  deps.log.debug({ day, tenantId, rows: written.rowCount, ms }, 'tenant-day copied');
  return { ...written, tenantId };
}

interface ExtractPart {
  path: string;
  /** TID range predicate selecting this part's heap blocks. */
  blocks: string;
}

/** No parts for engines that read the hot table themselves, else one per session. */
function extractParts(
  deps: TierPassDeps,
  args: { day: string; tenantId: string; workDir: string },
  blocks: number,
): ExtractPart[] {
  if (deps.engine.readsFrom !== 'extract') return [];
  const file = (i: number): string =>
    path.join(args.workDir, `${args.tenantId}-${args.day}-${i}.csv`);
  const split = Math.floor(blocks * WORKER_SHARE);
  if (split < 1) return [{ path: file(0), blocks: 'true' }];
  return [
    { path: file(0), blocks: `ctid < '(${split},0)'::tid` },
    { path: file(1), blocks: `ctid >= '(${split},0)'::tid` },
  ];
}

/** Runs `fn` on `session` inside a read-only transaction that imports `snapshot`. */
async function inSnapshot<T>(
  session: pg.PoolClient,
  snapshot: string,
  fn: () => Promise<T>,
): Promise<T> {
  await session.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    await session.query(`SET TRANSACTION SNAPSHOT ${session.escapeLiteral(snapshot)}`);
    return await fn();
  } finally {
    await session.query('COMMIT');
  }
}

export async function recordFiles(
  client: pg.PoolClient,
  day: string,
  passId: number,
  files: CopiedFile[],
): Promise<void> {
  for (const f of files) {
    await client.query(
      `INSERT INTO cold_files (tenant_id, day, path, row_count, checksum, min_ts, max_ts, bytes, pass_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [f.tenantId, day, f.path, f.rowCount, f.checksum, f.minTs, f.maxTs, f.bytes, passId],
    );
  }
}
