// Copying one tenant-day out of PostgreSQL into a new cold file and verifying it:
// the step of a tiering pass that must never let a wrong file be committed.
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { RowFingerprint, WrittenFile } from '../cold/engine.ts';
import { EPOCH_US, hotFingerprint } from '../hot/hotQueries.ts';
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
 * Extracts one tenant's rows of a day from `source`, writes a cold file and verifies it
 * against the source fingerprint taken in the same snapshot.
 */
export async function copyTenantDay(
  deps: TierPassDeps,
  client: pg.PoolClient,
  args: { source: string; day: string; tenantId: string; passId: number; workDir: string },
): Promise<CopiedFile> {
  const { source: sourceTable, day, tenantId } = args;
  const dayStart = `${day}T00:00:00Z`;
  const dayEnd = `${addUtcDays(day, 1)}T00:00:00Z`;
  const where = `tenant_id = ${client.escapeLiteral(tenantId)} AND ts >= '${dayStart}' AND ts < '${dayEnd}'`;
  const target = { tenantId, day, sourceTable, fileTag: `pass-${args.passId}-${sourceTable}` };
  let extractPath: string | undefined;
  if (deps.engine.readsFrom === 'extract') {
    extractPath = path.join(args.workDir, `${tenantId}-${day}.csv`);
    await pipeline(
      client.query(
        copyTo(
          `COPY (SELECT tenant_id, attribute_key, entity_key, ${EPOCH_US},
                        num, str, bool FROM ${sourceTable} WHERE ${where}) TO STDOUT (FORMAT csv)`,
        ),
      ),
      createWriteStream(extractPath),
    );
  }
  // The source fingerprint (PostgreSQL, in this transaction's snapshot) and the cold
  // write (the engine) run side by side; the written fingerprint is read back from what
  // the engine wrote. The source cannot change meanwhile: a day partition is frozen and
  // the default partition is locked against writers.
  const [expected, written] = await Promise.all([
    hotFingerprint(client, sourceTable, where, []),
    deps.engine.writeTenantDay({ ...target, extractPath }),
  ]);
  if (extractPath) await rm(extractPath, { force: true });
  if (written.rowCount !== expected.rowCount || written.checksum !== expected.checksum) {
    await deps.engine.deleteFile(written.path);
    throw new VerificationError(day, tenantId, expected, written);
  }
  return { ...written, tenantId };
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
